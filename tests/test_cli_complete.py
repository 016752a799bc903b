"""Global options anywhere on the line, and shell completion of commands, students and apps."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from kuploy_gitops import api
from kuploy_gitops.cli import hoist_global_options, main
from kuploy_gitops.cli.complete import COMPLETE_VAR


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo repo for the module (these tests only read it), made with a test git identity."""
    home = tmp_path_factory.mktemp("complete")
    (home / "gitconfig").write_text("[user]\n\tname = Test Admin\n\temail = admin@example.test\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        api.demo(home / "demo")
    return home / "demo"


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        (["list", "-C", "d"], ["-C", "d", "list"]),
        (["list", "-Cd"], ["-Cd", "list"]),
        (["-C", "a", "app", "list", "k", "-C", "b"], ["-C", "a", "-C", "b", "app", "list", "k"]),
        (["app", "add", "k", "w", "--", "-C", "x"], ["app", "add", "k", "w", "--", "-C", "x"]),
        (["--version"], ["--version"]),
        (["list", "-C"], ["list", "-C"]),  # no value: click names the missing value
    ],
)
def test_global_options_are_taken_from_anywhere(typed: list[str], parsed: list[str]) -> None:
    assert hoist_global_options(typed) == parsed


def test_list_with_dash_c_after_the_command(demo_repo: Path) -> None:
    before = CliRunner().invoke(main, ["-C", str(demo_repo), "list", "-o", "json"])
    after = CliRunner().invoke(main, ["list", "-o", "json", "-C", str(demo_repo)])
    assert after.exit_code == 0, after.output
    assert after.output == before.output and "kim-minji" in after.output
    nested = CliRunner().invoke(main, ["app", "show", "kim-minji", "web", "-C", str(demo_repo)])
    assert nested.exit_code == 0 and "web" in nested.output


def completions(args: list[str], incomplete: str) -> list[str]:
    done = ShellComplete(main, {}, "kuploy-gitops", COMPLETE_VAR)
    return [item.value for item in done.get_completions(args, incomplete)]


def test_students_and_apps_complete_from_the_repo(demo_repo: Path) -> None:
    repo = str(demo_repo)
    assert completions(["-C", repo, "app", "show"], "") == ["kim-minji", "lee-jun", "park-seoyeon"]
    assert completions(["-C", repo, "offboard"], "le") == ["lee-jun"]
    assert completions(["app", "show", "kim-minji", "-C", repo], "") == ["web"]
    assert completions(["-C", repo, "app", "show", "nobody"], "") == []
    assert completions(["-C", str(demo_repo / "missing"), "offboard"], "") == []
    assert "onboard" in completions([], "onb")
    assert completions(["-C", repo, "secret", "set"], "k") == ["kim-minji"]
    assert completions(["-C", repo, "secret", "list", "kim-minji"], "") == ["web"]
    assert completions(["-C", repo, "db", "remove", "kim-minji"], "") == []  # no database
    assert completions(["-C", repo, "restore"], "") == []  # nobody archived


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0 and COMPLETE_VAR in result.output
    assert f"{shell}_complete" in result.output or shell == "fish" and "fish_" in result.output


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["completion", "powershell"])
    assert result.exit_code == 2 and "'powershell' is not one of" in result.output
