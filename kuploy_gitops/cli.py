"""The `kuploy-gitops` command line: parse, call one api function, print.

No git, HTTP or file writes happen here. User errors (:class:`KuployError`) are printed as one
red line on stderr with the error's exit code; any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from kuploy_gitops import __version__, api, yamlio
from kuploy_gitops.errors import EXIT_CODES, KuployError
from kuploy_gitops.plan import ApplyResult

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODE_HELP = "Exit codes: " + ", ".join(f"{v} {k}" for k, v in EXIT_CODES.items()) + "."


@dataclass
class Ctx:
    """What the global options give every command."""

    repo: Path
    console: Console
    err: Console


def _consoles() -> tuple[Console, Console]:
    no_color = bool(os.environ.get("NO_COLOR"))
    return (
        Console(no_color=no_color, highlight=False, soft_wrap=True),
        Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True),
    )


class KuployGroup(click.Group):
    """A click group that turns :class:`KuployError` into one red line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a KuployError becomes a red line and the error's exit code."""
        try:
            return super().invoke(ctx)
        except KuployError as exc:
            _, err = _consoles()
            for line in exc.details:
                err.print(_escape(line))
            err.print(f"[bold red]error:[/] {_escape(str(exc))}")
            ctx.exit(exc.exit_code)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


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
        f"[green]committed[/] {result.commit[:12]} {_escape(result.message.splitlines()[0])} "
        f"({len(result.changed)} file(s))"
    )
    if result.pushed:
        ctx.console.print(f"pushed to {result.pushed}")


def print_table(ctx: Ctx, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as a rich table."""
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_escape(str(c)) for c in row))
    ctx.console.print(table)


def print_data(ctx: Ctx, data: Any, fmt: str) -> None:
    """Print data as JSON or YAML for scripts."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))
    else:
        click.echo(yamlio.dump(data), nl=False)


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
    out, err = _consoles()
    ctx.obj = Ctx(repo=repo, console=out, err=err)


def _parse_env(values: Sequence[str]) -> list[tuple[str, str]]:
    return [api.parse_env_pair(v) for v in values]


@main.command(
    help="Create (or adopt an empty) platform GitOps repo with kuploy.yaml, the root "
    "Application, the admin project and pinned add-ons; commit it. Re-running changes nothing."
    + examples(
        "kuploy-gitops init platform-gitops",
        "kuploy-gitops init . --domain apps.lab.konkuk.ac.kr --github-org konkuk-cs "
        "--repo-url https://github.com/konkuk-cs/platform-gitops.git",
    )
)
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--cluster-name", default="konkuk-lab", show_default=True)
@click.option("--domain", default="apps.konkuk.example", show_default=True, help="Base domain.")
@click.option("--repo-url", default="", help="URL Argo CD clones this repo from.")
@click.option("--branch", default="main", show_default=True)
@click.option("--github-org", default="konkuk-kuploy", show_default=True)
@click.option("--argocd-server", default="", help="Argo CD URL (default https://argocd.<domain>).")
@dry_run_option
@push_option
@pass_ctx
def init(
    ctx: Ctx,
    directory: Path | None,
    cluster_name: str,
    domain: str,
    repo_url: str,
    branch: str,
    github_org: str,
    argocd_server: str,
    dry_run: bool,
    push: bool,
) -> None:
    """Initialise a platform repo."""
    result = api.init(
        api.InitOptions(
            repo=directory if directory is not None else ctx.repo,
            cluster_name=cluster_name,
            domain=domain,
            repo_url=repo_url,
            branch=branch,
            github_org=github_org,
            argocd_server=argocd_server,
        ),
        dry_run=dry_run,
        push=push,
    )
    print_result(ctx, result, dry_run=dry_run)
    if result.changed and not dry_run:
        repo = directory if directory is not None else ctx.repo
        ctx.console.print(
            f"next: connect Argo CD with `{api.connect_command(repo)}` (see the repo README)"
        )


@main.command(
    help="Onboard a student (or a roster of students) into a locked-down tenant and commit. "
    "Same inputs again: no change."
    + examples(
        "kuploy-gitops onboard kim-minji --github minji-k --course cs101 --term 2026-fall "
        "--expires 2027-02-28",
        "kuploy-gitops onboard --roster classroom_roster.csv --course cs101 --term 2026-fall",
        "kuploy-gitops onboard --roster roster.csv --skip-invalid --dry-run",
    )
)
@click.argument("student", required=False)
@click.option("--github", "github", default="", help="The student's GitHub login.")
@click.option("--name", default="", help="Full name (kept in the spec, not in labels).")
@click.option("--email", default="")
@click.option("--tier", default="", help="Quota tier (default: kuploy.yaml's default_tier).")
@click.option("--course", default="", help="Course label, e.g. cs101.")
@click.option("--term", default="", help="Term label, e.g. 2026-fall.")
@click.option("--expires", default="", help="Expiry date YYYY-MM-DD (a label on the namespace).")
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CSV roster (GitHub Classroom or student_id,github_username,email,name[,tier]).",
)
@click.option("--skip-invalid", is_flag=True, help="With --roster: onboard the good rows only.")
@click.option(
    "--github-setup",
    is_flag=True,
    help="Then prepare each student's GitHub repo (`github setup STUDENT web`).",
)
@dry_run_option
@push_option
@pass_ctx
def onboard(
    ctx: Ctx,
    student: str | None,
    github: str,
    name: str,
    email: str,
    tier: str,
    course: str,
    term: str,
    expires: str,
    roster: Path | None,
    skip_invalid: bool,
    github_setup: bool,
    dry_run: bool,
    push: bool,
) -> None:
    """Onboard one student or a roster."""
    defaults = api.OnboardOptions(
        student=student or "",
        github=github,
        name=name,
        email=email,
        tier=tier,
        course=course,
        term=term,
        expires=expires,
    )
    if roster is not None:
        if student:
            raise api.UsageError(
                f"give either a student ({student!r}) or --roster, not both",
                hint="drop one of them",
            )
        with api.progress(ctx.err, "onboarding") as report:
            result, skipped = api.onboard_roster(
                ctx.repo,
                roster,
                defaults,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                push=push,
                progress=report,
            )
        for line_no, reason in skipped:
            ctx.err.print(f"[yellow]skipped[/] {roster}:{line_no}: {_escape(reason)}")
        print_result(ctx, result, dry_run=dry_run)
        if github_setup:
            from kuploy_gitops.cli_github import after_onboard

            after_onboard(ctx, None, roster, skipped, dry_run)
        return
    if not student:
        raise api.UsageError("missing STUDENT", hint="give a student name or --roster FILE.csv")
    result = api.onboard(ctx.repo, defaults, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)
    if github_setup:
        from kuploy_gitops.cli_github import after_onboard

        after_onboard(ctx, student, None, [], dry_run)


@main.group(
    help="Add or remove a student's apps."
    + examples(
        "kuploy-gitops app add kim-minji web --image ghcr.io/org/web:1.0 --port 8080",
        "kuploy-gitops app add kim-minji api --repo https://github.com/org/kim-minji-api.git",
        "kuploy-gitops app remove kim-minji web",
    )
)
def app() -> None:
    """App commands."""


@app.command(
    "add",
    help="Add an app: platform-managed (--image/--port) or from the student's repo (--repo)."
    + examples(
        "kuploy-gitops app add kim-minji web --image ghcr.io/org/web:1.0 --port 8080 "
        "--env MODE=prod --health-path /healthz --replicas 2 --size tiny",
        "kuploy-gitops app add kim-minji api --repo https://github.com/org/kim-minji-api.git "
        "--path deploy --revision main",
    ),
)
@click.argument("student")
@click.argument("app_name", metavar="APP")
@click.option("--image", default="", help="Platform-managed: container image.")
@click.option("--port", type=int, default=None, help="Platform-managed: container port.")
@click.option("--env", "env", multiple=True, help="Platform-managed: K=V (repeatable).")
@click.option("--health-path", default="/", show_default=True)
@click.option("--replicas", type=int, default=1, show_default=True)
@click.option("--size", default="small", show_default=True, help="tiny, small or medium.")
@click.option("--repo", "repo_url", default="", help="Student-repo mode: the repo URL.")
@click.option("--path", "repo_path", default="deploy", show_default=True)
@click.option("--revision", default="main", show_default=True)
@dry_run_option
@push_option
@pass_ctx
def app_add(
    ctx: Ctx,
    student: str,
    app_name: str,
    image: str,
    port: int | None,
    env: tuple[str, ...],
    health_path: str,
    replicas: int,
    size: str,
    repo_url: str,
    repo_path: str,
    revision: str,
    dry_run: bool,
    push: bool,
) -> None:
    """Add an app."""
    result = api.app_add(
        ctx.repo,
        api.AppOptions(
            student=student,
            app=app_name,
            image=image,
            port=port,
            env=_parse_env(env),
            health_path=health_path,
            replicas=replicas,
            size=size,
            repo_url=repo_url,
            path=repo_path,
            revision=revision,
        ),
        dry_run=dry_run,
        push=push,
    )
    print_result(ctx, result, dry_run=dry_run)


@app.command(
    "remove",
    help="Remove an app and its manifests."
    + examples(
        "kuploy-gitops app remove kim-minji web",
    ),
)
@click.argument("student")
@click.argument("app_name", metavar="APP")
@dry_run_option
@push_option
@pass_ctx
def app_remove(ctx: Ctx, student: str, app_name: str, dry_run: bool, push: bool) -> None:
    """Remove an app."""
    result = api.app_remove(ctx.repo, student, app_name, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)


@main.command(
    help="Remove a student's Applications, project, guards, namespace and spec in one commit."
    + examples(
        "kuploy-gitops offboard kim-minji",
        "kuploy-gitops offboard kim-minji --archive",
        "kuploy-gitops offboard kim-minji --push --verify",
    )
)
@click.argument("student")
@click.option("--archive", is_flag=True, help="Keep the spec under tenants/archive/.")
@dry_run_option
@push_option
@click.option(
    "--verify",
    is_flag=True,
    help="Then wait until Argo CD reports the student's "
    "apps and project gone (server from ARGOCD_SERVER or kuploy.yaml).",
)
@click.option(
    "--verify-timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds --verify waits before naming what is left.",
)
@pass_ctx
def offboard(
    ctx: Ctx,
    student: str,
    archive: bool,
    dry_run: bool,
    push: bool,
    verify: bool,
    verify_timeout: float,
) -> None:
    """Offboard a student."""
    result = api.offboard(ctx.repo, student, archive=archive, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)
    if verify and not dry_run:
        from kuploy_gitops.cli_argocd import verify_offboarding  # late: it imports this module

        verify_offboarding(ctx, student, timeout=verify_timeout)


@main.command(
    help="Re-render every tenant from the specs and commit. --check lists drift and writes "
    "nothing." + examples("kuploy-gitops render", "kuploy-gitops render --check")
)
@click.option("--check", is_flag=True, help="Exit 7 and list files that differ; change nothing.")
@dry_run_option
@push_option
@pass_ctx
def render(ctx: Ctx, check: bool, dry_run: bool, push: bool) -> None:
    """Render every tenant."""
    if check:
        drift = api.render_check(ctx.repo)
        ctx.console.print("no drift: every rendered file matches the specs.")
        del drift
        return
    result = api.render_all(ctx.repo, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)


@main.command(
    "list",
    help="List tenants with tier, apps and expiry."
    + examples("kuploy-gitops list", "kuploy-gitops list -o json"),
)
@output_option("table", "json", "yaml")
@pass_ctx
def list_cmd(ctx: Ctx, output: str) -> None:
    """List tenants."""
    rows = api.list_tenants(ctx.repo)
    if output != "table":
        print_data(ctx, rows, output)
        return
    print_table(
        ctx,
        ["student", "github", "tier", "course", "term", "expires", "apps"],
        [
            [
                r["student"],
                r["github"],
                r["tier"],
                r["course"],
                r["term"],
                r["expires"],
                ", ".join(r["apps"]),
            ]
            for r in rows
        ],
    )


@main.command(
    help="Make a demo platform repo on the embedded default: init, a sample roster onboarded, "
    "an app added, committed; no GitHub or cluster needed."
    + examples("kuploy-gitops demo", "kuploy-gitops demo /tmp/demo-gitops")
)
@click.argument("directory", required=False, default="demo-gitops", type=click.Path(path_type=Path))
@pass_ctx
def demo(ctx: Ctx, directory: Path) -> None:
    """Build the demo repo."""
    with api.progress(ctx.err, "onboarding sample roster") as report:
        summary = api.demo(directory, progress=report)
    ctx.console.print(f"[green]demo platform repo ready:[/] {directory}")
    print_table(ctx, ["what", "where"], summary)


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


# Argo CD commands (register, status, sync, token) live in cli_argocd; imported last because
# cli_argocd imports helpers from this module.
from kuploy_gitops.cli_argocd import register_commands  # noqa: E402

register_commands(main)

# The `validate` command lives in cli_validate (imported last for the same reason).
from kuploy_gitops import cli_validate  # noqa: E402

cli_validate.register_commands(main)

# The `github` (setup, teardown) and `scaffold` commands live in cli_github (imported last for
# the same reason).
from kuploy_gitops import cli_github  # noqa: E402

cli_github.register_commands(main)
