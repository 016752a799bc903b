"""Class rosters: parsing the CSV formats admins get, row by row, with line-numbered problems.

Two headers are accepted:

- GitHub Classroom's export: ``identifier,github_username,github_id,name`` (blank usernames are
  students who have not linked their account yet);
- a plain one: ``student_id,github_username,email,name`` with an optional ``tier`` column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kuploy_gitops.errors import InvalidInputError

CLASSROOM = ("identifier", "github_username", "github_id", "name")
PLAIN = ("student_id", "github_username", "email", "name")


@dataclass(frozen=True)
class RosterRow:
    """One student from a roster, with the file line it came from."""

    line: int
    student: str
    github: str
    name: str
    email: str
    tier: str


def read_roster(path: Path) -> tuple[list[RosterRow], list[tuple[int, str]]]:
    """Parse a roster; return (rows, problems) where problems are (line, reason).

    Only the file-level shape is checked here (header, columns, duplicates); the values are
    checked against the platform config by the caller, which adds its own problems.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"roster {path} is not UTF-8 text", hint="export the CSV as UTF-8"
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInputError(f"roster {path} is empty", hint="export the roster again") from None
    if tuple(header[:4]) == CLASSROOM and len(header) == 4:
        kind = "classroom"
    elif tuple(header[:4]) == PLAIN and (len(header) == 4 or header[4:] == ["tier"]):
        kind = "plain"
    else:
        raise InvalidInputError(
            f"roster {path}: unknown header {','.join(header)!r}",
            hint="use GitHub Classroom's 'identifier,github_username,github_id,name' or "
            "'student_id,github_username,email,name[,tier]'",
        )
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
        cells = dict(zip(header, (c.strip() for c in record), strict=True))
        student = cells["identifier" if kind == "classroom" else "student_id"]
        github = cells["github_username"]
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
                name=cells["name"],
                email=cells.get("email", ""),
                tier=cells.get("tier", ""),
            )
        )
    return rows, problems
