"""Every way a tenant is made refuses a reserved namespace name, one line, nothing written.

Built-in names and patterns (names.RESERVED_NAMES / RESERVED_PATTERNS), the platform's own
namespaces, and kuploy.yaml's ``reserved_namespaces`` (names or ``*`` patterns) alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import api, layout, yamlio
from kuploy_gitops.errors import InvalidInputError, RosterError
from kuploy_gitops.github import scaffold

# (student, why it is reserved)
RESERVED = [
    ("longhorn-system", "(it matches '*-system')"),
    ("kube-flannel", "(it matches 'kube-*')"),
    ("monitoring", "reserved for the platform;"),
    ("local-path-storage", "reserved for the platform;"),
    ("gitlab", "reserved for the platform;"),  # kuploy.yaml
    ("lab-7", "(it matches 'lab-*')"),  # kuploy.yaml
]


@pytest.fixture
def lab(platform: Path) -> Path:
    """A platform whose kuploy.yaml reserves ``gitlab`` and ``lab-*`` too."""
    path = platform / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["reserved_namespaces"] = ["gitlab", "lab-*"]
    path.write_text(yamlio.dump(data))
    git(platform, "commit", "-qam", "reserve gitlab and lab-*")
    return platform


@pytest.mark.parametrize(("student", "why"), RESERVED)
def test_onboard_refuses(lab: Path, student: str, why: str) -> None:
    before, count = tree_snapshot(lab), commit_count(lab)
    with pytest.raises(InvalidInputError) as info:
        api.onboard(lab, api.OnboardOptions(student=student))
    assert str(info.value).startswith(f"student name {student!r} is reserved for the platform")
    assert why in str(info.value) and "\n" not in str(info.value)
    assert tree_snapshot(lab) == before and commit_count(lab) == count


def test_a_roster_refuses_each_reserved_row(lab: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = "".join(f"{student},,,x\n" for student, _ in RESERVED)
    roster.write_text(f"student_id,github_username,email,name\nkim-minji,,,Kim\n{rows}")
    before, count = tree_snapshot(lab), commit_count(lab)
    with pytest.raises(RosterError) as info:
        api.onboard_roster(lab, roster, api.OnboardOptions(student=""))
    problems = dict(info.value.problems)
    assert sorted(problems) == list(range(3, 3 + len(RESERVED)))
    for line, (student, why) in enumerate(RESERVED, 3):
        assert f"student name {student!r} is reserved" in problems[line] and why in problems[line]
    assert tree_snapshot(lab) == before and commit_count(lab) == count
    outcome = api.onboard_roster(lab, roster, api.OnboardOptions(student=""), skip_invalid=True)
    assert outcome.students == ["kim-minji"]


@pytest.mark.parametrize(("student", "why"), RESERVED)
def test_app_add_and_github_setup_refuse(lab: Path, student: str, why: str) -> None:
    before = tree_snapshot(lab)
    with pytest.raises(InvalidInputError, match="reserved for the platform") as info:
        api.app_add(
            lab,
            api.AppOptions(student=student, app="web", image="ghcr.io/konkuk-kuploy/w:1", port=80),
        )
    assert why in str(info.value)
    with pytest.raises(InvalidInputError, match="reserved for the platform") as info:
        scaffold.load_inputs(lab, scaffold.ScaffoldOptions(student=student, app="web"))
    assert why in str(info.value)
    assert tree_snapshot(lab) == before


def test_an_ordinary_name_passes_every_entry_point(lab: Path) -> None:
    api.onboard(lab, api.OnboardOptions(student="lab7"))
    api.app_add(
        lab, api.AppOptions(student="lab7", app="web", image="ghcr.io/konkuk-kuploy/w:1", port=80)
    )
    _, spec, _ = scaffold.load_inputs(lab, scaffold.ScaffoldOptions(student="lab7", app="web"))
    assert spec.student == "lab7"
