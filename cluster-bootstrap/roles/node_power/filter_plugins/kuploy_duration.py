"""Duration filter for cluster-bootstrap: a Go/Kubernetes duration ("60s", "1m30s") in seconds."""

from __future__ import annotations

import re
from typing import Any

_UNITS = {"h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)(h|m|s)")


def kuploy_duration_seconds(value: Any) -> int:
    """Return the whole seconds of a duration such as "60s", "1m30s" or "2h" (an int passes).

    Raises ValueError on anything else, so a typo in kubelet_shutdown_grace_period stops the
    run instead of writing a wrong logind delay.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text or _PART.sub("", text):
        raise ValueError(f"not a duration like 60s or 1m30s: {value!r}")
    return sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text))


class FilterModule:
    """Ansible's entry point for the filters of this file."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {"kuploy_duration_seconds": kuploy_duration_seconds}
