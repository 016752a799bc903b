"""The tenant commands: `onboard` (one student or a roster), `offboard` and `list`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
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
    print_table,
    progress,
    push_option,
)
from kuploy_gitops.cli.term import (
    confirm,
    make_selection,
    parse_today,
    print_outcome,
    selection_options,
    today_option,
)
from kuploy_gitops.errors import KuployError, UsageError

if TYPE_CHECKING:
    from kuploy_gitops.tenant_spec import TenantSpec

if TYPE_CHECKING:
    from kuploy_gitops.ops.tenants import OnboardOutcome


@click.command(
    help="Onboard a student (or a roster of students) into a locked-down tenant and commit. "
    "Same inputs again: no change."
    + examples(
        "kuploy-gitops onboard kim-minji --github minji-k --course cs101 --term 2026-fall "
        "--expires 2027-02-28",
        "kuploy-gitops onboard --roster classroom_roster.csv --course cs101 --term 2026-fall",
        "kuploy-gitops onboard --roster roster.csv --skip-invalid --dry-run",
    )
)
@click.argument("student", shell_complete=complete.students, required=False)
@click.option("--github", "github", default="", help="The student's GitHub login.")
@click.option(
    "--change-github",
    is_flag=True,
    help="Allow a new --github login (or roster login) for an existing tenant.",
)
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
    "--columns",
    default="",
    metavar="ROLE=HEADER,...",
    help="With --roster: which columns hold student, github, email, name, tier when their "
    "headers are not the usual ones (e.g. 'student=Hakbun,github=Git').",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="With --roster --dry-run: print the whole diff, not the summary.",
)
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
    change_github: bool,
    name: str,
    email: str,
    tier: str,
    course: str,
    term: str,
    expires: str,
    roster: Path | None,
    skip_invalid: bool,
    columns: str,
    show_diff: bool,
    github_setup: bool,
    dry_run: bool,
    push: bool,
) -> None:
    """Onboard one student or a roster."""
    from kuploy_gitops.ops import tenants
    from kuploy_gitops.roster import parse_columns

    if github_setup and not dry_run:
        from kuploy_gitops.github.ops import check_credentials

        check_credentials(ctx.repo)  # before the onboarding commit, not after it
    opts = tenants.OnboardOptions(
        student=student or "",
        github=github,
        change_github=change_github,
        name=name,
        email=email,
        tier=tier,
        course=course,
        term=term,
        expires=expires,
    )
    with progress(ctx, "onboarding") as report:
        outcome = tenants.onboard_command(
            ctx.repo,
            opts,
            roster,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            push=push,
            progress=report,
            columns=parse_columns(columns),
        )
    for warning in outcome.warnings:
        ctx.err.print(f"[yellow]warning:[/] {escape(warning)}")
    for line_no, reason in outcome.skipped:
        ctx.err.print(f"[yellow]skipped[/] {roster}:{line_no}: {escape(reason)}")
    if roster is not None and dry_run and not show_diff:
        print_roster_summary(ctx, outcome)
    else:
        print_result(ctx, outcome.result, dry_run=dry_run)
    if github_setup:
        if dry_run:
            ctx.console.print("dry run: github setup skipped.")
            return
        from kuploy_gitops.cli.github import run_bulk_setup
        from kuploy_gitops.github.ops import SetupOptions

        run_bulk_setup(ctx, outcome.students, SetupOptions(student="", push=push))


def print_roster_summary(ctx: Ctx, outcome: OnboardOutcome) -> None:
    """A roster's dry run in a few lines: counts and names (``--diff`` prints the diff)."""
    added, updated = outcome.added, outcome.updated
    same = len(outcome.students) - len(added) - len(updated)

    def names(group: list[str]) -> str:
        shown = ", ".join(group[:10]) + (f" and {len(group) - 10} more" if len(group) > 10 else "")
        return f": {escape(shown)}" if group else ""

    ctx.console.print(f"new tenants: {len(added)}{names(added)}")
    ctx.console.print(f"changed tenants: {len(updated)}{names(updated)}")
    ctx.console.print(f"unchanged: {same}; skipped rows: {len(outcome.skipped)}")
    changed = len(outcome.result.changed)
    ctx.console.print(
        f"[yellow]dry run:[/] {changed} file(s) would change; nothing written (--diff shows them)."
        if changed
        else "dry run: nothing would change."
    )


@click.command(
    help="Remove tenants' Applications, project, guards, namespace and spec in one commit: one "
    "student, several, or a selection (--term, --course, --expired). Lists them and asks on a "
    "terminal first; scripts pass --yes (without a terminal it is required)."
    + examples(
        "kuploy-gitops offboard kim-minji",
        "kuploy-gitops offboard kim-minji --archive --github",
        "kuploy-gitops offboard kim-minji --yes --push --verify",
        "kuploy-gitops offboard --term 2026-spring --archive",
        "kuploy-gitops offboard --expired --archive --yes --push",
    )
)
@selection_options
@click.option("--expired", is_flag=True, help="Every tenant past its expiry date.")
@click.option("--archive", is_flag=True, help="Keep the spec(s) under tenants/archive/.")
@click.option(
    "--yes", "-y", "yes", is_flag=True, help="Do not ask (scripts); needed off a terminal."
)
@click.option(
    "--github",
    "github",
    is_flag=True,
    help="Then `github teardown` each student's repos (archived, not deleted).",
)
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
@today_option
@pass_ctx
def offboard(
    ctx: Ctx,
    students: tuple[str, ...],
    term: str,
    course: str,
    expired: bool,
    archive: bool,
    yes: bool,
    github: bool,
    dry_run: bool,
    push: bool,
    verify: bool,
    verify_timeout: float,
    today: str,
) -> None:
    """Offboard students."""
    from kuploy_gitops.ops import term as ops

    sel = make_selection(students, term, course, expired)
    if verify and sel.is_bulk():
        raise UsageError("--verify waits for one student", hint="offboard one STUDENT with it")
    specs = ops.select(ctx.repo, sel, today=parse_today(today))
    if not dry_run:  # it deletes: asked on a terminal, refused off one without --yes
        given = [*students, *(f"--{k} {v}" for k, v in (("term", term), ("course", course)) if v)]
        line = " ".join(["kuploy-gitops offboard", *given, *(["--expired"] if expired else [])])
        if not confirm(ctx, "offboard", specs, yes=yes, command=line):
            return
    outcome = ops.offboard_many(
        ctx.repo,
        [s.student for s in specs],
        archive=archive,
        scope=sel.describe(),
        dry_run=dry_run,
        push=push,
    )
    print_outcome(ctx, outcome, "offboarded", dry_run=dry_run)
    if dry_run:
        return
    if github:
        teardown_repos(ctx, outcome.specs)
    if verify:
        from kuploy_gitops.cli.argocd import verify_offboarding

        verify_offboarding(ctx, outcome.students[0], timeout=verify_timeout)


def teardown_repos(ctx: Ctx, specs: Sequence[TenantSpec]) -> None:
    """`github teardown` for each offboarded student with student-repo apps.

    Every student is tried; a failure is reported at the end (the offboarding is committed).
    """
    from kuploy_gitops.cli.github import print_steps
    from kuploy_gitops.github import teardown

    failed: list[str] = []
    last: KuployError | None = None
    for spec in specs:
        apps = tuple(a.name for a in spec.apps if a.mode == "repo")
        if not apps:
            ctx.console.print(f"github teardown {spec.student}: no student-repo app")
            continue
        opts = teardown.TeardownOptions(student=spec.student, apps=apps, github=spec.github)
        try:
            print_steps(ctx, teardown.teardown(ctx.repo, opts))
        except KuployError as exc:
            ctx.err.print(f"github teardown {spec.student} failed: {escape(str(exc))}")
            failed.append(spec.student)
            last = exc
    if last is not None:
        last.message = (
            f"github teardown failed for {', '.join(failed)} (offboarded all the same): "
            + last.message
        )
        last.hint = "re-run `kuploy-gitops github teardown STUDENT --app APP --github LOGIN`"
        raise last


@click.command(
    "list",
    help="List tenants with tier, apps, expiry and status (active, suspended, or expired: past "
    "its expiry, not yet suspended by `expire`); -o wide adds name and e-mail. Piped output is "
    "plain columns, never cut."
    + examples(
        "kuploy-gitops list",
        "kuploy-gitops list -l course=cs101,term=2026-2 -o wide",
        "kuploy-gitops list -l tier!=small --no-headers | wc -l",
        "kuploy-gitops list -l app=web -o name | xargs -n1 kuploy-gitops status",
        "kuploy-gitops list -l status=suspended",
        "kuploy-gitops list -o json",
    ),
)
@output_option("table", "wide", "name", "json", "yaml")
@click.option(
    "-l",
    "--selector",
    default="",
    metavar="KEY=VALUE,...",
    help="Only tenants that match: key=value or key!=value, comma-separated (all must hold); "
    "keys: student, github, name, email, tier, course, term, expires, status, app.",
)
@click.option("--no-headers", is_flag=True, help="Table output without the header line.")
@pass_ctx
def list_cmd(ctx: Ctx, output: str, selector: str, no_headers: bool) -> None:
    """List tenants."""
    from kuploy_gitops.ops import tenants

    rows = tenants.list_tenants(ctx.repo, selector)
    if output in ("json", "yaml"):
        print_data(rows, output)
        return
    if output == "name":
        for r in rows:
            click.echo(r["student"])
        return
    wide = output == "wide"
    columns = ["student", "github", *(["name", "email"] if wide else []), "tier", "course"]
    columns += ["term", "expires", "status", "apps"]
    print_table(
        ctx,
        columns,
        [[", ".join(r["apps"]) if c == "apps" else r[c] for c in columns] for r in rows],
        headers=not no_headers,
    )
