"""GitHub logins: one file per bound login (``tenants/logins/<login>``) naming its tenant.

The file makes "is this login taken?" one read whatever the number of tenants, and two admins
binding one login at once a conflict at push time; the spec stays the source of truth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import commit_count, git

from kuploy_gitops import api, layout
from kuploy_gitops.errors import ConfigError, GitError, InvalidInputError, RosterError
from kuploy_gitops.ops import tenants
from kuploy_gitops.validate.engine import Options, validate_repo


def onboard(repo: Path, student: str, **kw: object) -> None:
    api.onboard(repo, api.OnboardOptions(student=student, **kw))  # type: ignore[arg-type]


def login_file(repo: Path, login: str) -> Path:
    return repo / layout.LOGINS_DIR / login


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def set_spec_login(repo: Path, student: str, old: str, new: str) -> None:
    spec = repo / layout.tenant_spec(student)
    spec.write_text(spec.read_text().replace(f"github: {old}\n", f"github: {new}\n"))


def test_init_writes_the_folders_readme(platform: Path) -> None:
    assert "One file per GitHub login" in (platform / layout.LOGINS_README).read_text()


def test_onboard_writes_the_login_file_in_lower_case_in_the_same_commit(platform: Path) -> None:
    onboard(platform, "kim", github="Kim-GH")
    assert login_file(platform, "kim-gh").read_text() == "kim\n"
    changed = git(platform, "show", "--name-only", "--format=", "HEAD").split()
    assert "tenants/logins/kim-gh" in changed and "tenants/kim.yaml" in changed
    onboard(platform, "lee")  # no login, no file
    assert sorted(p.name for p in (platform / layout.LOGINS_DIR).iterdir()) == [
        "README.md",
        "kim-gh",
    ]


def test_rebinding_moves_the_file_and_offboarding_removes_it(platform: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    onboard(platform, "kim", github="new-gh", change_github=True)
    assert not login_file(platform, "kim-gh").exists()
    assert login_file(platform, "new-gh").read_text() == "kim\n"
    api.offboard(platform, "kim", archive=True)
    assert not login_file(platform, "new-gh").exists()
    assert git(platform, "status", "--porcelain") == ""
    onboard(platform, "lee", github="new-gh")  # a freed login can be bound again
    assert login_file(platform, "new-gh").read_text() == "lee\n"


def test_a_roster_writes_each_rows_file(platform: Path, tmp_path: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "identifier,github_username,github_id,name\nkim,kim2-gh,1,Kim\npark,Park-GH,2,Park\n"
    )
    api.onboard_roster(platform, roster, api.OnboardOptions(student="", change_github=True))
    assert login_file(platform, "park-gh").read_text() == "park\n"
    assert login_file(platform, "kim2-gh").read_text() == "kim\n"
    assert not login_file(platform, "kim-gh").exists()


def test_the_check_reads_the_logins_file_not_every_spec(
    platform: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def every_spec(*_: object) -> list[object]:
        raise AssertionError("searched every spec")

    monkeypatch.setattr(tenants, "specs_mentioning", every_spec)
    onboard(platform, "kim", github="kim-gh")
    before = commit_count(platform)
    with pytest.raises(InvalidInputError, match="'KIM-gh' already belongs to tenant 'kim'"):
        onboard(platform, "attacker", github="KIM-gh")
    roster = tmp_path / "roster.csv"
    roster.write_text("identifier,github_username,github_id,name\nlee,kim-gh,1,Lee\n")
    with pytest.raises(RosterError, match="already belongs to tenant 'kim'"):
        api.onboard_roster(platform, roster, api.OnboardOptions(student=""))
    assert commit_count(platform) == before


def test_the_spec_decides_over_a_file_a_hand_edit_left_behind(platform: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    set_spec_login(platform, "kim", "kim-gh", "kim2-gh")  # by hand, no render
    commit_all(platform, "hand edit")
    onboard(platform, "lee", github="kim-gh")  # kim no longer holds it: allowed
    assert login_file(platform, "kim-gh").read_text() == "lee\n"


def test_a_repo_without_login_files_is_searched_until_rendered(platform: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    shutil.rmtree(platform / layout.LOGINS_DIR)  # as a repo rendered by an older kuploy-gitops
    commit_all(platform, "before login files")
    with pytest.raises(InvalidInputError, match="already belongs to tenant 'kim'"):
        onboard(platform, "attacker", github="kim-gh")
    assert api.render_all(platform).changed == [layout.LOGINS_README, "tenants/logins/kim-gh"]
    api.render_check(platform)


def test_render_refuses_two_specs_binding_one_login(platform: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    onboard(platform, "lee", github="lee-gh")
    set_spec_login(platform, "lee", "lee-gh", "Kim-GH")
    commit_all(platform, "hand edit")
    for call in (api.render_all, api.render_check):
        with pytest.raises(ConfigError, match="'Kim-GH' is bound to two tenants: 'kim'") as info:
            call(platform)
        assert "tenants/lee.yaml" in str(info.value)


def test_two_admins_binding_one_login_at_once_conflict_at_push(
    platform: Path, other_admin: Path
) -> None:
    other = other_admin
    onboard(other, "lee", github="shared-gh")
    api.onboard(other, api.OnboardOptions(student="lee2"), push=True)
    with pytest.raises(GitError, match="conflicting changes in tenants/logins/shared-gh") as info:
        api.onboard(platform, api.OnboardOptions(student="kim", github="shared-gh"), push=True)
    assert "'shared-gh' was bound to another tenant" in str(info.value)
    assert git(platform, "status", "--porcelain") == ""
    assert git(platform, "log", "-1", "--format=%s").strip() == "kuploy: onboard student kim"


def test_two_admins_binding_different_logins_push_fine(platform: Path, other_admin: Path) -> None:
    other = other_admin
    api.onboard(other, api.OnboardOptions(student="lee", github="lee-gh"), push=True)
    api.onboard(platform, api.OnboardOptions(student="kim", github="kim-gh"), push=True)
    assert login_file(platform, "lee-gh").read_text() == "lee\n"


# -- validate ---------------------------------------------------------------------------------


def findings(repo: Path, **kw: object) -> list[tuple[str, str]]:
    report = validate_repo(Options(repo=repo, kustomize=False, **kw))  # type: ignore[arg-type]
    return sorted((f.rule, f.file) for f in report.findings)


def test_validate_reports_a_missing_changed_or_stray_login_file(
    platform: Path, tmp_path: Path
) -> None:
    onboard(platform, "kim", github="kim-gh")
    onboard(platform, "lee", github="lee-gh")
    cache = tmp_path / "cache"
    assert findings(platform, cache_dir=cache) == []
    login_file(platform, "kim-gh").unlink()  # after a warm run: the cache must not hide it
    login_file(platform, "lee-gh").write_text("kim\n")
    login_file(platform, "ghost-gh").write_text("ghost\n")
    drift = ("drift.out-of-date",)
    assert findings(platform, cache_dir=cache) == [
        (*drift, "tenants/logins/ghost-gh"),
        (*drift, "tenants/logins/kim-gh"),
        (*drift, "tenants/logins/lee-gh"),
    ]
    assert findings(platform, use_cache=False) == findings(platform, cache_dir=cache)


def test_validate_reports_two_specs_binding_one_login(platform: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    onboard(platform, "lee", github="lee-gh")
    set_spec_login(platform, "lee", "lee-gh", "Kim-GH")
    report = validate_repo(Options(repo=platform, kustomize=False, drift=False))
    dup = [f for f in report.findings if f.rule == "spec.login-duplicate"]
    assert sorted((f.file, f.tenant) for f in dup) == [
        ("tenants/kim.yaml", "kim"),
        ("tenants/lee.yaml", "lee"),
    ]
    line = (platform / "tenants/lee.yaml").read_text().splitlines()[dup[1].line - 1]
    assert line == "github: Kim-GH"
    assert "'kim-gh' is also bound to 'lee'" in dup[0].message
