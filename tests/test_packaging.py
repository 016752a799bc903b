"""The wheel carries the templates: installed into a fresh venv it works outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO_ROOT


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("kuploy_gitops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kuploy_gitops/templates/app/deployment.yaml.j2" in names
    assert "kuploy_gitops/templates/repo/README.md.j2" in names
    assert any(n.endswith("entry_points.txt") for n in names)

    venv = tmp_path / "venv"
    # System site packages provide the dependencies (no network needed); the package itself
    # comes only from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", "--no-index", "--no-deps", str(wheel)], check=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    exe = str(venv / "bin" / "kuploy-gitops")
    subprocess.run([exe, "init", "plat"], cwd=outside, check=True, capture_output=True)
    subprocess.run(
        [exe, "-C", "plat", "onboard", "kim", "--course", "cs101"],
        cwd=outside,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [exe, "-C", "plat", "app", "add", "kim", "web", "--image", "ghcr.io/o/w:1", "--port", "80"],
        cwd=outside,
        check=True,
        capture_output=True,
    )
    assert (outside / "plat" / "apps" / "workloads" / "kim" / "web" / "deployment.yaml").is_file()
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from kuploy_gitops import render; print(render.templates_dir())",
        ],
        cwd=outside,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert str(venv) in where  # the templates came from the wheel, not the checkout
