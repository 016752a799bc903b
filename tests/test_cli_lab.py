"""`kuploy-gitops lab`: the timetable at a time, as a table and as JSON; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kuploy_gitops import cli, yamlio
from kuploy_gitops.ops.platform import InitOptions, init

SLOTS = [
    {"day": "tue", "start": "09:00", "end": "10:15"},
    {"day": "tue", "start": "10:30", "end": "11:45"},
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab") / "platform"
    init(InitOptions(repo=path))
    config_file = path / "kuploy.yaml"
    data = yamlio.load(config_file.read_text())
    data["timetable"]["rooms"] = {
        "b204": {"slots": SLOTS},
        "c301": {"slots": [{"day": "wed", "start": "13:00", "end": "14:00"}]},
    }
    config_file.write_text(yamlio.dump(data))
    return path


def lab(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli.main, ["-C", str(repo), "lab", *args], env={"NO_COLOR": "1", "COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


def as_json(repo: Path, at: str) -> dict[str, object]:
    code, out, err = lab(repo, "--at", at, "-o", "json")
    assert code == 0, err
    return dict(json.loads(out))


def test_in_class(repo: Path) -> None:
    report = as_json(repo, "2026-12-01 09:30")  # a Tuesday
    assert report["at"] == "2026-12-01T09:30+09:00"
    assert report["rooms"] == [
        {
            "room": "b204",
            "state": "in-class",
            "class": "tue 09:00-10:15",
            "since": "2026-12-01T08:45+09:00",
            "until": "2026-12-01T11:45+09:00",
        },
        {
            "room": "c301",
            "state": "free",
            "class": "wed 13:00-14:00",
            "since": "2026-11-25T14:00+09:00",
            "until": "2026-12-02T12:45+09:00",
        },
    ]
    assert report["taken"] == ["b204"]
    assert report["tenant_nodes"] == "kuploy.io/pool=lab,kuploy.io/room notin (b204)"


def test_in_the_lead_time_and_in_a_break(repo: Path) -> None:
    for at in ("2026-12-01 08:45", "2026-12-01 10:20"):
        (b204, _) = as_json(repo, at)["rooms"]  # type: ignore[misc]
        assert b204["state"] == "before-class", at
    assert as_json(repo, "2026-12-01 08:44")["taken"] == []


def test_free_and_a_time_with_an_offset(repo: Path) -> None:
    # 04:00 UTC is 13:00 in Seoul: c301 in class, b204 free since 11:45.
    report = as_json(repo, "2026-12-02T04:00+00:00")
    assert report["at"] == "2026-12-02T13:00+09:00"
    assert [(r["room"], r["state"]) for r in report["rooms"]] == [  # type: ignore[attr-defined]
        ("b204", "free"),
        ("c301", "in-class"),
    ]
    assert report["tenant_nodes"] == "kuploy.io/pool=lab,kuploy.io/room notin (c301)"


def test_table(repo: Path) -> None:
    code, out, _ = lab(repo, "--at", "2026-12-01 10:20", "--room", "b204")
    assert code == 0
    assert "at 2026-12-01T10:20+09:00 (Asia/Seoul)" in out
    row = next(line for line in out.splitlines() if "b204" in line)
    for cell in ("before class", "tue 10:30-11:45", "2026-12-01 08:45", "2026-12-01 11:45"):
        assert cell in row
    assert "c301" not in out
    assert "kubectl get nodes -l 'kuploy.io/pool=lab,kuploy.io/room notin (b204)'" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "tomorrow"), "error: --at 'tomorrow' is not a time"),
        (("--room", "z999"), "error: unknown room 'z999' (the timetable's rooms: b204, c301)"),
    ],
)
def test_bad_input_is_one_line_and_exit_4(repo: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = lab(repo, *args)
    assert code == 4 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli.main, ["lab", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and "--at" in result.stdout
