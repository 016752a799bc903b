"""The shared write flow (ops/writing.py): what a write reports after it pushed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from helpers import git

from kuploy_gitops import api, cli


def moved_remote(platform: Path, tmp_path: Path) -> Path:
    """A bare remote of ``platform`` that another admin has pushed a commit to since."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(platform, "remote", "add", "origin", str(bare))
    git(platform, "push", "-q", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    api.onboard(other, api.OnboardOptions(student="lee"), push=True)
    return bare


def test_commit_is_the_pushed_one_after_a_rebase(platform: Path, tmp_path: Path) -> None:
    bare = moved_remote(platform, tmp_path)
    result = api.onboard(platform, api.OnboardOptions(student="kim"), push=True)
    head = git(platform, "rev-parse", "HEAD").strip()
    assert result.commit == head == git(bare, "rev-parse", "main").strip()
    assert git(platform, "cat-file", "-t", result.commit).strip() == "commit"
    assert git(platform, "log", "-1", "--format=%s", result.commit).strip() == (
        "kuploy: onboard student kim"
    )


def test_cli_prints_the_sha_that_was_pushed(platform: Path, tmp_path: Path) -> None:
    bare = moved_remote(platform, tmp_path)
    result = CliRunner().invoke(
        cli.main, ["-C", str(platform), "onboard", "kim", "--push"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    pushed = git(bare, "rev-parse", "main").strip()
    assert f"committed {pushed[:12]} kuploy: onboard student kim" in result.stdout
    assert "pushed to origin/main" in result.stdout


def test_commit_without_push_is_head(platform: Path) -> None:
    result = api.onboard(platform, api.OnboardOptions(student="kim"))
    assert result.commit == git(platform, "rev-parse", "HEAD").strip()
    assert result.pushed == ""
    assert (result.upstream, result.ahead) == ("", None)  # no remote: no "not pushed" line
