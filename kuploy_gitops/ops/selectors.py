"""Label-style selectors for listings: ``-l course=cs101,term=2026-2,tier!=large``.

As kubectl's equality-based selectors: comma-separated requirements, all of which must hold;
``key=value`` (``==`` too) and ``key!=value``. A key is a column of the listing; ``app=web``
holds when the tenant has an app of that name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from kuploy_gitops.errors import InvalidInputError


class Requirement(NamedTuple):
    """One ``key=value`` or ``key!=value`` of a selector."""

    key: str
    value: str
    equal: bool

    def holds(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` meets the requirement (a list column: one of its items)."""
        found = row.get(self.key if self.key != "app" else "apps", "")
        hit = self.value in found if isinstance(found, list) else str(found) == self.value
        return hit == self.equal


def parse_selector(text: str, keys: Sequence[str]) -> list[Requirement]:
    """The requirements of ``text``; ``keys`` are the columns a requirement may name.

    Raises:
        InvalidInputError: a requirement that is not key=value / key!=value, or an unknown key.
    """
    out: list[Requirement] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        op = next((o for o in ("!=", "==", "=") if o in part), "")
        if not op:
            raise InvalidInputError(
                f"selector {part!r} is not key=value or key!=value",
                hint="e.g. -l course=cs101,term=2026-2",
            )
        key, _, value = part.partition(op)
        equal = op != "!="
        key = key.strip()
        if key not in keys:
            raise InvalidInputError(
                f"selector key {key!r} is not a column",
                hint=f"use one of {', '.join(keys)}",
            )
        out.append(Requirement(key, value.strip(), equal))
    return out


def matching(
    rows: Iterable[dict[str, Any]], text: str, keys: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows that meet every requirement of the selector ``text`` ("" selects all)."""
    requirements = parse_selector(text, keys)
    return [r for r in rows if all(req.holds(r) for req in requirements)]
