"""The wheel carries the templates: installed into a fresh venv it works outside the checkout.

The venv is made without network and without copies of the dependencies, and it works however
this suite's interpreter got them (a venv, ``pip install --user``, the system interpreter): a
``.pth`` file in the venv's site-packages adds the running interpreter's site directories with
``site.addsitedir``. They come after the venv's own site-packages, so the venv's kuploy_gitops is
the wheel's even when the checkout is also installed (editable or not) in one of them.
"""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from helpers import REPO_ROOT


def host_site_dirs() -> list[str]:
    """The site directories this interpreter imports from, in its own sys.path order."""
    candidates = [
        *site.getsitepackages(),
        # A venv made with --system-site-packages also reads its base interpreter's.
        *site.getsitepackages([sys.base_prefix, sys.base_exec_prefix]),
        sysconfig.get_path("purelib"),
        sysconfig.get_path("platlib"),
    ]
    if site.ENABLE_USER_SITE:
        candidates.append(site.getusersitepackages())
    wanted = {os.path.realpath(c) for c in candidates}
    dirs: list[str] = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real in wanted and real not in dirs and Path(real).is_dir():
            dirs.append(real)
    return dirs


def make_venv(venv: Path) -> Path:
    """A venv that sees this interpreter's packages after its own; returns its python."""
    host_pip = importlib.util.find_spec("pip") is not None
    # Without pip when this interpreter has one: the venv then runs it from the added dirs.
    args = ["--without-pip"] if host_pip else []
    subprocess.run([sys.executable, "-m", "venv", *args, str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirs = host_site_dirs()
    assert dirs, f"no site directory of {sys.executable} found on sys.path"
    line = "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs)
    (Path(purelib) / "_kuploy_test_host_site.pth").write_text(line + "\n", encoding="utf-8")
    return python


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
    assert "kuploy_gitops/templates/student-repo/KUPLOY.md.j2" in names
    assert "kuploy_gitops/validate/crds/argoproj.io_Application.json" in names
    assert "kuploy_gitops/data/versions.yml" in names
    assert "kuploy_gitops/templates/repo/README.md.j2" in names
    assert any(n.endswith("entry_points.txt") for n in names)

    venv = tmp_path / "venv"
    python = make_venv(venv)
    # Only the venv's own files and the .pth decide what it imports (not PYTHONPATH).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    # --isolated: no pip configuration or PIP_* variables (e.g. PIP_USER) apply;
    # --ignore-installed: a kuploy-gitops seen through the added dirs is neither skipped for
    # nor uninstalled.
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "--isolated",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--ignore-installed",
            str(wheel),
        ],
        check=True,
        env=env,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    exe = str(venv / "bin" / "kuploy-gitops")
    subprocess.run([exe, "init", "plat"], cwd=outside, check=True, capture_output=True, env=env)
    subprocess.run(
        [exe, "-C", "plat", "onboard", "kim", "--course", "cs101"],
        cwd=outside,
        check=True,
        capture_output=True,
        env=env,
    )
    subprocess.run(
        [
            exe,
            "-C",
            "plat",
            "app",
            "add",
            "kim",
            "web",
            "--image",
            "ghcr.io/konkuk-kuploy/w:1",
            "--port",
            "80",
        ],
        cwd=outside,
        check=True,
        capture_output=True,
        env=env,
    )
    assert (outside / "plat" / "apps" / "workloads" / "kim" / "web" / "deployment.yaml").is_file()
    where = subprocess.run(
        [str(python), "-c", "from kuploy_gitops import render; print(render.templates_dir())"],
        cwd=outside,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    assert str(venv) in where  # the templates came from the wheel, not the checkout
