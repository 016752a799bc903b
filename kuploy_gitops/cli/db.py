"""The `db` commands: add, show and remove a student's PostgreSQL databases (CloudNativePG)."""

from __future__ import annotations

import sys
from typing import Any

import click

from kuploy_gitops.cli import complete
from kuploy_gitops.cli.output import (
    Ctx,
    dry_run_option,
    escape,
    examples,
    output_option,
    pass_ctx,
    print_data,
    print_result,
    push_option,
)
from kuploy_gitops.db_spec import (
    DEFAULT_NAME,
    DEFAULT_SIZE,
    DEFAULT_VERSION,
    MAX_INSTANCES,
    SUPPORTED_VERSIONS,
)
from kuploy_gitops.plan import ApplyResult


@click.group(
    help="Give a student a PostgreSQL database (CloudNativePG), show how to reach it, remove it."
    + examples(
        "kuploy-gitops db add kim-minji",
        "kuploy-gitops db add kim-minji shop --size 2Gi --version 16 --app web",
        "kuploy-gitops db show kim-minji",
        "kuploy-gitops db remove kim-minji shop --yes",
    )
)
def db() -> None:
    """Database commands."""


def interactive() -> bool:
    """Whether a question can be asked (stdin is a terminal)."""
    return sys.stdin.isatty()


def _result_data(result: ApplyResult, dry_run: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "summary": result.summary,
        "changed_files": result.changed,
        "commit": result.commit,
        "pushed": result.pushed,
    }
    if dry_run:
        data["dry_run"] = True
        data["diff"] = result.diff
    return data


@db.command(
    "add",
    help="Add a database: a CloudNativePG Cluster in the student's namespace (within the tier's "
    "quota), its network policy, nightly backups (pg_dump to a volume, or object storage: "
    "databases.backup in kuploy.yaml), and DATABASE_URL (and "
    "SPRING_DATASOURCE_URL) in the student's platform-managed apps, read from the Secret the "
    "operator makes (no password in git). --app (repeatable) limits which apps get it."
    + examples(
        "kuploy-gitops db add kim-minji",
        "kuploy-gitops db add kim-minji shop --size 2Gi --version 16 --app web --dry-run",
        "kuploy-gitops db add kim-minji db --push -o json",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("name", default=DEFAULT_NAME, required=False)
@click.option("--size", default=DEFAULT_SIZE, show_default=True, help="Volume size (Mi or Gi).")
@click.option(
    "--version",
    type=int,
    default=DEFAULT_VERSION,
    show_default=True,
    help="PostgreSQL major: " + ", ".join(map(str, SUPPORTED_VERSIONS)) + ".",
)
@click.option("--instances", type=int, default=1, show_default=True, help=f"1-{MAX_INSTANCES}.")
@click.option("--app", "apps", multiple=True, help="App that gets the URL (default: every one).")
@dry_run_option
@push_option
@output_option("text", "json")
@pass_ctx
def db_add(
    ctx: Ctx,
    student: str,
    name: str,
    size: str,
    version: int,
    instances: int,
    apps: tuple[str, ...],
    dry_run: bool,
    push: bool,
    output: str,
) -> None:
    """Add a database."""
    from kuploy_gitops.ops import databases

    opts = databases.DatabaseOptions(
        student=student, name=name, size=size, version=version, instances=instances, apps=apps
    )
    result = databases.db_add(ctx.repo, opts, dry_run=dry_run, push=push)
    if output == "json":
        print_data(_result_data(result, dry_run), "json")
        return
    print_result(ctx, result, dry_run=dry_run)
    how = f"kuploy-gitops db show {escape(student)} {escape(name)}"
    ctx.console.print(f"how to connect: {how}")


@db.command(
    "remove",
    help="Remove a database: its Cluster, backup job and volume, policy, and the apps' "
    "DATABASE_URL. Its data is deleted with its volumes. Asks first on a terminal; --yes for "
    "scripts (refused without it when stdin is not a terminal)."
    + examples(
        "kuploy-gitops db remove kim-minji db",
        "kuploy-gitops db remove kim-minji db --yes --push",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("name", shell_complete=complete.databases)
@click.option("--yes", is_flag=True, help="Do not ask (the data is deleted).")
@dry_run_option
@push_option
@output_option("text", "json")
@pass_ctx
def db_remove(
    ctx: Ctx, student: str, name: str, yes: bool, dry_run: bool, push: bool, output: str
) -> None:
    """Remove a database."""
    from kuploy_gitops.errors import UsageError
    from kuploy_gitops.ops import databases

    if not yes and not dry_run:
        question = (
            f"Delete database {name!r} of {student!r}? Its data is deleted with its volumes "
            "(and its pg_dump backups)."
        )
        if not interactive():
            raise UsageError(
                f"refusing to remove database {name!r} of {student!r} without --yes "
                "(stdin is not a terminal to ask on)",
                hint="add --yes once you are sure: the data is deleted with the volumes",
            )
        click.confirm(question, abort=True, err=True)
    result = databases.db_remove(ctx.repo, student, name, dry_run=dry_run, push=push)
    if output == "json":
        print_data(_result_data(result, dry_run), "json")
        return
    print_result(ctx, result, dry_run=dry_run)
    if not dry_run:
        ctx.console.print(
            "Once Argo CD syncs, the operator deletes the instances and their volumes: "
            "the data is gone."
        )


@db.command(
    "show",
    help="Show a student's databases: spec, which apps get DATABASE_URL, how to connect "
    "(port-forward), and backups."
    + examples("kuploy-gitops db show kim-minji", "kuploy-gitops db show kim-minji db -o json"),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("name", required=False, shell_complete=complete.databases)
@output_option("text", "json")
@pass_ctx
def db_show(ctx: Ctx, student: str, name: str | None, output: str) -> None:
    """Show databases."""
    from kuploy_gitops.ops import databases

    views = databases.db_show(ctx.repo, student, name)
    if output == "json":
        print_data(views, "json")
        return
    if not views:
        ctx.console.print(f"{escape(student)} has no database (kuploy-gitops db add {student}).")
    for view in views:
        for label, value in show_lines(view):
            ctx.console.print(f"{label + ':':<13} {escape(value)}")


def show_lines(v: dict[str, Any]) -> list[tuple[str, str]]:
    """The text form of one database of `db show`: (label, value) lines."""
    c, b = v["connect"], v["backup"]
    apps = ", ".join(v["injected_into"]) or "none (a student-repo app reads the Secret itself)"
    return [
        ("database", f"{v['student']}/{v['name']}: PostgreSQL {v['version']} ({v['image']})"),
        ("size", f"{v['size']} x {v['instances']} instance(s)"),
        ("host", f"{v['host']}:{v['port']}, database {v['database']}, user {v['owner']}"),
        ("apps", f"{apps}: {', '.join(v['env'])} from Secret {v['secret']}"),
        ("connect", c["port_forward"]),
        ("credentials", c["uri"]),
        ("admin psql", c["admin_psql"]),
        ("backup", _backup_line(b)),
        ("file", v["file"]),
    ]


def _backup_line(b: dict[str, Any]) -> str:
    if b["kind"] == "s3":
        return (
            f"base backups and WAL to {b['destination']} at {b['endpoint']} nightly "
            f"({b['schedule']}, with seconds), kept {b['retention_days']} days; credentials: "
            f"Secret {b['credentials_secret']} in the namespace (made by the admin)"
        )
    return (
        f"pg_dump nightly ({b['schedule']}) to volume {b['volume']} at {b['path']}, "
        f"newest {b['keep']} kept"
    )
