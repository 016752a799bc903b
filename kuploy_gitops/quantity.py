"""Kubernetes quantities (``500m``, ``1Gi``, ``2``) as numbers, and totals for messages."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
"""The quantities kuploy.yaml accepts in tiers (a subset of what Kubernetes parses)."""

_SUFFIX = {
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
}


KUBE_QUANTITY = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?$"
"""Every quantity the API server parses (the grammar in the API reference's Quantity): a signed
decimal number, then a binary suffix (Ki..Ei), a decimal one (m, k, M..E) or an exponent."""

_KUBE_QUANTITY = re.compile(KUBE_QUANTITY)
_KUBE_SUFFIX = {
    **_SUFFIX,
    "P": 1e15,
    "E": 1e18,
    "Pi": 1024.0**5,
    "Ei": 1024.0**6,
}


def kube_quantity(value: object) -> float | None:
    """The value of a quantity as the API server reads it, or None when it cannot parse it.

    JSON numbers are quantities too (``memory: 128974848``, ``cpu: 0.5``); anything else that is
    not text (a boolean, a list, null) is not a quantity.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return _kube_quantity_text(value) if isinstance(value, str) else None


def kube_quantities(values: object) -> dict[str, float]:
    """The entries of a map of quantities that the API server reads as quantities, by name.

    The map is a container's ``resources.requests``, a quota's ``hard`` or a LimitRange item.
    Requests, limits and the quota's caps go through the same parser, so ``1e3`` or ``0.5`` mean
    the same on both sides; an entry it cannot read, or a negative one, is left out (the schema
    check reports it), and anything but a map is empty.
    """
    if not isinstance(values, Mapping):
        return {}
    out: dict[str, float] = {}
    for key, raw in values.items():
        value = kube_quantity(raw)
        # A negative request or cap is invalid (the API server refuses it): it counts nothing.
        if value is not None and value >= 0:
            out[str(key)] = value
    return out


@functools.lru_cache(maxsize=4096)
def _kube_quantity_text(value: str) -> float | None:
    if not _KUBE_QUANTITY.match(value):
        return None
    number = value.rstrip("KMGTPEikm")
    if number != value:
        return float(number) * _KUBE_SUFFIX[value[len(number) :]]
    return float(value)


_PARTS = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")


@functools.lru_cache(maxsize=4096)
def parse_quantity(value: str) -> float:
    """Parse a Kubernetes quantity (``500m``, ``1Gi``, ``2``) into a float in base units."""
    m = _PARTS.match(str(value).strip())
    if not m or (m.group(2) and m.group(2) not in _SUFFIX):
        raise ValueError(f"not a quantity: {value!r}")
    return float(m.group(1)) * _SUFFIX.get(m.group(2), 1.0)


def format_quantity(key: str, value: float) -> str:
    """Format a total for a message (cpu in cores/millicores, memory in Mi)."""
    if "memory" in key:
        return f"{value / 1024**2:.0f}Mi"
    return f"{value * 1000:.0f}m"
