"""App sizes: the per-container requests and limits of a platform-managed app (``--size``).

A module of its own, importing nothing, so the CLI can offer the sizes without loading specs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """Per-container resources of a platform-managed app (``--size``)."""

    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str


SIZES: dict[str, Size] = {
    "tiny": Size("50m", "64Mi", "250m", "256Mi"),
    "small": Size("100m", "128Mi", "500m", "512Mi"),
    "medium": Size("250m", "256Mi", "1", "1Gi"),
}
DEFAULT_SIZE = "small"
