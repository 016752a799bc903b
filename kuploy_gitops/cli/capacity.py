"""``capacity`` and ``report``: how many more students fit, as a table, JSON or a page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kuploy_gitops.cli.output import Ctx, escape, examples, output_option, pass_ctx, print_data

F = TypeVar("F", bound=Callable[..., Any])


def node_source_options(f: F) -> F:
    """--nodes, --kubeconfig, --context and --at: where the nodes come from, and when."""
    for option in reversed(
        [
            click.option(
                "--nodes",
                "nodes_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Nodes from a `kubectl get nodes -o json` file.",
            ),
            click.option(
                "--kubeconfig",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Nodes from the live cluster this kubeconfig points at.",
            ),
            click.option("--context", help="The kubeconfig's context (default: its current one)."),
            click.option(
                "--at",
                "at",
                metavar="'YYYY-MM-DD HH:MM'",
                help="The time for 'now' (in the timetable's zone; default: now).",
            ),
        ]
    ):
        f = option(f)
    return f


@click.command(
    "capacity",
    help="Show the tenants' nodes, the sum of every tenant's quota, overcommit, headroom and how "
    "many more students of each tier fit: now and at the worst hour of the week (when the class "
    "timetable takes rooms). Nodes come from --kubeconfig, --nodes, or kuploy.yaml's capacity:."
    + examples(
        "kuploy-gitops capacity",
        "kuploy-gitops capacity --kubeconfig ~/.kube/config",
        "kubectl get nodes -o json > nodes.json && kuploy-gitops capacity --nodes nodes.json",
        'kuploy-gitops capacity --at "2026-12-02 10:00" -o json',
    ),
)
@node_source_options
@output_option("table", "json")
@pass_ctx
def capacity_cmd(
    ctx: Ctx,
    nodes_file: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    at: str | None,
    output: str,
) -> None:
    """Show capacity."""
    from kuploy_gitops.ops.capacity import capacity_report

    report = capacity_report(
        ctx.repo, nodes_file=nodes_file, kubeconfig=kubeconfig, context=context, at=at
    )
    if output == "json":
        print_data(report, "json")
        return
    _print_report(ctx, report)


# Short names, so the tables fit 80 columns when piped ("ephemeral": ephemeral-storage).
SHORT = {"cpu": "cpu", "memory": "memory", "ephemeral-storage": "ephemeral"}


def _print_report(ctx: Ctx, report: dict[str, Any]) -> None:
    from rich.table import Table

    from kuploy_gitops.capacity import NODE_RESOURCES, human

    tiers = ", ".join(f"{n} {t['tenants']}" for n, t in report["tiers"].items())
    if report["suspended"]:
        tiers += f"; {report['suspended']} suspended, counted in no sum"
    ctx.console.print(
        f"nodes from {escape(report['source'])}; {report['tenants']} tenants ({escape(tiers)}); "
        f"at {escape(report['at'][:16].replace('T', ' '))} ({escape(report['time_zone'])})"
    )
    groups = Table("room / pool", "nodes", "tenants'", *SHORT.values(), "not for tenants")
    for g in report["groups"]:
        groups.add_row(
            escape(g["group"]),
            str(g["nodes"]),
            str(g["tenant_nodes"]),
            *(human(r, g["allocatable"][r]) for r in NODE_RESOURCES),
            escape(", ".join(f"{n} {why}" for why, n in g["excluded"].items())),
        )
    ctx.console.print(groups)
    now, worst = report["now"], report["worst"]
    table = Table(
        "",
        f"now ({now['when']})",
        f"worst ({worst['from']}-{worst['until']})",
        title="the tenants' pool (requests and limits: the sum of every tenant's quota)",
    )
    table.add_row("rooms taken", *(escape(", ".join(s["taken"]) or "none") for s in (now, worst)))
    table.add_row("tenants' nodes", str(now["nodes"]), str(worst["nodes"]))
    for res in NODE_RESOURCES:
        table.add_row(
            f"allocatable {SHORT[res]}", *(human(res, s["allocatable"][res]) for s in (now, worst))
        )
        table.add_row(
            f"headroom {SHORT[res]}", *(_headroom(res, s["headroom"][res]) for s in (now, worst))
        )
        table.add_row(
            f"overcommit {SHORT[res]}", *(_ratio(s["overcommit"][res]) for s in (now, worst))
        )
    for name in report["tiers"]:
        table.add_row(f"more {escape(name)} fit", *(_fits(s["fits"][name]) for s in (now, worst)))
    ctx.console.print(table)
    quota, vol = report["quota"], report["volumes"]
    for kind in ("requests", "limits"):
        sums = ", ".join(f"{r} {human(r, quota[kind][r])}" for r in NODE_RESOURCES)
        ctx.console.print(f"quota {kind} of all tenants: {sums}")
    size = "undeclared (capacity.volume_storage)"
    if vol["capacity"] is not None:
        size = human("storage", vol["capacity"])
    ctx.console.print(
        f"volumes on {escape(vol['storage_class'])}: requests.storage "
        f"{human('storage', vol['requested'])} of {size}"
    )
    ctx.console.print(f"the worst hour next begins {escape(worst['next'][:16].replace('T', ' '))}")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _headroom(res: str, value: float) -> str:
    from kuploy_gitops.capacity import human

    return f"[red]{human(res, value)}[/]" if value < 0 else human(res, value)


def _fits(f: dict[str, Any]) -> str:
    if f["count"] is None:
        return "-"
    return f"{f['count']} ({escape(f['binding'])})"


@click.command(
    "report",
    help="Write a static page (DIR/index.html; no server, works offline) with the week's "
    "capacity as a chart, the tenants with tier, apps, expiry and status, and who is about to "
    "expire. Its numbers are those of `capacity -o json` (embedded in the page)."
    + examples(
        "kuploy-gitops report --out site",
        "kuploy-gitops report --out site --kubeconfig ~/.kube/config --warn-days 7",
    ),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write index.html into (created if missing).",
)
@click.option(
    "--warn-days",
    type=int,
    default=14,
    show_default=True,
    help="List tenants expiring within this many days.",
)
@node_source_options
@pass_ctx
def report_cmd(
    ctx: Ctx,
    out: Path,
    warn_days: int,
    nodes_file: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    at: str | None,
) -> None:
    """Write the capacity page."""
    from kuploy_gitops.ops.report import write_report

    page = write_report(
        ctx.repo,
        out,
        nodes_file=nodes_file,
        kubeconfig=kubeconfig,
        context=context,
        at=at,
        warn_days=warn_days,
    )
    ctx.console.print(f"wrote {escape(str(page))}")
