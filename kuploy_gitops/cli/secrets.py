"""The `secret` commands: seal a managed app's secrets into git, list and remove them."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from kuploy_gitops.ops.secrets import SecretResult


@click.group(
    help="Sealed secrets of a platform-managed app: sealed offline with the Sealed Secrets "
    "controller's certificate (platform/sealed-secrets/cert.pem), committed as the SealedSecret "
    "<app>-secrets, given to the app as env variables (envFrom). Values are never printed."
    + examples(
        "kuploy-gitops secret set kim-minji web API_KEY=-",
        "kuploy-gitops secret set kim-minji web --from-file SMTP_PASSWORD=smtp.txt",
        "kuploy-gitops secret list kim-minji web",
        "kuploy-gitops secret unset kim-minji web API_KEY",
    )
)
def secret() -> None:
    """Secret commands."""


@secret.command(
    "set",
    help="Seal NAME=VALUE pairs into the app's SealedSecret (other names keep their sealed "
    "values) and re-render the app in one commit. NAME=- reads the value from stdin (one "
    "trailing newline dropped) and --from-file NAME=PATH from a file (bytes as they are), so "
    "values stay out of your shell history; the commit, the output and the diff name keys only."
    + examples(
        "kuploy-gitops secret set kim-minji web API_KEY=-",
        'printf %s "$TOKEN" | kuploy-gitops secret set kim-minji web GITHUB_TOKEN=-',
        "kuploy-gitops secret set kim-minji web --from-file SMTP_PASSWORD=smtp.txt --push",
        "kuploy-gitops secret set kim-minji web MODE_KEY=- --dry-run",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@click.argument("assignments", metavar="NAME=VALUE...", nargs=-1)
@click.option(
    "--from-file",
    "from_file",
    multiple=True,
    metavar="NAME=PATH",
    help="Take NAME's value from a file (repeatable).",
)
@dry_run_option
@push_option
@output_option("text", "json")
@pass_ctx
def secret_set(
    ctx: Ctx,
    student: str,
    app_name: str,
    assignments: tuple[str, ...],
    from_file: tuple[str, ...],
    dry_run: bool,
    push: bool,
    output: str,
) -> None:
    """Seal secrets."""
    from kuploy_gitops.ops import secrets

    values = secrets.parse_values(assignments, from_file, _read_stdin)
    done = secrets.secret_set(ctx.repo, student, app_name, values, dry_run=dry_run, push=push)
    _print(ctx, done, dry_run=dry_run, output=output)


def _read_stdin() -> bytes:
    if sys.stdin.isatty():
        click.echo("value (end with Ctrl-D): ", err=True, nl=False)
    return sys.stdin.buffer.read()


@secret.command(
    "unset",
    help="Remove names from the app's SealedSecret (removing the last removes the object and "
    "the app's envFrom); one commit."
    + examples(
        "kuploy-gitops secret unset kim-minji web API_KEY",
        "kuploy-gitops secret unset kim-minji web API_KEY OLD_TOKEN --dry-run",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@click.argument("keys", metavar="NAME...", nargs=-1)
@dry_run_option
@push_option
@output_option("text", "json")
@pass_ctx
def secret_unset(
    ctx: Ctx,
    student: str,
    app_name: str,
    keys: tuple[str, ...],
    dry_run: bool,
    push: bool,
    output: str,
) -> None:
    """Remove secrets."""
    from kuploy_gitops.ops import secrets

    done = secrets.secret_unset(ctx.repo, student, app_name, keys, dry_run=dry_run, push=push)
    _print(ctx, done, dry_run=dry_run, output=output)


@secret.command(
    "list",
    help="The names in the app's SealedSecret (git holds no plain value to show)."
    + examples(
        "kuploy-gitops secret list kim-minji web",
        "kuploy-gitops secret list kim-minji web -o json",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@output_option("text", "json")
@pass_ctx
def secret_list(ctx: Ctx, student: str, app_name: str, output: str) -> None:
    """List secret names."""
    from kuploy_gitops.ops import secrets

    data = secrets.secret_list(ctx.repo, student, app_name)
    if output == "json":
        print_data(data, "json")
        return
    if not data["keys"]:
        ctx.console.print(f"{escape(student)}/{escape(app_name)} has no sealed secrets.")
        return
    for key in data["keys"]:
        ctx.console.print(escape(key), markup=False)


def _print(ctx: Ctx, done: SecretResult, *, dry_run: bool, output: str) -> None:
    if output == "json":
        data = done.to_data()
        if dry_run:
            data["dry_run"] = True
        print_data(data, "json")
        return
    result = done.result
    # The plan in words and files: the diff would show only ciphertext, so it is left out.
    for line in done.changes:
        ctx.console.print(f"  {escape(line)}")
    if dry_run:
        for path in result.changed:
            ctx.console.print(f"  would change {escape(path)}")
        ctx.console.print(
            f"[yellow]dry run:[/] {len(result.changed)} file(s) would change; nothing written."
        )
        return
    print_result(ctx, result, dry_run=False)
    if result.changed:
        ctx.console.print(
            f"keys of {escape(done.secret)}: {escape(', '.join(done.keys) or 'none')}"
        )
