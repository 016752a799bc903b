"""The `github` commands (setup, teardown) and `scaffold`: parse, call the core, print."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kuploy_gitops.cli import complete
from kuploy_gitops.cli.output import (
    Ctx,
    confirm,
    escape,
    examples,
    output_option,
    pass_ctx,
    print_data,
    progress,
    yes_option,
)
from kuploy_gitops.errors import UsageError
from kuploy_gitops.sizes import DEFAULT_SIZE, SIZES
from kuploy_gitops.stacks import STACKS

if TYPE_CHECKING:
    from kuploy_gitops.github.bulk import BulkResult
    from kuploy_gitops.github.ops import SetupOptions, SetupResult

F = TypeVar("F", bound=Callable[..., Any])

_STATUS_STYLE = {
    "created": "green",
    "repaired": "yellow",
    "removed": "yellow",
    "ok": "dim",
    "skipped": "dim",
}


def app_options(f: F) -> F:
    """Options shaping the scaffold (stack, port, probe path, size, replicas)."""
    for deco in reversed(
        [
            click.option(
                "--stack",
                default="",
                metavar="|".join(STACKS),
                help="Add a Dockerfile and .dockerignore for this stack, with its port and "
                "probes, and its page in KUPLOY.md (default: none).",
            ),
            click.option(
                "--port",
                type=click.IntRange(1, 65535),
                default=None,
                help="Port the container listens on.  [default: the stack's, else 8080]",
            ),
            click.option(
                "--health-path",
                default=None,
                help="Path answering 200 when the app is ready.  [default: the stack's, else /]",
            ),
            click.option(
                "--size", type=click.Choice(list(SIZES)), default=DEFAULT_SIZE, show_default=True
            ),
            click.option("--replicas", type=click.IntRange(0, 10), default=1, show_default=True),
        ]
    ):
        f = deco(f)
    return f


def print_steps(ctx: Ctx, results: Sequence[SetupResult]) -> None:
    """One table of each repo's steps (setup or teardown) and their outcome."""
    from rich.table import Table

    table = Table("student", "app", "step", "status", "detail")
    for r in results:
        for s in r.steps:
            style = _STATUS_STYLE.get(s.status, "")
            status = f"[{style}]{s.status}[/]" if style else s.status
            table.add_row(r.student, r.app, s.name, status, escape(s.detail))
    ctx.console.print(table)


def _print_pull_secrets(ctx: Ctx, results: Sequence[SetupResult]) -> None:
    commands = sorted({r.pull_secret_command for r in results if r.pull_secret_command})
    if not commands:
        return
    ctx.console.print(
        "[bold]private images:[/] create each tenant's own pull secret once, in its namespace "
        "only, from that student's own token with read:packages (never an org-wide token; "
        "never commit it):"
    )
    for command in commands:
        ctx.console.print(f"  {escape(command)}", soft_wrap=True)


def _print_bulk(ctx: Ctx, bulk: BulkResult, output: str) -> None:
    if output == "json":
        print_data(
            {
                "results": [r.to_data() for r in bulk.results],
                "failures": [{"student": s, "error": e} for s, e in bulk.failures],
                "stopped": bulk.stopped,
            },
            "json",
        )
        return
    print_steps(ctx, bulk.results)
    _print_pull_secrets(ctx, bulk.results)
    for student, error in bulk.failures:
        ctx.err.print(f"[red]failed[/] {student}: {escape(error)}")


def run_bulk_setup(
    ctx: Ctx, students: Sequence[str], opts: SetupOptions | None = None, output: str = "table"
) -> None:
    """Set up many students with a progress bar, print the outcome, fail if any failed.

    An empty ``students`` means every onboarded student with a GitHub login; one student is
    set up directly (its own error, not a bulk summary). Also used by `onboard --github-setup`.
    """
    from kuploy_gitops.github import bulk as batch
    from kuploy_gitops.github import ops

    opts = opts or ops.SetupOptions(student="")
    if len(students) == 1:
        _setup_one(ctx, ops.setup(ctx.repo, replace(opts, student=students[0])), output)
        return
    with progress(ctx, "github setup") as report:
        bulk = batch.setup_many(ctx.repo, students, opts, progress=report)
    _print_bulk(ctx, bulk, output)
    batch.ensure_all_set_up(bulk)


def _setup_one(ctx: Ctx, result: SetupResult, output: str) -> None:
    if output == "json":
        print_data(result.to_data(), "json")
        return
    print_steps(ctx, [result])
    ctx.console.print(
        f"[green]ready:[/] {result.url}"
        if result.changed
        else f"nothing to do: {result.repo} is already set up."
    )
    _print_pull_secrets(ctx, [result])


@click.group(
    "github",
    help="Prepare students' GitHub repos (student-repo mode) or tear them down."
    + examples(
        "export GITHUB_TOKEN=...   # or github.app_id + app_private_key_file in kuploy.yaml",
        "export ARGOCD_AUTH_TOKEN=...   # registers each repo's read-only deploy key",
        "kuploy-gitops github setup kim-minji web",
        "kuploy-gitops github setup --all --push",
        "kuploy-gitops github teardown kim-minji",
    ),
)
def github_group() -> None:
    """GitHub commands."""


@github_group.command(
    "setup",
    help="Create or repair a student's repo: created from the template (or empty), the student "
    "as collaborator with write, the scaffold in one commit, the Argo CD webhook when enabled, "
    "a read-only deploy key that only Argo CD holds (registered as a repository of the "
    "student's AppProject), and the Application in the platform repo. Re-running changes only "
    "what is missing."
    + examples(
        "kuploy-gitops github setup kim-minji",
        "kuploy-gitops github setup kim-minji api --port 3000 --health-path /healthz",
        "kuploy-gitops github setup kim-minji api --stack spring",
        "kuploy-gitops github setup --all -o json",
        "kuploy-gitops github setup kim-minji --rotate-key",
    ),
)
@click.argument("student", shell_complete=complete.students, required=False)
@click.argument(
    "app_name", metavar="[APP]", shell_complete=complete.apps, required=False, default="web"
)
@click.option(
    "--all",
    "all_students",
    is_flag=True,
    help="Every onboarded student with a GitHub login (with a progress bar).",
)
@app_options
@click.option("--push", is_flag=True, help="Push the platform repo commit(s).")
@click.option(
    "--rotate-key", is_flag=True, help="Replace each repo's deploy key even when it works."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the steps with their values; contact nobody, write nothing (no credentials).",
)
@output_option("table", "json")
@pass_ctx
def setup_cmd(
    ctx: Ctx,
    student: str | None,
    app_name: str,
    all_students: bool,
    stack: str,
    port: int | None,
    health_path: str | None,
    size: str,
    replicas: int,
    push: bool,
    rotate_key: bool,
    dry_run: bool,
    output: str,
) -> None:
    """Set up one student's repo (or all)."""
    from kuploy_gitops.github import ops

    opts = ops.SetupOptions(
        student=student or "",
        app=app_name,
        stack=stack,
        port=port,
        health_path=health_path,
        size=size,
        replicas=replicas,
        push=push,
        rotate_key=rotate_key,
    )
    if all_students:
        if dry_run:
            raise UsageError("--dry-run takes one STUDENT", hint="drop --all")
        if student:
            raise UsageError(
                f"give either a student ({student!r}) or --all, not both", hint="drop one of them"
            )
        run_bulk_setup(ctx, [], opts, output)
        return
    if not student:
        raise UsageError("missing STUDENT", hint="give a student name or --all")
    if dry_run:
        from kuploy_gitops.github.dryrun import setup_plan

        plan = setup_plan(ctx.repo, opts)
        if output == "json":
            print_data(plan.to_data(), "json")
            return
        print_steps(ctx, [plan])
        ctx.console.print("dry run: nothing created, nothing written.")
        return
    _setup_one(ctx, ops.setup(ctx.repo, opts), output)


@github_group.command(
    "teardown",
    help="Archive a student's repo(s) after removing the Argo CD webhook, the collaborator, "
    "and the deploy key with its Argo CD repository. Never deletes a repo."
    + examples(
        "kuploy-gitops github teardown kim-minji",
        "kuploy-gitops github teardown kim-minji --app web --github minji-k   # after offboard",
        "kuploy-gitops github teardown kim-minji --dry-run",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.option(
    "--app",
    "apps",
    multiple=True,
    help="App whose repo to archive (default: the spec's student-repo apps).",
)
@click.option("--github", "login", default="", help="GitHub login (default: from the spec).")
@click.option("--dry-run", is_flag=True, help="List the steps; contact nobody, change nothing.")
@yes_option
@output_option("table", "json")
@pass_ctx
def teardown_cmd(
    ctx: Ctx,
    student: str,
    apps: tuple[str, ...],
    login: str,
    dry_run: bool,
    yes: bool,
    output: str,
) -> None:
    """Tear down a student's repos."""
    from kuploy_gitops.github import teardown
    from kuploy_gitops.github.dryrun import teardown_plan

    opts = teardown.TeardownOptions(student=student, apps=apps, github=login)
    plan = teardown_plan(ctx.repo, opts)  # checks the inputs before asking
    if dry_run:
        if output == "json":
            print_data([r.to_data() for r in plan], "json")
            return
        print_steps(ctx, plan)
        ctx.console.print("dry run: nothing contacted, nothing changed.")
        return
    repos = ", ".join(r.repo for r in plan)
    if not confirm(
        ctx,
        f"Archive {repos} and remove {student}'s access to it?",
        yes=yes,
        command=f"kuploy-gitops github teardown {student}",
    ):
        return
    results = teardown.teardown(ctx.repo, opts)
    if output == "json":
        print_data([r.to_data() for r in results], "json")
        return
    print_steps(ctx, results)


@click.command(
    "scaffold",
    help="Write the student-repo scaffold (deploy/, the kuploy-deploy workflow, KUPLOY.md and "
    "the public rules) into a local folder: for another git host, or to inspect it. The same "
    "files `github setup` commits."
    + examples(
        "kuploy-gitops scaffold kim-minji web --out ./kim-minji-web",
        "kuploy-gitops scaffold kim-minji api --out /tmp/api --port 3000 --public",
        "kuploy-gitops scaffold kim-minji api --out ./api --stack fastapi",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write into (created when missing).",
)
@app_options
@click.option(
    "--private/--public",
    "private",
    default=None,
    help="Visibility of the repo (default: github.private of kuploy.yaml); private "
    "adds github.pull_secret as imagePullSecret when one is set.",
)
@click.option("--branch", default="main", show_default=True, help="Branch the workflow runs on.")
@click.option("--force", is_flag=True, help="Overwrite files that differ.")
@pass_ctx
def scaffold_cmd(
    ctx: Ctx,
    student: str,
    app_name: str,
    out: Path,
    stack: str,
    port: int | None,
    health_path: str | None,
    size: str,
    replicas: int,
    private: bool | None,
    branch: str,
    force: bool,
) -> None:
    """Write the scaffold."""
    from kuploy_gitops.github import scaffold

    result = scaffold.write_scaffold(
        ctx.repo,
        scaffold.ScaffoldOptions(
            student=student,
            app=app_name,
            stack=stack,
            port=port,
            health_path=health_path,
            size=size,
            replicas=replicas,
            private=private,
            branch=branch,
        ),
        out,
        force=force,
    )
    for path in result.written:
        ctx.console.print(f"[green]wrote[/] {escape(str(result.out / path))}")
    if not result.written:
        ctx.console.print(f"nothing to do: the scaffold in {escape(str(out))} is up to date.")
    if result.pull_secret_command:
        ctx.console.print(
            "[bold]private image:[/] the admin creates this tenant's own pull secret once, from "
            "the student's own token (never an org-wide one; never commit it):\n"
            f"  {escape(result.pull_secret_command)}"
        )
