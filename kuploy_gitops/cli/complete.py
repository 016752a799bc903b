"""Shell completion: the `completion` command's scripts, and student and app names.

Completion runs the CLI with click's ``_KUPLOY_GITOPS_COMPLETE`` variable set; callbacks are not
invoked then, so the platform repo is read from the parsed ``-C`` (or ``KUPLOY_REPO``) value.
A repo that cannot be read completes nothing rather than printing an error into the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem, get_completion_class

from kuploy_gitops.cli.output import examples

if TYPE_CHECKING:
    from kuploy_gitops.tenant_spec import TenantSpec

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_KUPLOY_GITOPS_COMPLETE"


def _repo(ctx: click.Context) -> Path:
    value = ctx.find_root().params.get("repo")
    return Path(value) if value else Path()


def students(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Onboarded students whose name starts with what was typed."""
    from kuploy_gitops.tenant_spec import list_students

    try:
        names = list_students(_repo(ctx))
    except Exception:  # noqa: BLE001 - a shell prompt is no place for a traceback
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def _of_student(
    ctx: click.Context, incomplete: str, names: Callable[[TenantSpec], list[str]]
) -> list[CompletionItem]:
    """``names`` of the spec of the student typed before, starting with what was typed."""
    from kuploy_gitops.tenant_spec import read_spec

    student = ctx.params.get("student")
    if not student:
        return []
    try:
        spec = read_spec(_repo(ctx), str(student))
    except Exception:  # noqa: BLE001 - a shell prompt is no place for a traceback
        return []
    found = names(spec) if spec is not None else []
    return [CompletionItem(n) for n in found if n.startswith(incomplete)]


def apps(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The apps of the student typed before, whose name starts with what was typed."""
    return _of_student(ctx, incomplete, lambda spec: [a.name for a in spec.apps])


def databases(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The databases of the student typed before, whose name starts with what was typed."""
    return _of_student(ctx, incomplete, lambda spec: [d.name for d in spec.databases])


def archived(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Students whose spec `offboard --archive` kept (for `restore`)."""
    from kuploy_gitops import layout

    folder = _repo(ctx) / layout.ARCHIVE_DIR
    try:
        names = sorted(p.stem for p in folder.glob("*.yaml"))
    except OSError:
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


@click.command(
    help="Print the shell completion script for bash, zsh or fish.\n\n"
    "Completes commands, options, and student and app names from the platform repo (-C)."
    + examples(
        'eval "$(kuploy-gitops completion bash)"   # in ~/.bashrc',
        'eval "$(kuploy-gitops completion zsh)"    # in ~/.zshrc',
        "kuploy-gitops completion fish > ~/.config/fish/completions/kuploy-gitops.fish",
    ),
)
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script of ``shell``."""
    from kuploy_gitops.cli import main

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(main, {}, "kuploy-gitops", COMPLETE_VAR).source())
