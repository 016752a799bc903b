"""CLI wiring of the term commands: the bulk offboard prompt, --yes, JSON output, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import term_repo
from click.testing import CliRunner
from helpers import commit_count, git, isolated_env

from kuploy_gitops import layout
from kuploy_gitops.cli import main, output


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("cli-term")
    with isolated_env(base):
        yield term_repo.build(base / "platform")


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return term_repo.copy(template, tmp_path)


def invoke(repo: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["-C", str(repo), *args], input=stdin, env={"NO_COLOR": "1", "COLUMNS": "200"}
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_bulk_offboard_asks_on_a_terminal_and_refuses_without_one(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = commit_count(repo)
    code, out = invoke(repo, "offboard", "--term", "2026-2", "--archive")  # stdin: not a tty
    assert code == 2
    assert "offboard 3 tenant(s) (2 in cs101 2026-2, 1 in cs202 2026-2): kim, lee, park" in out
    assert "there is no terminal to ask on" in out
    assert "run `kuploy-gitops offboard --term 2026-2 --yes`" in out
    monkeypatch.setattr(output, "stdin_is_tty", lambda: True)
    code, out = invoke(repo, "offboard", "--course", "cs101", stdin="n\n")
    assert code == 0 and "not confirmed: nothing changed." in out
    assert commit_count(repo) == commits
    code, out = invoke(repo, "offboard", "--course", "cs101", "--archive", stdin="y\n")
    assert code == 0, out
    assert "offboarded: kim, lee" in out
    assert commit_count(repo) == commits + 1
    body = git(repo, "log", "-1", "--format=%B")
    assert body.startswith("kuploy: offboard 2 student(s) (course cs101), specs archived\n")
    assert "- kim\n- lee" in body
    assert (repo / layout.archived_spec("kim")).is_file()


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_bulk_offboard_with_yes_and_by_expiry(repo: Path) -> None:
    code, out = invoke(repo, "offboard", "lee", "kim")  # several named students: asked too
    assert code == 2 and "no terminal to ask on" in out
    code, out = invoke(repo, "offboard", "--expired", "--today", "2027-03-01", "--yes")
    assert code == 0, out
    assert "offboarded: kim, park" in out
    code, out = invoke(repo, "offboard", "--term", "2026-2", "--verify")
    assert code == 2 and "--verify waits for one student" in out
    # One student is asked too (it deletes); a dry run is never asked.
    code, out = invoke(repo, "offboard", "lee")
    assert code == 2 and "run `kuploy-gitops offboard lee --yes`" in out
    code, out = invoke(repo, "offboard", "lee", "--dry-run")
    assert code == 0 and "dry run:" in out and "terminal" not in out


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_suspend_list_resume_extend_and_expire(repo: Path) -> None:
    code, out = invoke(repo, "suspend", "--course", "cs101")
    assert code == 0 and "suspended: kim, lee" in out
    code, out = invoke(repo, "list", "-o", "json")
    status = {r["student"]: r["status"] for r in json.loads(out)}
    assert status["kim"] == "suspended" and status["park"] in ("active", "expired")
    code, out = invoke(repo, "list")
    assert "status" in out and "suspended" in out
    code, out = invoke(repo, "list", "-l", "status=suspended", "-o", "name")
    assert code == 0 and out.split() == ["kim", "lee"]
    code, out = invoke(repo, "resume", "kim")
    assert code == 0 and "resumed: kim" in out
    code, out = invoke(repo, "extend", "--term", "2026-2", "--until", "2027-08-31")
    assert code == 0 and "extended until 2027-08-31: kim, lee, park" in out
    code, out = invoke(repo, "extend", "kim", "--until", "2027-01-01", "--today", "2027-02-01")
    assert code == 4
    assert out.strip().splitlines() == [
        "error: expiry date 2027-01-01 is in the past; give a date from today on"
    ]
    code, out = invoke(repo, "expire", "--today", "2027-08-25", "--warn-days", "10", "-o", "json")
    assert code == 0, out
    data = json.loads(out)
    assert [r["student"] for r in data["expiring"]] == ["kim", "park"]  # lee is suspended
    assert data["suspended"] == [] and data["today"] == "2027-08-25"
    code, out = invoke(repo, "expire", "--today", "2027-09-01")
    assert code == 0 and "suspended (expired): 2" in out and "kim" in out


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_restore(repo: Path) -> None:
    invoke(repo, "offboard", "park", "--archive", "--yes")
    code, out = invoke(repo, "restore", "park", "--until", "2027-06-30")
    assert code == 0 and "kuploy: restore student park" in out
    code, out = invoke(repo, "restore", "park")
    assert code == 5 and "onboarded already" in out


@pytest.mark.parametrize("command", ["suspend", "resume", "extend", "restore", "expire"])
def test_help_has_examples(command: str, tmp_path: Path) -> None:
    code, out = invoke(tmp_path, command, "--help")
    assert code == 0 and "Examples:" in out and f"kuploy-gitops {command}" in out
