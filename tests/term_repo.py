"""A small class of tenants for the term-operation tests: built once per module, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from kuploy_gitops import api

# kim and lee take cs101, park cs202, all in term 2026-2.
STUDENTS: dict[str, dict[str, str]] = {
    "kim": {"course": "cs101", "term": "2026-2", "expires": "2027-02-28", "email": "kim@u.ac.kr"},
    "lee": {"course": "cs101", "term": "2026-2", "expires": "2027-03-10"},
    "park": {"course": "cs202", "term": "2026-2", "expires": "2027-01-31", "name": "Park J"},
}


def build(repo: Path, students: Mapping[str, Mapping[str, str]] = STUDENTS) -> Path:
    """An initialised platform repo at ``repo`` with ``students`` onboarded (GitHub <s>-gh)."""
    api.init(api.InitOptions(repo=repo))
    for student, fields in students.items():
        api.onboard(repo, api.OnboardOptions(student=student, github=f"{student}-gh", **fields))
    return repo


def copy(template: Path, tmp_path: Path) -> Path:
    """A copy of the template repo (git's own files with it) for one test to change."""
    target = tmp_path / "platform"
    shutil.copytree(template, target, symlinks=True)
    return target
