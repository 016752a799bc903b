"""Fixtures for the validation tests: one demo platform repo per module, an isolated cache."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import DATA_DIR, isolated_env

from kuploy_gitops import api, config, layout

CRD_DIR = DATA_DIR / "argocd"


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kustomize builds are cached under a temp XDG_CACHE_HOME, never in the real home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(scope="module")
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The demo repo (init + sample roster + one platform-managed app), built once per module.

    A module that sets ``DEMO_ENFORCE`` (e.g. ``"baseline"``) gets the demo with that Pod
    Security enforce level instead of a new platform's ``restricted``, rendered.
    """
    enforce = getattr(request.module, "DEMO_ENFORCE", None)
    base = tmp_path_factory.mktemp("demo")
    with isolated_env(base, cache=False):
        repo = base / "repo"
        api.demo(repo)
        if enforce is not None:
            path = repo / layout.CONFIG_FILE
            text = path.read_text()
            assert "enforce: restricted" in text
            path.write_text(text.replace("enforce: restricted", f"enforce: {enforce}"))
            subprocess.run(["git", "-C", str(repo), "commit", "-qam", enforce], check=True)
            api.render_all(repo)
        yield repo


@pytest.fixture(scope="module")
def demo_cfg(demo: Path) -> config.PlatformConfig:
    return config.load_config(demo)


@pytest.fixture
def crd_dir() -> Path:
    if not CRD_DIR.is_dir():
        pytest.fail(f"Argo CD CRDs missing: {CRD_DIR}")
    return CRD_DIR
