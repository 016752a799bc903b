"""``lab``: the class timetable at a given time (read-only)."""

from __future__ import annotations

import click

from kuploy_gitops.cli.output import Ctx, escape, examples, output_option, pass_ctx, print_data

STATE_TEXT = {
    "in-class": "[red]in class[/]",
    "before-class": "[yellow]before class[/]",
    "free": "[green]free[/]",
}


@click.command(
    "lab",
    help="Show which rooms are in class (or about to be) and where tenant pods may run. "
    "Reads kuploy.yaml's timetable; --at is in its time zone unless it carries an offset."
    + examples(
        "kuploy-gitops lab",
        'kuploy-gitops lab --at "2026-12-01 10:00"',
        'kuploy-gitops lab --at "2026-12-01T01:00+00:00" --room b204 -o json',
    ),
)
@click.option(
    "--at", "at", metavar="'YYYY-MM-DD HH:MM'", help="The time to ask about (default: now)."
)
@click.option("--room", "rooms", multiple=True, help="Show only this room (repeatable).")
@output_option("table", "json")
@pass_ctx
def lab(ctx: Ctx, at: str | None, rooms: tuple[str, ...], output: str) -> None:
    """Show the class timetable at a time."""
    from kuploy_gitops.ops.lab import lab_status

    report = lab_status(ctx.repo, at, rooms)
    if output == "json":
        print_data(report, "json")
        return
    from rich.table import Table

    ctx.console.print(f"at {escape(report['at'])} ({escape(report['time_zone'])})")
    if not report["rooms"]:
        ctx.console.print(
            "no rooms in kuploy.yaml's timetable: tenant pods may use the whole pool."
        )
    else:
        table = Table("room", "state", "class", "since", "until")
        for r in report["rooms"]:
            table.add_row(
                escape(r["room"]),
                STATE_TEXT[r["state"]],
                escape(r["class"]),
                escape(_local(r["since"])),
                escape(_local(r["until"])),
            )
        ctx.console.print(table)
    selector = report["tenant_nodes"]
    ctx.console.print(
        f"tenant pods may run on: kubectl get nodes -l '{escape(selector)}'"
        if selector
        else "tenant pods may run on: any node without a taint"
    )


def _local(iso: str) -> str:
    """``2026-12-01T08:45+09:00`` as ``2026-12-01 08:45`` (the zone is in the heading)."""
    return iso[:16].replace("T", " ")
