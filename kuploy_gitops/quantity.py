"""Kubernetes quantities (``500m``, ``1Gi``, ``2``) as numbers, and totals for messages."""

from __future__ import annotations

import functools
import re

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
