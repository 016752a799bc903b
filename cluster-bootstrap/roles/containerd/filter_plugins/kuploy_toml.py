"""Read `containerd config dump` output without a TOML library on the controller."""

from __future__ import annotations

import re
from typing import Any

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*=\s*(.*?)\s*$")


def _scalar(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if raw.startswith("[") and raw.endswith("]"):
        inner = raw[1:-1].strip()
        return [_scalar(part.strip()) for part in inner.split(",") if part.strip()]
    return raw


def kuploy_toml_sections(text: str) -> dict[str, dict[str, Any]]:
    """Map each TOML table (quotes removed from its name) to its scalar keys.

    The top level is the table "". Enough for the flat key = value lines containerd prints.
    """
    sections: dict[str, dict[str, Any]] = {"": {}}
    current = ""
    for line in text.splitlines():
        stripped = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        if not stripped.strip():
            continue
        header = _HEADER.match(stripped)
        if header:
            current = header.group(1).replace('"', "").replace("'", "").strip()
            sections.setdefault(current, {})
            continue
        pair = _KEY_VALUE.match(stripped)
        if pair:
            sections[current][pair.group(1)] = _scalar(pair.group(2))
    return sections


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {"kuploy_toml_sections": kuploy_toml_sections}
