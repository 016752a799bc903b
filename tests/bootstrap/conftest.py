"""Fixtures for the cluster-bootstrap tests."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def ansible_home(tmp_path: Path) -> Path:
    home = tmp_path / "ansible-home"
    (home / "tmp").mkdir(parents=True)
    return home


@pytest.fixture(scope="session")
def require_root_and_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("the chroot scenario needs root (CI runs as root)")
    for tool in ("ansible-playbook", "tar", "chroot"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    if importlib.util.find_spec("ansible_collections.community.general") is None:
        pytest.fail(
            "the community.general collection (chroot connection) is missing: pip install ansible"
        )


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    """A directory outside pytest's tmp_path (chroots are big), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="kuploy-chroot-"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)
