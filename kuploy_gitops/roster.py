"""Class rosters: parsing the CSV files admins get, row by row, with line-numbered problems.

A roster's columns are found by their header, case and spacing aside, under the names the usual
exports use (GitHub Classroom's ``identifier,github_username,github_id,name``; a university
export's ``Student ID,GitHub,E-mail,Name``; ...): :data:`ALIASES`. ``--columns`` names the others
(``student=Hakbun,github=Git``). Only the student column is required; a column nobody knows is
ignored with a warning, so an export with one extra column still works.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kuploy_gitops.errors import InvalidInputError

ROLES = ("student", "github", "email", "name", "tier")

ALIASES: dict[str, tuple[str, ...]] = {
    "student": (
        "identifier",
        "student_id",
        "studentid",
        "student_number",
        "student_no",
        "student",
        "id",
        "학번",
    ),
    "github": (
        "github_username",
        "github",
        "github_login",
        "github_user",
        "github_account",
        "login",
    ),
    "email": ("email", "e_mail", "email_address", "mail", "이메일"),
    "name": ("name", "full_name", "student_name", "이름", "성명"),
    "tier": ("tier", "size"),
}
"""Header names (normalised: lowercase, runs of spaces, '-' and '.' as '_') each role answers to."""

IGNORED = ("github_id",)
"""Columns of known exports that kuploy does not need (no warning for them)."""


@dataclass(frozen=True)
class RosterRow:
    """One student from a roster, with the file line it came from."""

    line: int
    student: str
    github: str
    name: str
    email: str
    tier: str


class Roster(NamedTuple):
    """A parsed roster: good rows, bad rows (line, reason) and warnings about the header."""

    rows: list[RosterRow]
    problems: list[tuple[int, str]]
    warnings: list[str]


def normalise(header: str) -> str:
    """A header as :data:`ALIASES` spells it: ``Student ID`` -> ``student_id``."""
    return re.sub(r"[\s\-.]+", "_", header.strip().lower()).strip("_")


def parse_columns(text: str) -> dict[str, str]:
    """``--columns student=Hakbun,github=Git`` as {role: header}.

    Raises:
        InvalidInputError: an unknown role or a pair without '='.
    """
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        role, eq, header = pair.partition("=")
        role = role.strip().lower()
        if not eq or not header.strip():
            raise InvalidInputError(
                f"--columns {pair!r} is not ROLE=HEADER",
                hint="e.g. --columns 'student=Hakbun,github=GitHub ID'",
            )
        if role not in ROLES:
            raise InvalidInputError(
                f"--columns names an unknown role {role!r}", hint=f"use {', '.join(ROLES)}"
            )
        found[role] = header.strip()
    return found


def _assign(
    header: list[str], path: Path, columns: Mapping[str, str]
) -> tuple[dict[str, int], list[str]]:
    """Which column index holds each role, and warnings for the columns left over."""
    keys = [normalise(h) for h in header]
    where: dict[str, int] = {}
    for role, name in columns.items():
        if normalise(name) not in keys:
            raise InvalidInputError(
                f"roster {path}: --columns {role}={name!r} names no column",
                hint=f"its columns are {', '.join(repr(h) for h in header)}",
            )
        where[role] = keys.index(normalise(name))
    for role in ROLES:
        if role in where:
            continue
        for alias in ALIASES[role]:
            if alias in keys and keys.index(alias) not in where.values():
                where[role] = keys.index(alias)
                break
    if "student" not in where:
        raise InvalidInputError(
            f"roster {path}: no student column in header {','.join(header)!r}",
            hint="name it identifier or student_id (GitHub Classroom's export works as is), "
            "or pass --columns student=<its header>",
        )
    used = set(where.values())
    extra = [h for i, (h, k) in enumerate(zip(header, keys, strict=True)) if i not in used]
    warnings = [
        f"roster {path}: column {h!r} ignored (pass --columns ROLE={h!r} to use it; roles: "
        f"{', '.join(ROLES)})"
        for h in extra
        if normalise(h) not in IGNORED and h.strip()
    ]
    return where, warnings


def read_roster(path: Path, columns: Mapping[str, str] | None = None) -> Roster:
    """Parse a roster: rows, problems (line, reason) and header warnings.

    Only the file-level shape is checked here (header, columns, duplicates); the values are
    checked against the platform config by the caller, which adds its own problems.

    Raises:
        InvalidInputError: not UTF-8, empty, or no student column.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"roster {path} is not UTF-8 text", hint="export the CSV as UTF-8"
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError(f"roster {path} is empty", hint="export the roster again") from None
    where, warnings = _assign(header, path, columns or {})
    rows: list[RosterRow] = []
    problems: list[tuple[int, str]] = []
    seen_students: dict[str, int] = {}
    seen_logins: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append((line, f"expected {len(header)} columns, found {len(record)}"))
            continue
        cells = {role: record[i].strip() for role, i in where.items()}
        student = cells["student"]
        github = cells.get("github", "")
        if not student:
            problems.append((line, "empty student id"))
            continue
        if student in seen_students:
            problems.append((line, f"student {student!r} already on line {seen_students[student]}"))
            continue
        if github and github.lower() in seen_logins:
            problems.append(
                (line, f"GitHub login {github!r} already on line {seen_logins[github.lower()]}")
            )
            continue
        seen_students[student] = line
        if github:
            seen_logins[github.lower()] = line
        rows.append(
            RosterRow(
                line=line,
                student=student,
                github=github,
                name=cells.get("name", ""),
                email=cells.get("email", ""),
                tier=cells.get("tier", ""),
            )
        )
    return Roster(rows=rows, problems=problems, warnings=warnings)
