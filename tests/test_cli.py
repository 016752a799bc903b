"""CLI wiring: options reach the api, errors become one red line and the right exit code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import __version__, cli, layout, tenant_spec


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli.main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_version_and_module_entry() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and __version__ in out
    proc = subprocess.run(
        [sys.executable, "-m", "kuploy_gitops", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert __version__ in proc.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["onboard"],
        ["app"],
        ["app", "add"],
        ["app", "remove"],
        ["app", "set"],
        ["app", "show"],
        ["offboard"],
        ["render"],
        ["list"],
        ["demo"],
    ],
)
def test_every_command_has_help_with_examples(command: list[str]) -> None:
    code, out, _ = invoke(*command, "--help")
    assert code == 0
    assert "Examples:" in out and "kuploy-gitops" in out


def test_init_onboard_app_list_through_cli(tmp_path: Path) -> None:
    repo = tmp_path / "p"
    code, out, _ = invoke("init", str(repo))
    assert code == 0 and "committed" in out and "kubectl apply" in out
    code, out, _ = invoke("init", str(repo))
    assert code == 0 and "nothing to do" in out
    code, out, _ = invoke(
        "-C", str(repo), "onboard", "kim", "--github", "kimgh", "--course", "cs101"
    )
    assert code == 0 and "onboard student kim" in out
    code, out, _ = invoke(
        "-C",
        str(repo),
        "app",
        "add",
        "kim",
        "web",
        "--image",
        "ghcr.io/konkuk-kuploy/w:1",
        "--port",
        "8080",
        "--env",
        "A=1",
        "--env",
        "B=x=y",
    )
    assert code == 0
    # The app's URL: the default host pattern {app}-{student}.{domain}, init's default domain.
    assert "URL: https://web-kim.apps.konkuk.example/" in out.splitlines()
    spec = tenant_spec.read_spec(repo, "kim")
    assert spec is not None and spec.apps[0].env == (("A", "1"), ("B", "x=y"))
    code, out, _ = invoke("-C", str(repo), "list", "-o", "json")
    assert json.loads(out)[0]["apps"] == ["web"]
    code, out, _ = invoke("-C", str(repo), "list")
    assert "kim" in out and "cs101" in out
    code, out, _ = invoke("-C", str(repo), "list", "-o", "yaml")
    assert "student: kim" in out


def test_kuploy_repo_env_sets_the_repo(platform: Path) -> None:
    code, out, _ = invoke("onboard", "lee", env={"KUPLOY_REPO": str(platform)})
    assert code == 0
    assert tenant_spec.read_spec(platform, "lee") is not None


def test_dry_run_prints_diff_and_writes_nothing(platform: Path) -> None:
    before, count = tree_snapshot(platform), commit_count(platform)
    code, out, _ = invoke("-C", str(platform), "onboard", "kim", "--dry-run")
    assert code == 0
    assert "+++ b/" + layout.tenant_spec("kim") in out and "nothing written" in out
    assert tree_snapshot(platform) == before and commit_count(platform) == count


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["onboard", "Bad_Name"], 4, "'Bad_Name'"),
        (["onboard", "kim", "--tier", "gold"], 4, "tier 'gold'"),
        (["onboard", "kim", "--expires", "2000-01-01"], 4, "in the past"),
        (["app", "add", "nobody", "web", "--image", "x:1", "--port", "1"], 5, "not onboarded"),
        (
            ["app", "add", "kim", "web", "--image", "x:1", "--port", "1", "--env", "NOEQ"],
            4,
            "'NOEQ'",
        ),
        (["offboard", "nobody"], 5, "'nobody'"),
        (["onboard"], 2, "missing STUDENT"),
        (["app", "add", "kim", "api", "--repo", "file:///etc"], 4, "'file:///etc'"),
        (
            ["app", "add", "kim", "api", "--repo", "https://github.com/konkuk-kuploy/lee-api"],
            4,
            "named for student 'lee'",
        ),
    ],
)
def test_user_errors_are_one_red_line(
    platform: Path, args: list[str], code: int, needle: str
) -> None:
    from kuploy_gitops import api

    api.onboard(platform, api.OnboardOptions(student="kim"))
    api.onboard(platform, api.OnboardOptions(student="lee"))
    before = tree_snapshot(platform)
    got, out, err = invoke("-C", str(platform), *args)
    assert got == code
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert "Traceback" not in err + out
    assert tree_snapshot(platform) == before


def test_not_initialised_exit_3(tmp_path: Path) -> None:
    code, _, err = invoke("-C", str(tmp_path), "list")
    assert code == 3 and "kuploy-gitops init" in err


def test_render_check_exit_7_lists_drift(platform: Path) -> None:
    from kuploy_gitops import api

    api.onboard(platform, api.OnboardOptions(student="kim"))
    f = platform / layout.tenant_file("kim", "limitrange.yaml")
    f.write_text(f.read_text() + "# edited\n")
    g = platform / layout.tenant_file("kim", "rbac.yaml")
    g.write_text(g.read_text() + "# edited\n")
    code, _, err = invoke("-C", str(platform), "render", "--check")
    assert code == 7 and "limitrange.yaml" in err
    assert "drift: " + layout.tenant_file("kim", "rbac.yaml") in err


def test_roster_dry_run_is_a_summary_and_columns_map_headers(
    platform: Path, tmp_path: Path
) -> None:
    from kuploy_gitops import api

    api.onboard(platform, api.OnboardOptions(student="kim", name="Kim"))
    roster = tmp_path / "r.csv"
    roster.write_text("Hakbun,Full Name,Team\nkim,Kim Minji,red\nlee,Lee,blue\npark,Park,red\n")
    code, _, err = invoke("-C", str(platform), "onboard", "--roster", str(roster), "--dry-run")
    assert code == 4 and "no student column" in err and "--columns student=" in err
    head = git(platform, "rev-parse", "HEAD")
    args = ["-C", str(platform), "onboard", "--roster", str(roster), "--columns", "student=Hakbun"]
    code, out, err = invoke(*args, "--dry-run")
    assert code == 0, err
    assert out.splitlines() == [
        "new tenants: 2: lee, park",
        "changed tenants: 1: kim",
        "unchanged: 0; skipped rows: 0",
        out.splitlines()[-1],
    ]
    assert "would change; nothing written (--diff shows them)" in out and "+++" not in out
    assert "column 'Team' ignored" in err
    code, out, _ = invoke(*args, "--dry-run", "--diff")
    assert code == 0 and "+++ b/tenants/lee.yaml" in out
    assert git(platform, "rev-parse", "HEAD") == head
    code, _, err = invoke("-C", str(platform), "onboard", "choi", "--columns", "student=Hakbun")
    assert code == 2 and "--columns goes with --roster" in err


def test_an_invalid_name_comes_with_the_valid_one(platform: Path) -> None:
    code, _, err = invoke("-C", str(platform), "onboard", "Park_Jisoo")
    assert code == 4 and "did you mean 'park-jisoo'?" in err


def test_roster_errors_and_skip_invalid(platform: Path, tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("identifier,github_username,github_id,name\nok,,,\nBAD,,,\nx_y,,,\n")
    code, _, err = invoke("-C", str(platform), "onboard", "--roster", str(roster))
    assert code == 4 and "r.csv:3:" in err
    # Every bad row gets its own line, then the one error line.
    assert f"{roster}:3: " in err and f"{roster}:4: " in err
    assert err.strip().splitlines()[-1].startswith("error:")
    code, out, err = invoke(
        "-C", str(platform), "onboard", "--roster", str(roster), "--skip-invalid"
    )
    assert code == 0 and "skipped" in err and "r.csv:3" in err


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colour_codes(text: str) -> list[str]:
    """The SGR escape sequences of ``text`` that set a colour (bold, reset etc. are not colour)."""
    out = []
    for match in _SGR.finditer(text):
        params = [int(p) for p in match.group(1).split(";") if p]
        i = 0
        while i < len(params):
            p = params[i]
            if p in (38, 48):  # extended colour: 38;5;n or 38;2;r;g;b
                out.append(match.group(0))
                break
            if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 97 or 100 <= p <= 107:
                out.append(match.group(0))
                break
            i += 1
    return out


def test_colour_codes() -> None:
    assert colour_codes("\x1b[1;31mx\x1b[0m \x1b[38;5;197my \x1b[32mz") == [
        "\x1b[1;31m",
        "\x1b[38;5;197m",
        "\x1b[32m",
    ]
    assert colour_codes("\x1b[1mbold\x1b[0m \x1b[2K\x1b[?25l plain") == []


@pytest.mark.parametrize("no_color", ["", "1"])
def test_no_color_is_respected(platform: Path, no_color: str) -> None:
    """On a terminal (forced: FORCE_COLOR) errors are coloured, unless NO_COLOR is set."""
    env = {**os.environ, "TERM": "xterm-256color", "FORCE_COLOR": "1", "NO_COLOR": no_color}
    env.pop("TTY_COMPATIBLE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kuploy_gitops", "-C", str(platform), "onboard", "BAD"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 4 and "student name 'BAD' is not a DNS label" in proc.stderr
    if no_color:
        assert colour_codes(proc.stderr) == []
    else:
        assert colour_codes(proc.stderr) and "error:" in proc.stderr  # red, then the text


def test_demo_command(tmp_path: Path) -> None:
    code, out, _ = invoke("demo", str(tmp_path / "d"))
    assert code == 0 and "demo platform repo ready" in out
    assert len(tenant_spec.list_students(tmp_path / "d")) == 3
    code, out, _ = invoke("demo", str(tmp_path / "d"))  # re-running is harmless
    assert code == 0


def test_app_add_shares_another_students_repo_only_when_told(platform: Path) -> None:
    from kuploy_gitops import api

    for student in ("kim", "lee"):
        api.onboard(platform, api.OnboardOptions(student=student))
    url = "https://github.com/konkuk-kuploy/lee-api.git"
    args = ["-C", str(platform), "app", "add", "kim", "api", "--repo", url]
    assert invoke(*args)[0] == 4
    code, out, err = invoke(*args, "--other-students-repo")
    assert code == 0, err
    assert url in (platform / layout.application_file("kim", "api")).read_text()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Kim \x1b[31mred\x1b[0m", "Kim \\x1b\\[31mred\\x1b\\[0m"),
        ("evil\u202egpj.exe", "evil\\u202egpj.exe"),
        ("two\nlines\r", "two\\nlines\\r"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("김민지 [bold]", "김민지 \\[bold]"),
    ],
)
def test_text_shown_on_a_terminal_is_escaped(raw: str, shown: str) -> None:
    from kuploy_gitops.cli.output import escape

    assert escape(raw) == shown


def test_a_table_never_prints_raw_control_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from kuploy_gitops.cli.output import Ctx, print_table

    ctx = Ctx(tmp_path)
    print_table(
        ctx, ["student", "reason"], [["kim", "sync failed: \x1b]8;;http://x\x07link\u202e"]]
    )
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]8;;http://x\\x07link\\u202e" in out.replace("\n", "").replace(" ", "")


def test_an_error_line_never_prints_raw_control_characters(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kuploy_gitops.errors import ProviderError
    from kuploy_gitops.ops import tenants

    def refuse(*args: object, **kwargs: object) -> None:
        raise ProviderError("GitHub said: bad\x1b[2J\nname\u202e", hint="retry")

    monkeypatch.setattr(tenants, "onboard", refuse)
    code, out, err = invoke("-C", str(platform), "onboard", "kim")
    assert code == 10
    assert "\x1b" not in err and "\u202e" not in err
    assert err.strip() == "error: GitHub said: bad\\x1b[2J\\nname\\u202e; retry"


def test_app_remove_asks_on_a_terminal_and_refuses_without_one(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kuploy_gitops import api
    from kuploy_gitops.cli import output

    api.onboard(platform, api.OnboardOptions(student="kim"))
    api.app_add(platform, api.AppOptions(student="kim", app="web", image="nginx:1", port=8080))
    head = git(platform, "rev-parse", "HEAD")
    remove = ["-C", str(platform), "app", "remove", "kim", "web"]
    code, _, err = invoke(*remove)  # no terminal, no --yes
    assert code == 2 and "run `kuploy-gitops app remove kim web --yes` in scripts" in err
    monkeypatch.setattr(output, "stdin_is_tty", lambda: True)
    result = CliRunner().invoke(cli.main, remove, input="n\n")
    assert result.exit_code == 0 and "Remove app 'web' of 'kim'?" in result.stderr
    assert "not confirmed: nothing changed." in result.stderr
    assert git(platform, "rev-parse", "HEAD") == head
    code, out, _ = invoke(*remove, "--dry-run")  # a dry run asks nothing
    assert code == 0 and "dry run" in out and git(platform, "rev-parse", "HEAD") == head
    result = CliRunner().invoke(cli.main, remove, input="y\n")
    assert result.exit_code == 0 and "committed" in result.stdout
    api.app_add(platform, api.AppOptions(student="kim", app="web", image="nginx:1", port=8080))
    monkeypatch.setattr(output, "stdin_is_tty", lambda: False)
    code, out, _ = invoke(*remove, "--yes")
    assert code == 0 and "committed" in out


def test_list_selectors_wide_name_and_no_headers(platform: Path) -> None:
    from kuploy_gitops import api

    for student, course in (("kim", "cs101"), ("lee", "cs101"), ("park", "cs202")):
        api.onboard(
            platform,
            api.OnboardOptions(student=student, course=course, name=student.title(), email=""),
        )
    base = ["-C", str(platform), "list"]
    code, out, _ = invoke(*base, "-l", "course=cs101", "-o", "name")
    assert code == 0 and out.splitlines() == ["kim", "lee"]
    code, out, _ = invoke(*base, "-l", "course!=cs101", "-o", "wide", "--no-headers")
    assert code == 0 and out.split() == ["park", "Park", "small", "cs202", "active"]
    code, out, _ = invoke(*base, "-o", "json")
    assert json.loads(out)[0]["name"] == "Kim" and "email" in json.loads(out)[0]
    code, _, err = invoke(*base, "-l", "room=a")
    assert code == 4 and "selector key 'room' is not a column" in err
