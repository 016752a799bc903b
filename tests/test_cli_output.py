"""Tables: never cut to a width; boxed only when they fit the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from kuploy_gitops.cli.output import Ctx, print_table

COLUMNS = ["student", "app", "sync", "reason"]
REASON = "pod web-7d9 is forbidden: violates PodSecurity restricted:latest: runAsNonRoot != true"
ROWS = [["kim-minji", "web", "OutOfSync", REASON], ["lee", "api", "Synced", ""]]


def ctx_with(console: Console) -> Ctx:
    ctx = Ctx(Path())
    ctx.__dict__["console"] = console  # the cached property, as a terminal or a pipe
    return ctx


def test_piped_tables_are_plain_columns_never_cut(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(ctx_with(Console(force_terminal=False, width=80)), COLUMNS, ROWS)
    assert capsys.readouterr().out.splitlines() == [
        "student     app   sync        reason",
        f"kim-minji   web   OutOfSync   {REASON}",
        "lee         api   Synced",
    ]
    print_table(ctx_with(Console(force_terminal=False)), COLUMNS, ROWS, headers=False)
    assert capsys.readouterr().out.splitlines()[0].startswith("kim-minji   web")


@pytest.mark.parametrize(("width", "boxed"), [(80, False), (200, True)])
def test_a_terminal_gets_a_box_only_when_the_table_fits(
    capsys: pytest.CaptureFixture[str], width: int, boxed: bool
) -> None:
    console = Console(force_terminal=True, width=width, no_color=True)
    print_table(ctx_with(console), COLUMNS, ROWS)
    out = capsys.readouterr().out
    assert ("┃" in out) is boxed
    assert REASON in out  # whole: no word per line, no ellipsis
