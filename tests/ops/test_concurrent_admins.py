"""Several admins pushing one platform repo at once: every push lands, or says why and how on.

Real git: a bare remote in a temp dir and one clone per admin; the concurrent pushers are real
processes (tests/processes.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import git
from processes import CONTEXT, start

from kuploy_gitops import api, cli, layout
from kuploy_gitops.errors import GitError
from kuploy_gitops.ops.writing import push_repo


def clone(remote: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(remote), str(where))
    return where


def onboard_when_all_ready(repo: Path, student: str, barrier: object, out: Path) -> None:
    barrier.wait()  # type: ignore[attr-defined]  # every pusher starts at once
    result = api.onboard(repo, api.OnboardOptions(student=student), push=True)
    out.write_text(result.pushed)


def concurrent_onboards(remote: Path, tmp_path: Path, count: int) -> float:
    """``count`` admins, each in their own clone and process, onboard one student and push."""
    clones = [clone(remote, tmp_path / f"admin{i}") for i in range(count)]
    barrier = CONTEXT.Barrier(count)
    outs = [tmp_path / f"pushed{i}" for i in range(count)]
    began = time.monotonic()
    procs = [
        start(onboard_when_all_ready, repo, f"s{i}", barrier, out)
        for i, (repo, out) in enumerate(zip(clones, outs, strict=True))
    ]
    for proc in procs:
        proc.join(120)
    took = time.monotonic() - began
    assert [p.exitcode for p in procs] == [0] * count
    assert [o.read_text() for o in outs] == ["origin/main"] * count
    return took


def assert_all_landed(remote: Path, tmp_path: Path, count: int) -> Path:
    final = clone(remote, tmp_path / "final")
    students = [row["student"] for row in api.list_tenants(final)]
    assert students == sorted(f"s{i}" for i in range(count))
    subjects = git(final, "log", "--format=%s").splitlines()
    assert sorted(s for s in subjects if s.startswith("kuploy: onboard student")) == sorted(
        f"kuploy: onboard student s{i}" for i in range(count)
    )
    api.render_check(final)  # the merged tree is exactly what its specs render
    return final


def test_three_admins_pushing_at_once_all_land(remote: Path, tmp_path: Path) -> None:
    concurrent_onboards(remote, tmp_path, 3)
    assert_all_landed(remote, tmp_path, 3)


@pytest.mark.slow
def test_ten_admins_pushing_at_once_all_land_and_validate(remote: Path, tmp_path: Path) -> None:
    from kuploy_gitops.validate.engine import Options, validate_repo

    took = concurrent_onboards(remote, tmp_path, 10)
    final = assert_all_landed(remote, tmp_path, 10)
    report = validate_repo(Options(repo=final, kustomize=False))
    assert [f for f in report.findings if f.severity == "error"] == []
    print(f"10 concurrent onboard --push: all landed in {took:.1f} s")


def test_the_same_student_onboarded_twice_says_who_and_what_works(
    platform: Path, other_admin: Path
) -> None:
    api.onboard(other_admin, api.OnboardOptions(student="kim", course="a"), push=True)
    with pytest.raises(GitError) as info:
        api.onboard(platform, api.OnboardOptions(student="kim", course="b"), push=True)
    spec = layout.tenant_spec("kim")
    assert info.value.message.startswith("push to origin/main failed: the remote has conflicting")
    assert spec in info.value.message
    assert "(changed there by Test Admin: kuploy: onboard student kim)" in info.value.message
    assert "`git reset --keep origin/main` and run your command again" in str(info.value.hint)
    assert git(platform, "status", "--porcelain") == ""  # rebase aborted, commit kept
    assert not (platform / ".git" / "rebase-merge").exists()
    assert git(platform, "log", "-1", "--format=%s").strip() == "kuploy: onboard student kim"
    # The command the error gives works: drop ours, run the command again on top of theirs.
    git(platform, "reset", "-q", "--keep", "origin/main")
    result = api.onboard(platform, api.OnboardOptions(student="kim", course="b"), push=True)
    assert result.pushed == "origin/main"
    assert "course: b" in (platform / spec).read_text()
    api.render_check(platform)


def edit_tier(repo: Path) -> None:
    """Another admin's change of kuploy.yaml that re-renders every tenant's quota."""
    config = repo / layout.CONFIG_FILE
    text = config.read_text()
    assert "pods: '10'" in text
    config.write_text(text.replace("pods: '10'", "pods: '12'", 1))
    git(repo, "commit", "-qam", "tiers: more pods")  # no tenants there yet: nothing to render
    assert push_repo(repo).pushed == "origin/main"


def test_a_rebase_that_makes_drift_is_not_pushed(
    platform: Path, other_admin: Path, remote: Path
) -> None:
    edit_tier(other_admin)
    before = git(remote, "rev-parse", "main")
    # Rendered under the old tiers (their change is not fetched yet), rebased onto the new.
    with pytest.raises(GitError) as info:
        api.onboard(platform, api.OnboardOptions(student="kim"), push=True)
    assert info.value.message.startswith("not pushed: rebased onto origin/main, ")
    assert layout.tenant_dir("kim") in info.value.message
    assert "`kuploy-gitops render --push`" in str(info.value.hint)
    assert git(remote, "rev-parse", "main") == before
    assert git(platform, "status", "--porcelain") == ""
    # What the error says to run re-renders and lands.
    assert api.render_all(platform, push=True).pushed == "origin/main"
    api.render_check(platform)


def test_a_commit_without_push_says_how_far_ahead_and_push_sends_it(
    platform: Path, remote: Path
) -> None:
    del remote
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli.main, ["-C", str(platform), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "not pushed (main is 1 commit ahead of origin/main): run `kuploy-gitops push`" in run(
        "onboard", "kim"
    )
    head = git(platform, "rev-parse", "HEAD").strip()
    assert run("push") == f"pushed {head[:12]} to origin/main\n"
    assert run("push") == "nothing to push: main is 0 commits ahead of origin/main.\n"


def test_the_not_pushed_words() -> None:
    from kuploy_gitops.cli.output import unpushed
    from kuploy_gitops.plan import ApplyResult

    def words(ahead: int | None) -> str:
        return unpushed(ApplyResult(summary="", upstream="origin/main", ahead=ahead))

    assert words(1) == "main is 1 commit ahead of origin/main"
    assert words(2) == "main is 2 commits ahead of origin/main"
    assert words(None) == "origin/main was never fetched here"
