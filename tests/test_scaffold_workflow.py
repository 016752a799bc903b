"""The student workflow's own shell steps, run with bash against real git repos.

``origin`` is a bare repo standing in for GitHub; each deploy is a fresh checkout of one
commit, as ``actions/checkout`` makes it. The image build is GitHub's and is not run; the tag
is set as the workflow's yq line sets it (``test_scaffold`` checks that line).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import git

from kuploy_gitops import config, layout, yamlio
from kuploy_gitops.github import scaffold
from kuploy_gitops.github.scaffold import ScaffoldOptions
from kuploy_gitops.tenant_spec import TenantSpec

STUDENT = "kim-minji"
DEPLOY = layout.STUDENT_DEPLOY_BRANCH


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    """The scaffold of a platform as init makes it (no repo needed: nothing is written)."""
    data = config.default_config_data()
    cfg = config.parse_config(data)
    spec = TenantSpec(student=STUDENT, tier=cfg.default_tier, github="minji-k")
    opts = ScaffoldOptions(student=STUDENT, app="web", stack="node")
    return scaffold.scaffold_files(cfg, spec, opts, data)


def workflow(files: dict[str, str]) -> dict[str, Any]:
    data = yamlio.load(files[layout.STUDENT_WORKFLOW_FILE])
    assert isinstance(data, dict)
    return data


def step(files: dict[str, str], name: str) -> str:
    (script,) = [s["run"] for s in workflow(files)["jobs"]["deploy"]["steps"] if s["name"] == name]
    return str(script)


def run_step(script: str, cwd: Path, **env: str) -> str:
    """Run a step's script as the runner does (bash -e -o pipefail), with ``env`` added."""
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def deploy(files: dict[str, str], origin: Path, commit: str, work: Path) -> None:
    """One run of the workflow's checkout, tag and deploy steps for ``commit``."""
    env = {k: str(v) for k, v in workflow(files)["env"].items()}
    git(work.parent, "clone", "-q", str(origin), work.name)
    git(work, "checkout", "-q", "--detach", commit)
    tag = "sha-" + commit[:7]
    path = work / layout.STUDENT_DEPLOY_DIR / "kustomization.yaml"
    kust = yamlio.load(path.read_text())
    (entry,) = [e for e in kust["images"] if e["name"] == env["IMAGE"]]
    entry["newTag"] = tag
    path.write_text(yamlio.dump(kust))
    script = step(files, "Deploy the tag to the deploy branch")
    run_step(script, work, **env, TAG=tag, COMMIT=commit)


def new_tag(origin: Path, ref: str) -> str:
    text = git(origin, "show", f"{ref}:{layout.STUDENT_DEPLOY_DIR}/kustomization.yaml")
    (entry,) = yamlio.load(text)["images"]
    return str(entry["newTag"])


def push(student: Path, message: str) -> str:
    """The student commits everything and pushes to main; returns the commit."""
    git(student, "add", "-A")
    git(student, "commit", "-qm", message)
    git(student, "push", "-q", "origin", "HEAD:main")
    return git(student, "rev-parse", "HEAD").strip()


def assert_deployed(origin: Path, commit: str, deploys: int) -> None:
    """The deploy branch's newest commit is ``commit``'s deploy folder with its tag, alone."""
    files = git(origin, "ls-tree", "-r", "--name-only", DEPLOY).split()
    assert files and all(f.startswith(f"{layout.STUDENT_DEPLOY_DIR}/") for f in files), files
    ours = git(origin, "ls-tree", "-r", "--name-only", commit).split()
    assert sorted(files) == sorted(f for f in ours if f.startswith(f"{layout.STUDENT_DEPLOY_DIR}/"))
    assert new_tag(origin, DEPLOY) == f"sha-{commit[:7]}"
    assert "[skip ci]" in git(origin, "log", "-1", "--format=%s", DEPLOY)
    assert f"Built from {commit}." in git(origin, "log", "-1", "--format=%b", DEPLOY)
    assert git(origin, "rev-list", "--count", DEPLOY).strip() == str(deploys)


def test_deploys_go_to_the_deploy_branch_and_a_rollback_is_one_run(
    files: dict[str, str], tmp_path: Path
) -> None:
    assert workflow(files)["env"]["DEPLOY_BRANCH"] == DEPLOY
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    student = tmp_path / "student"
    git(tmp_path, "clone", "-q", str(origin), "student")
    for path, text in files.items():
        (student / path).parent.mkdir(parents=True, exist_ok=True)
        (student / path).write_text(text)
    first = push(student, "scaffold")

    # The first deploy creates the branch: one commit, the deploy folder with the tag.
    deploy(files, origin, first, tmp_path / "run1")
    assert_deployed(origin, first, 1)

    # The student's next push needs no pull: main never got a bot commit.
    (student / "server.js").write_text("// v2\n")
    second = push(student, "v2")
    deploy(files, origin, second, tmp_path / "run2")
    assert_deployed(origin, second, 2)
    assert git(origin, "rev-parse", "main").strip() == second
    assert git(origin, "rev-list", "--count", "main").strip() == "2"

    # Roll back: the same run for the first commit, one more commit on the branch.
    deploy(files, origin, first, tmp_path / "run3")
    assert_deployed(origin, first, 3)
    assert git(origin, "rev-parse", "main").strip() == second


@pytest.mark.parametrize(
    ("setting", "args"),
    [
        ("kuploy-gitops==0.1.0", ["kuploy-gitops==0.1.0"]),
        (
            "git+https://github.com/konkuk/kuploy-gitops@v0.1.0",
            ["git+https://github.com/konkuk/kuploy-gitops@v0.1.0"],
        ),
        (
            "--index-url https://pypi.cs.konkuk.example/simple kuploy-gitops==0.1.0",
            ["--index-url", "https://pypi.cs.konkuk.example/simple", "kuploy-gitops==0.1.0"],
        ),
    ],
)
def test_the_install_step_passes_the_setting_as_pips_arguments(
    files: dict[str, str], tmp_path: Path, setting: str, args: list[str]
) -> None:
    """Each form docs/admin-guide.md gives for github.workflow_pip reaches pip as it should."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "args"
    for tool in ("python", "kuploy-gitops"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "{tool}" "$@" >> "{log}"\n')
        stub.chmod(0o755)
    run_step(
        step(files, "Install kuploy-gitops"),
        tmp_path,
        KUPLOY_PIP=setting,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )
    assert log.read_text().splitlines() == [
        "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        *args,
        "kuploy-gitops",
        "--version",
    ]
