from __future__ import annotations

from pathlib import Path

import pytest
from helpers import git

from kuploy_gitops import api, layout
from kuploy_gitops.errors import GitError
from kuploy_gitops.gitrepo import GitRepo, redact


def test_push_pushes(platform: Path, remote: Path) -> None:
    result = api.onboard(platform, api.OnboardOptions(student="kim"), push=True)
    assert result.pushed == "origin/main"
    assert git(remote, "rev-parse", "main") == git(platform, "rev-parse", "HEAD")


def test_push_rebases_when_remote_moved(platform: Path, remote: Path, other_admin: Path) -> None:
    other = other_admin
    api.onboard(other, api.OnboardOptions(student="lee"), push=True)
    api.onboard(platform, api.OnboardOptions(student="kim"), push=True)
    log = git(remote, "log", "--format=%s", "main").splitlines()
    assert log[0] == "kuploy: onboard student kim"
    assert log[1] == "kuploy: onboard student lee"
    assert git(platform, "status", "--porcelain") == ""
    assert (platform / layout.tenant_spec("lee")).is_file()


def test_push_without_remote_says_what_to_do(platform: Path) -> None:
    with pytest.raises(GitError, match="no remote"):
        api.onboard(platform, api.OnboardOptions(student="kim"), push=True)


def test_push_failure_redacts_credentials(platform: Path) -> None:
    git(platform, "remote", "add", "origin", "https://user:s3cr3t-token@127.0.0.1:9/x.git")
    with pytest.raises(GitError) as info:
        api.onboard(platform, api.OnboardOptions(student="kim"), push=True)
    assert "s3cr3t-token" not in str(info.value)


def test_redact() -> None:
    assert (
        redact("fatal: https://x:ghp_abc@github.com/konkuk-kuploy/r")
        == "fatal: https://***@github.com/konkuk-kuploy/r"
    )


def test_lock_refuses_second_writer_and_takes_over_stale(platform: Path) -> None:
    repo = GitRepo(platform)
    with repo.lock(), pytest.raises(GitError, match="another kuploy-gitops"):
        api.onboard(platform, api.OnboardOptions(student="kim"))
    (repo.git_dir / "kuploy.lock").write_text("999999999")  # a dead process
    api.onboard(platform, api.OnboardOptions(student="kim"))
    assert not (repo.git_dir / "kuploy.lock").exists()
