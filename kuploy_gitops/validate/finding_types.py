"""The types of validate's results: a rule, a finding placed in a file, an issue inside an object.

The catalogue of rules is ``findings.py`` (which re-exports these names).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ERROR = "error"
PLATFORM = "(platform)"  # the tenant of findings in platform files
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One rule: what it checks, why the cluster cares, and the usual fix."""

    id: str
    severity: str
    what: str
    why: str
    fix: str


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place: file (repo-relative), line, object and rule."""

    tenant: str
    file: str
    line: int
    rule: str
    message: str
    fix: str = ""
    severity: str = ERROR
    kind: str = ""
    name: str = ""
    namespace: str = ""

    def to_data(self) -> dict[str, Any]:
        """The finding as JSON-ready data."""
        return asdict(self)

    @property
    def obj(self) -> str:
        """``Kind/name`` of the object, or an empty string for file-level findings."""
        return f"{self.kind}/{self.name}" if self.kind else ""


@dataclass(frozen=True)
class Issue:
    """A rule hit inside one object, before it is placed in a file and line.

    ``path`` is the key path inside the object (for the line number); ``severity`` overrides
    the rule's (Pod Security ``warn`` mode reports restricted violations as warnings).
    """

    rule: str
    message: str
    path: tuple[str | int, ...] = ()
    severity: str = ""


CATALOGUE: list[Rule] = []
"""Every rule, registered by :func:`rule` as the catalogue modules are imported."""


def rule(id_: str, severity: str, what: str, why: str, fix: str) -> str:
    """Register a rule in :data:`CATALOGUE` and return its id."""
    CATALOGUE.append(Rule(id_, severity, what, why, fix))
    return id_
