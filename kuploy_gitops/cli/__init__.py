"""The `kuploy-gitops` command line: parse, call one core operation, print.

No git, HTTP or file writes happen here. User errors (:class:`KuployError`) are printed as one
red line on stderr with the error's exit code; any other exception is a bug and keeps its
traceback.

Commands are loaded lazily: the group knows each command's module and imports it only when
the command (or the command list of `--help`) is needed, and command modules import the core
inside their function bodies, so `--help` and `--version` cost little more than click itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from kuploy_gitops import __version__
from kuploy_gitops.cli.output import Ctx, examples, use_colour
from kuploy_gitops.errors import EXIT_CODES, KuployError
from kuploy_gitops.names import printable

EXIT_CODE_HELP = "Exit codes: " + ", ".join(f"{v} {k}" for k, v in EXIT_CODES.items()) + "."

# command name -> (module under kuploy_gitops.cli, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("platform", "init"),
    "render": ("platform", "render"),
    "push": ("platform", "push"),
    "recover": ("platform", "recover"),
    "demo": ("platform", "demo"),
    "onboard": ("tenants", "onboard"),
    "offboard": ("tenants", "offboard"),
    "list": ("tenants", "list_cmd"),
    # Term operations (issue 15): suspend/resume, extend, restore, expire; bulk offboard.
    "suspend": ("term", "suspend"),
    "resume": ("term", "resume"),
    "extend": ("term", "extend"),
    "restore": ("term", "restore"),
    "expire": ("term", "expire"),
    "lab": ("lab", "lab"),
    "capacity": ("capacity", "capacity_cmd"),
    "report": ("capacity", "report_cmd"),
    "app": ("apps", "app"),
    "secret": ("secrets", "secret"),
    "db": ("db", "db"),
    "validate": ("validate", "validate_cmd"),
    "register": ("argocd", "register"),
    "status": ("argocd", "status"),
    "sync": ("argocd", "sync"),
    "token": ("argocd", "token"),
    "github": ("github", "github_group"),
    "scaffold": ("github", "scaffold_cmd"),
    "completion": ("complete", "completion"),
}


def hoist_global_options(args: Sequence[str]) -> list[str]:
    """Move ``-C DIR`` / ``-CDIR`` typed after the command to the front (as kubectl allows).

    Nothing after ``--`` moves: there a ``-C`` is an argument, not an option.
    """
    args = list(args)
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] == "-C" else 1  # the group's own options, before the command
    lead, front, rest = args[:i], [], []  # a -C typed later wins, as with repeated options
    while i < len(args):
        word = args[i]
        if word == "--":
            rest += args[i:]
            break
        if word == "-C" and i + 1 < len(args):
            front += args[i : i + 2]
            i += 2
            continue
        if word.startswith("-C") and len(word) > 2:
            front.append(word)
        else:
            rest.append(word)
        i += 1
    return lead + front + rest


class KuployGroup(click.Group):
    """The top-level group: lazily loaded commands; a KuployError becomes one red line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted (as click lists them)."""
        return sorted(COMMANDS)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse with global options (``-C DIR``) taken from wherever the user typed them."""
        return super().parse_args(ctx, hoist_global_options(args))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module on first use."""
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module = importlib.import_module(f"kuploy_gitops.cli.{where[0]}")
        command: click.Command = getattr(module, where[1])
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a KuployError becomes a red line and the error's exit code."""
        try:
            return super().invoke(ctx)
        except KuployError as exc:
            # click, not rich: the one red line costs no import (`validate` in a student's CI).
            colour = use_colour()
            for line in exc.details:
                click.echo(printable(line), err=True, color=colour)
            click.echo(
                f"{click.style('error:', fg='red', bold=True)} {printable(str(exc))}",
                err=True,
                color=colour,
            )
            ctx.exit(exc.exit_code)


@click.group(
    cls=KuployGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODE_HELP,
    help="Run a student GitOps platform: tenants, apps, Argo CD and GitHub from one repo."
    + examples(
        "kuploy-gitops init platform-gitops --domain apps.lab.example.ac.kr",
        "kuploy-gitops -C platform-gitops onboard kim-minji --github minji-k --course cs101",
        "kuploy-gitops -C platform-gitops onboard --roster classroom.csv --course cs101",
        "kuploy-gitops -C platform-gitops app add kim-minji web --image ghcr.io/org/web:1.0 "
        "--port 8080",
        "kuploy-gitops demo ./demo-gitops",
    ),
)
@click.option(
    "-C",
    "repo",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="KUPLOY_REPO",
    default=".",
    show_default="current directory",
    help="Platform repo to work on (like git -C); KUPLOY_REPO sets it too.",
)
@click.version_option(__version__, "--version", prog_name="kuploy-gitops")
@click.pass_context
def main(ctx: click.Context, repo: Path) -> None:
    """Entry point of the command group."""
    ctx.obj = Ctx(repo=repo)
    if ctx.invoked_subcommand not in NO_SETTLE:
        settle_first(repo)


# Commands that do not work on the platform repo of -C (or do their own recovery first).
NO_SETTLE = {"demo", "scaffold", "init", "recover"}


def settle_first(repo: Path) -> None:
    """Finish an interrupted write before any command reads or writes the repo (ops.writing)."""
    from kuploy_gitops import plan

    if plan.interrupted(repo):  # a stat: commands with nothing pending import nothing more
        from kuploy_gitops.ops.writing import settle

        done = settle(repo)
        if done:
            click.echo(f"note: {printable(done)}", err=True)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (for tests and ``python -m``)."""
    try:
        main.main(
            args=list(argv) if argv is not None else None,
            prog_name="kuploy-gitops",
            standalone_mode=True,
        )
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(run())
