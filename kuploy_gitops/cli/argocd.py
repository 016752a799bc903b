"""The Argo CD commands (register, status, sync, token): parse, call argocd.ops, print.

No HTTP here: every call goes through :mod:`kuploy_gitops.argocd.ops`, imported when a command
runs (httpx is slow to import). Wait progress is shown live on stderr (one line per change when
stderr is not a terminal, e.g. in CI logs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kuploy_gitops.argocd.model import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_WAIT, AppState
from kuploy_gitops.cli import complete
from kuploy_gitops.cli.output import (
    Ctx,
    escape,
    examples,
    output_option,
    pass_ctx,
    print_data,
    print_table,
)
from kuploy_gitops.errors import UsageError

if TYPE_CHECKING:
    from kuploy_gitops.argocd.client import ArgoCDClient
    from kuploy_gitops.argocd.ops import AppResult

F = TypeVar("F", bound=Callable[..., Any])

CONNECTION_HELP = (
    "\n\nArgo CD: server from --server, ARGOCD_SERVER or kuploy.yaml; auth from "
    "ARGOCD_AUTH_TOKEN, or ARGOCD_USERNAME + ARGOCD_PASSWORD (session login). ARGOCD_OPTS may "
    "carry --insecure and --grpc-web-root-path."
)


def connection_options(f: F) -> F:
    """The shared ``--server/--insecure/--ca-file/--grpc-web-root-path/--timeout`` options."""
    options = [
        click.option(
            "--server",
            default="",
            help="Argo CD URL (default: ARGOCD_SERVER, then argocd.server in kuploy.yaml).",
        ),
        click.option(
            "--insecure", is_flag=True, help="Skip TLS verification (trusted lab networks only)."
        ),
        click.option(
            "--ca-file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            default=None,
            help="PEM CA bundle to verify Argo CD's certificate.",
        ),
        click.option(
            "--grpc-web-root-path",
            "root_path",
            default="",
            help="Path prefix when Argo CD is served under a sub-path, e.g. argocd.",
        ),
        click.option(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            show_default=True,
            help="Seconds to wait for each API call.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def wait_options(f: F) -> F:
    """``--wait-timeout`` and ``--poll-interval`` for commands that wait."""
    f = click.option(
        "--poll-interval",
        type=float,
        default=DEFAULT_INTERVAL,
        show_default=True,
        help="Seconds between status polls while waiting.",
    )(f)
    return click.option(
        "--wait-timeout",
        type=float,
        default=DEFAULT_WAIT,
        show_default=True,
        help="Seconds to wait for synced and healthy.",
    )(f)


def _connect(
    ctx: Ctx, server: str, insecure: bool, ca_file: Path | None, root_path: str, timeout: float
) -> ArgoCDClient:
    from kuploy_gitops.argocd import ops

    return ops.connect(
        ctx.repo,
        ops.ConnectOptions(
            server=server, insecure=insecure, ca_file=ca_file, root_path=root_path, timeout=timeout
        ),
    )


def _quiet(state: AppState) -> None:
    del state


@contextmanager
def _live(ctx: Ctx, label: str, enabled: bool = True) -> Iterator[Callable[[AppState], None]]:
    """A progress callback showing each app's state on stderr while waiting."""
    if not enabled:
        yield _quiet
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    last: dict[str, str] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=ctx.err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def report(state: AppState) -> None:
            line = f"{state.name}: {state.summary()}"
            bar.update(task, description=escape(line))
            if not ctx.err.is_terminal and last.get(state.name) != line:
                ctx.err.print(escape(line))
            last[state.name] = line

        yield report


def _print_results(ctx: Ctx, results: Sequence[AppResult], output: str) -> None:
    if output == "json":
        print_data([r.to_data() for r in results], "json")
        return
    rows = []
    for r in results:
        data = r.to_data()
        rows.append(
            [
                r.student,
                r.app,
                r.action,
                data.get("result", "-"),
                data.get("state", "-"),
                data.get("reason", ""),
            ]
        )
    print_table(ctx, ["student", "application", "action", "result", "state", "reason"], rows)


@click.command(
    help="Upsert a student's rendered AppProject and Applications (from the repo) into Argo CD, "
    "so they are live now instead of at the next poll; optionally sync and wait."
    + examples(
        "kuploy-gitops register kim-minji",
        "kuploy-gitops register --all --sync --wait",
        "kuploy-gitops register kim-minji --server https://argocd.lab.example --ca-file ca.pem",
    )
    + CONNECTION_HELP
)
@click.argument("student", shell_complete=complete.students, required=False)
@click.option("--all", "all_students", is_flag=True, help="Register every onboarded student.")
@click.option("--sync", "do_sync", is_flag=True, help="Sync each Application after upserting.")
@click.option("--wait", is_flag=True, help="With --sync: wait until synced and healthy.")
@wait_options
@output_option("table", "json")
@connection_options
@pass_ctx
def register(
    ctx: Ctx,
    student: str | None,
    all_students: bool,
    do_sync: bool,
    wait: bool,
    wait_timeout: float,
    poll_interval: float,
    output: str,
    server: str,
    insecure: bool,
    ca_file: Path | None,
    root_path: str,
    timeout: float,
) -> None:
    """Register tenants in Argo CD."""
    from kuploy_gitops.argocd import ops

    if bool(student) == all_students:
        raise UsageError("give one STUDENT or --all", hint="e.g. `register kim-minji`")
    with (
        _connect(ctx, server, insecure, ca_file, root_path, timeout) as client,
        _live(ctx, "waiting for Argo CD", enabled=wait) as report,
    ):
        results = ops.register(
            client,
            ctx.repo,
            None if all_students else [student or ""],
            sync=do_sync,
            wait=wait,
            timeout=wait_timeout,
            interval=poll_interval,
            progress=report,
        )
    apps = [a for r in results for a in r.apps]
    if output == "table":
        for r in results:
            ctx.console.print(
                f"[green]registered[/] AppProject {r.project} and {len(r.apps)} Application(s)"
            )
    _print_results(ctx, apps, output)
    ops.ensure_ready(apps)


@click.command(
    help="Show each app's sync, health, revision, last operation and, for anything not "
    "healthy, the first concrete reason (Pod Security, quota, image pull, crash loop, probe)."
    + examples("kuploy-gitops status", "kuploy-gitops status kim-minji -o json")
    + CONNECTION_HELP
)
@click.argument("student", shell_complete=complete.students, required=False)
@output_option("table", "json")
@connection_options
@pass_ctx
def status(
    ctx: Ctx,
    student: str | None,
    output: str,
    server: str,
    insecure: bool,
    ca_file: Path | None,
    root_path: str,
    timeout: float,
) -> None:
    """Status of students' apps."""
    from kuploy_gitops.argocd import ops

    with _connect(ctx, server, insecure, ca_file, root_path, timeout) as client:
        rows = ops.status(client, ctx.repo, student)
    if output == "json":
        print_data(rows, "json")
        return
    print_table(
        ctx,
        ["student", "app", "sync", "health", "revision", "last operation", "reason"],
        [
            [
                r["student"],
                r["app"],
                r["sync"],
                r["health"],
                r["revision"][:8] or "-",
                r["last_operation"],
                r["reason"],
            ]
            for r in rows
        ],
    )


@click.command(
    help="Sync a student's app (or all their apps) now; optionally wait until healthy."
    + examples(
        "kuploy-gitops sync kim-minji web --wait",
        "kuploy-gitops sync kim-minji --prune",
        "kuploy-gitops sync kim-minji web --resource apps:Deployment:web --dry-run",
    )
    + CONNECTION_HELP
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app", required=False, shell_complete=complete.apps)
@click.option("--prune", is_flag=True, help="Delete resources no longer in git.")
@click.option("--revision", default="", help="Sync to this git revision instead of the target.")
@click.option(
    "--resource",
    "resources",
    multiple=True,
    metavar="GROUP:KIND:NAME",
    help="Sync only this object (repeatable), e.g. apps:Deployment:web.",
)
@click.option("--dry-run", is_flag=True, help="Let Argo CD check the sync without applying.")
@click.option("--wait", is_flag=True, help="Wait until synced and healthy (or failed).")
@wait_options
@output_option("table", "json")
@connection_options
@pass_ctx
def sync(
    ctx: Ctx,
    student: str,
    app: str | None,
    prune: bool,
    revision: str,
    resources: tuple[str, ...],
    dry_run: bool,
    wait: bool,
    wait_timeout: float,
    poll_interval: float,
    output: str,
    server: str,
    insecure: bool,
    ca_file: Path | None,
    root_path: str,
    timeout: float,
) -> None:
    """Sync apps."""
    from kuploy_gitops.argocd import ops

    with (
        _connect(ctx, server, insecure, ca_file, root_path, timeout) as client,
        _live(ctx, "waiting for Argo CD", enabled=wait) as report,
    ):
        results = ops.sync(
            client,
            ctx.repo,
            student,
            app,
            prune=prune,
            wait=wait,
            timeout=wait_timeout,
            revision=revision,
            dry_run=dry_run,
            resources=resources,
            interval=poll_interval,
            progress=report,
        )
    _print_results(ctx, results, output)
    ops.ensure_ready(results)


@click.command(
    help="Create a token for the student's project role (get and sync of their own apps "
    "only) for their CI. Printed once on stdout; Argo CD does not store it."
    + examples(
        "kuploy-gitops token kim-minji",
        "kuploy-gitops token kim-minji --expires 120d",
        "kuploy-gitops token kim-minji --dry-run",
    )
    + CONNECTION_HELP
)
@click.argument("student", shell_complete=complete.students)
@click.option(
    "--expires",
    default="30d",
    show_default=True,
    help="Lifetime: a number and s, m, h, d or w (at most a year).",
)
@click.option(
    "--dry-run", is_flag=True, help="Say which token would be made; do not contact Argo CD."
)
@connection_options
@pass_ctx
def token(
    ctx: Ctx,
    student: str,
    expires: str,
    dry_run: bool,
    server: str,
    insecure: bool,
    ca_file: Path | None,
    root_path: str,
    timeout: float,
) -> None:
    """Issue a student token."""
    from kuploy_gitops.argocd import ops

    if dry_run:
        project, role, _ = ops.token_plan(ctx.repo, student, expires)
        ctx.console.print(
            f"dry run: would create a token for proj:{project}:{role} expiring in {expires}; "
            "nothing created."
        )
        return
    with _connect(ctx, server, insecure, ca_file, root_path, timeout) as client:
        grant = ops.token(client, ctx.repo, student, expires)
    ctx.err.print(
        f"token for proj:{grant.project}:{grant.role} (id {grant.id}, expires in {expires}); "
        "shown once: store it as the ARGOCD_AUTH_TOKEN secret of the student's repo"
    )
    click.echo(grant.token)


def verify_offboarding(ctx: Ctx, student: str, *, timeout: float, interval: float = 3.0) -> None:
    """After `offboard`: wait until Argo CD has no apps or project of ``student``; print it.

    Connection settings come from ARGOCD_SERVER/ARGOCD_OPTS/kuploy.yaml. Raises ArgoCDError
    naming what is left when ``timeout`` passes.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from kuploy_gitops.argocd import offboarding

    with (
        _connect(ctx, "", False, None, "", DEFAULT_TIMEOUT) as client,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=ctx.err,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task(f"waiting for Argo CD to remove {student}", total=None)

        def report(left: list[str]) -> None:
            bar.update(task, description=escape(f"{student}: left {', '.join(left) or 'none'}"))

        check = offboarding.verify_offboarded(
            client, student, timeout=timeout, interval=interval, progress=report
        )
    offboarding.ensure_offboarded(check, timeout)
    ctx.console.print(
        f"[green]verified:[/] Argo CD has no Applications or AppProject of {student} any more"
    )
