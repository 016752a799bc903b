"""The reading of kuploy.yaml's fields: problems named by key and line, and their grammars.

A :class:`Reader` names the key and line of each problem; the parsers here cover the fields
that need more than a type check (quantities, CIDRs, reserved names, registry prefixes, the
student repo name pattern). :mod:`.config` assembles them into a PlatformConfig.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kuploy_gitops import yamlio
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.names import check_namespace_pattern
from kuploy_gitops.quantity import QUANTITY


class Reader:
    """Reads typed values out of nested mappings, naming the file and key path in every error.

    With the file's ``text``, an error names the line of the key too (``file:line: key: ...``).
    """

    def __init__(self, source: str, text: str | None = None) -> None:
        self.source = source
        self.text = text

    def fail(self, key: str, problem: str, *, hint: str = "edit the file and retry") -> ConfigError:
        """The error for ``key`` (a dotted path) with ``problem``."""
        where = self.source
        line = yamlio.key_line(self.text, key.split(".")) if self.text and key else None
        if line is not None:
            where = f"{where}:{line}"
        return ConfigError(f"{where}: {key}: {problem}", hint=hint)

    def known_keys(self, data: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
        """Refuse a key that is not in ``allowed`` (a typo would otherwise be ignored)."""
        for key in data:
            if key in allowed:
                continue
            full = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), allowed, n=1)
            raise self.fail(
                full,
                "unknown key",
                hint=f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(allowed)}",
            )

    def mapping(self, data: Any, key: str) -> Mapping[str, Any]:
        """``data`` itself, refused unless it is a mapping."""
        if not isinstance(data, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(data).__name__}")
        return data

    def get(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        """``data[key]``, refused when missing (``path`` is where ``data`` sits)."""
        if key not in data:
            raise self.fail(f"{path}.{key}" if path else key, "missing")
        return data[key]

    def string(self, data: Mapping[str, Any], key: str, path: str, *, empty: bool = False) -> str:
        """``data[key]`` as a string, refused when not one (or empty unless ``empty``)."""
        value = self.get(data, key, path)
        full = f"{path}.{key}" if path else key
        if not isinstance(value, str):
            raise self.fail(full, f"expected a string, got {value!r}")
        if not empty and not value:
            raise self.fail(full, "must not be empty")
        return value


def quantity_map(reader: Reader, data: Any, path: str) -> dict[str, str]:
    """A mapping of resource names to quantities (a tier's quota or limits)."""
    mapping = reader.mapping(data, path)
    out: dict[str, str] = {}
    for k, v in mapping.items():
        text = str(v)
        if not QUANTITY.match(text):
            raise reader.fail(
                f"{path}.{k}", f"{text!r} is not a Kubernetes quantity like 500m or 1Gi"
            )
        out[str(k)] = text
    return out


def cidr_list(reader: Reader, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    """An optional list of CIDRs (IPv4 or IPv6, host bits zero), normalised and deduplicated.

    A ``/0`` is refused: an egress ``except`` must be a strict subset of its ``cidr``
    (the API server refuses the NetworkPolicy otherwise), and it would deny all egress.
    """
    full = f"{path}.{key}"
    value = data.get(key) or []
    if not isinstance(value, list):
        raise reader.fail(full, f"expected a list of CIDRs like 192.0.2.0/24, got {value!r}")
    out: list[str] = []
    for item in value:
        try:
            net = ipaddress.ip_network(str(item))
        except ValueError as exc:
            raise reader.fail(
                full, f"{item!r} is not a CIDR ({exc})", hint="write it like 192.0.2.0/24"
            ) from exc
        if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped:
            # The API server refuses IPv4-mapped addresses in a NetworkPolicy.
            raise reader.fail(
                full, f"{item!r} is an IPv4-mapped range", hint="write the IPv4 range instead"
            )
        if net.prefixlen == 0:
            raise reader.fail(
                full,
                f"{item!r} is every address",
                hint="list the node or campus ranges themselves, not every address",
            )
        if str(net) not in out:
            out.append(str(net))
    return tuple(out)


def reserved_list(reader: Reader, data: Mapping[str, Any]) -> tuple[str, ...]:
    """kuploy.yaml's optional ``reserved_namespaces``: namespace names or ``*`` patterns."""
    value = data.get("reserved_namespaces") or []
    if not isinstance(value, list):
        raise reader.fail(
            "reserved_namespaces", f"expected a list of namespaces like [monitoring], got {value!r}"
        )
    for item in value:
        problem = check_namespace_pattern(item) if isinstance(item, str) else f"{item!r} is no name"
        if problem:
            raise reader.fail(
                "reserved_namespaces",
                f"{problem} (expected a namespace name or pattern)",
                hint="use lowercase letters, digits, '-' and '*', e.g. monitoring or team-*",
            )
    return tuple(dict.fromkeys(value))


# A registry host (lowercase, optional port) and at least one repository path component (the
# namespace: a bare registry would admit every user's images), as image references spell them
# (the distribution spec's name grammar): no scheme, tag, digest or glob.
_REGISTRY_PREFIX = re.compile(
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+/?$"
)


def registries(r: Reader, value: Any) -> list[str]:
    """``registries``: image reference prefixes, each ending at a path separator."""
    if not isinstance(value, list) or not value:
        raise r.fail(
            "registries",
            f"{value!r} is not a non-empty list of registry prefixes like ghcr.io/my-org/",
        )
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _REGISTRY_PREFIX.match(item):
            raise r.fail(
                f"registries[{i}]",
                f"{item!r} is not a registry prefix with a namespace: write it as images name "
                "it, lowercase, without scheme, tag or wildcard, with the namespace (e.g. "
                "ghcr.io/my-org/ or docker.io/library/; a bare registry admits anyone's images)",
            )
        # A prefix ends at a path separator: 'ghcr.io/org' must not admit 'ghcr.io/org-evil/x'.
        out.append(item if item.endswith("/") else f"{item}/")
    return out


def student_repo_name(r: Reader, github: Mapping[str, Any]) -> str:
    """``github.student_repo_name``: ``{student}`` and ``{app}`` once each, making a repo name."""
    pattern = r.string(github, "student_repo_name", "github")
    try:
        sample = pattern.format(student="kim-lee", app="web")
    except (KeyError, IndexError, ValueError) as exc:
        raise r.fail("github.student_repo_name", "may only use {student} and {app}") from exc
    if pattern.count("{student}") != 1 or pattern.count("{app}") != 1:
        raise r.fail("github.student_repo_name", "must contain {student} and {app} once each")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", sample) or sample in (".", ".."):
        raise r.fail("github.student_repo_name", f"{pattern!r} does not make a repo name")
    return pattern
