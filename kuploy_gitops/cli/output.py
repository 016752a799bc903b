"""What every command shares: the context, option decorators, and printing.

Importing this module costs only click: rich is imported the first time something is printed,
so `--help` and `--version` start fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kuploy_gitops.names import printable

if TYPE_CHECKING:
    from rich.console import Console

    from kuploy_gitops.plan import ApplyResult

F = TypeVar("F", bound=Callable[..., Any])


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr) that respects ``NO_COLOR``."""
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True)


class Ctx:
    """What the global options give every command: the repo and the two consoles."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    @functools.cached_property
    def console(self) -> Console:
        """Standard output."""
        return console()

    @functools.cached_property
    def err(self) -> Console:
        """Standard error: progress, warnings, errors."""
        return console(stderr=True)


def use_colour() -> bool | None:
    """Whether click should colour its output.

    Never with ``NO_COLOR``; always with ``FORCE_COLOR`` (as rich does, so both outputs agree);
    else when the stream is a terminal.
    """
    if os.environ.get("NO_COLOR"):
        return False
    return True if os.environ.get("FORCE_COLOR") else None


def escape(text: str) -> str:
    """Make text from the user, the repo or a server safe to print with rich (see printable)."""
    return printable(text).replace("[", "\\[")


def pass_ctx(f: F) -> F:
    """Decorator giving a command the :class:`Ctx` as first argument."""
    return click.pass_obj(f)  # type: ignore[return-value]


def examples(*lines: str) -> str:
    """Format an Examples section for a command's --help."""
    body = "\n".join(f"  {line}" for line in lines)
    return f"\n\n\b\nExamples:\n{body}"


def dry_run_option(f: F) -> F:
    """``--dry-run``: print the change set as a diff, write nothing."""
    return click.option(
        "--dry-run", is_flag=True, help="Print the change set as a diff; write nothing."
    )(f)


def yes_option(f: F) -> F:
    """``--yes``/``-y``: run a destructive command without asking."""
    return click.option(
        "--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts)."
    )(f)


def stdin_is_tty() -> bool:
    """Whether a human can answer a prompt (tests replace this)."""
    return sys.stdin.isatty()


def confirm(ctx: Ctx, question: str, *, yes: bool, command: str) -> bool:
    """Ask ``question`` on a terminal unless ``yes``; False when the answer is no.

    Without a terminal and without ``--yes`` a destructive command is refused (exit 2) rather
    than run unasked: ``command`` is what to type instead.

    Raises:
        UsageError: no terminal and no ``--yes``.
    """
    from kuploy_gitops.errors import UsageError

    if yes:
        return True
    if not stdin_is_tty():
        raise UsageError(
            f"{command} deletes things and asks first, but there is no terminal to ask on",
            hint=f"run `{command} --yes` in scripts, or --dry-run to see the change",
        )
    if click.confirm(question, default=False, err=True):
        return True
    ctx.err.print("not confirmed: nothing changed.")
    return False


def push_option(f: F) -> F:
    """``--push``: push the commit (fetch, rebase and retry when the remote moved)."""
    return click.option(
        "--push", is_flag=True, help="Push the commit to the remote (rebases and retries)."
    )(f)


def output_option(*choices: str) -> Callable[[F], F]:
    """``-o/--output`` with the given formats (first is the default)."""

    def deco(f: F) -> F:
        return click.option(
            "-o",
            "--output",
            type=click.Choice(list(choices)),
            default=choices[0],
            show_default=True,
            help="Output format.",
        )(f)

    return deco


def print_result(ctx: Ctx, result: ApplyResult, *, dry_run: bool) -> None:
    """Print what a writing command did (or would do)."""
    if dry_run:
        if result.diff:
            ctx.console.print(result.diff, markup=False, end="")
        ctx.console.print(
            f"[yellow]dry run:[/] {len(result.changed)} file(s) would change; nothing written."
            if result.changed
            else "dry run: nothing would change."
        )
        return
    if not result.changed:
        ctx.console.print(f"nothing to do: {result.summary} is already up to date.")
        return
    ctx.console.print(
        f"[green]committed[/] {result.commit[:12]} {escape(result.message.splitlines()[0])} "
        f"({len(result.changed)} file(s))"
    )
    if result.pushed:
        ctx.console.print(f"pushed to {result.pushed}")
    elif result.upstream:
        ctx.console.print(f"not pushed ({unpushed(result)}): run `kuploy-gitops push`")


def unpushed(result: ApplyResult) -> str:
    """How far the branch is ahead of its upstream, in words (``main is 2 commits ahead ...``)."""
    branch = result.upstream.split("/", 1)[-1]
    if result.ahead is None:
        return f"{result.upstream} was never fetched here"
    plural = "" if result.ahead == 1 else "s"
    return f"{branch} is {result.ahead} commit{plural} ahead of {result.upstream}"


def print_table(
    ctx: Ctx, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, headers: bool = True
) -> None:
    """Print rows as a table: boxed when it fits the terminal, else plain aligned columns.

    Nothing is ever cut or squeezed to a width: piped or redirected output, and a table wider
    than the terminal, come as one line per row with columns padded to their widest cell (as
    kubectl prints them), for ``grep``, ``awk`` and ``column``, and for long reasons.
    """
    cells = [[printable(str(c)) for c in row] for row in rows]
    lines = ([list(columns)] if headers else []) + cells
    widths = [max((len(line[i]) for line in lines), default=0) for i in range(len(columns))]
    boxed_width = sum(widths) + 3 * len(widths) + 1
    if not ctx.console.is_terminal or boxed_width > ctx.console.width:
        for line in lines:
            padded = [c.ljust(w) for c, w in zip(line[:-1], widths[:-1], strict=True)]
            click.echo("   ".join([*padded, line[-1]]).rstrip())
        return
    from rich.table import Table

    table = Table(*columns, show_lines=False, show_header=headers)
    for row in cells:
        table.add_row(*(escape(c) for c in row))
    ctx.console.print(table)


def print_data(data: Any, fmt: str) -> None:
    """Print data as JSON or YAML for scripts."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))
    else:
        from kuploy_gitops import yamlio

        click.echo(yamlio.dump(data), nl=False)


def _no_progress(done: int, total: int) -> None:
    del done, total


@contextlib.contextmanager
def progress(ctx: Ctx, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (hidden when not a terminal); yields ``report(done, total)``."""
    if not sys.stderr.isatty():  # CI logs and pipes: no bar, and no import of rich.progress
        yield _no_progress
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=ctx.err,
        transient=True,
        disable=not ctx.err.is_terminal,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield report
