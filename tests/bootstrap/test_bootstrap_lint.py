"""Static checks of cluster-bootstrap: ansible-lint (production profile), syntax-check, yamllint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from bootstrap_helpers import BOOTSTRAP, ansible_env

# Every playbook at the top (site, add-node, reset, upgrade, restore, ...) and the test helpers.
PLAYBOOKS = [*sorted(p.name for p in BOOTSTRAP.glob("*.yml")), *sorted(
    str(p.relative_to(BOOTSTRAP)) for p in (BOOTSTRAP / "tests").glob("*.yml")
)]  # fmt: skip


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install the project's test extra)")
    return found


def run(cmd: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=BOOTSTRAP, env=ansible_env(home), capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "tmp").mkdir()
    return tmp_path


def test_syntax_check(home: Path) -> None:
    # One ansible-playbook run checks every playbook (about 1.2 s of start-up each otherwise).
    proc = run(
        [tool("ansible-playbook"), "--syntax-check", "-i", "inventory/example/hosts.yml",
         "-e", "node=lab-b204-01", "-e", "target=lab-b204-02", *PLAYBOOKS],
        home,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == [word for name in PLAYBOOKS for word in ("playbook:", name)]


def test_yamllint_clean(home: Path) -> None:
    proc = run([tool("yamllint"), "--strict", "."], home)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_ansible_lint_production_profile(home: Path) -> None:
    proc = run([tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor"], home)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Profile 'production' was required, and it passed" in output


def test_only_builtin_and_pypi_ansible_collections_are_used() -> None:
    allowed = ("ansible.builtin.", "community.general.", "ansible.posix.", "kubernetes.core.")
    for path in BOOTSTRAP.rglob("*.yml"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.endswith(":") and stripped.count(".") >= 2 and " " not in stripped:
                module = stripped[:-1].lstrip("- ")
                if module.split(".")[0] in {"ansible", "community", "kubernetes"}:
                    assert module.startswith(allowed), f"{path}: {module}"
