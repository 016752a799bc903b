"""Term commands: `suspend`, `resume`, `extend`, `restore`, `expire`; the bulk offboard prompt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kuploy_gitops.cli import complete, output
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
    push_option,
)
from kuploy_gitops.errors import InvalidInputError

if TYPE_CHECKING:
    from kuploy_gitops.ops.term import Selection, TermOutcome
    from kuploy_gitops.tenant_spec import TenantSpec

F = TypeVar("F", bound=Callable[..., Any])

# Names shown in a confirmation before "and N more": the admin reads them, a script does not.
SHOWN_NAMES = 40


def selection_options(f: F) -> F:
    """STUDENT... and the filters ``--term`` and ``--course`` (all must hold)."""
    f = click.option("--course", default="", help="Every tenant of this course.")(f)
    f = click.option("--term", default="", help="Every tenant of this term, e.g. 2026-fall.")(f)
    return click.argument(
        "students", nargs=-1, metavar="[STUDENT]...", shell_complete=complete.students
    )(f)


def today_option(f: F) -> F:
    """``--today DATE``: the date to compare expiries with (hidden: tests and dry runs)."""
    return click.option(
        "--today",
        "today",
        default="",
        hidden=True,
        help="Compare expiries with this date instead of today's (YYYY-MM-DD).",
    )(f)


def parse_today(value: str) -> dt.date | None:
    """The ``--today`` date, or ``None`` for the machine's date."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"--today {value!r} is not a date", hint="use YYYY-MM-DD") from exc


def make_selection(students: Sequence[str], term: str, course: str, expired: bool) -> Selection:
    """The :class:`Selection` of a command's arguments."""
    from kuploy_gitops.ops.term import Selection

    return Selection(students=tuple(students), term=term, course=course, expired=expired)


def print_outcome(ctx: Ctx, outcome: TermOutcome, verb: str, *, dry_run: bool) -> None:
    """The commit (or diff), then which students changed and which were already so."""
    print_result(ctx, outcome.result, dry_run=dry_run)
    if outcome.specs and not dry_run:
        ctx.console.print(f"{verb}: {escape(shown_names(outcome.students))}")
    if outcome.unchanged:
        ctx.console.print(f"unchanged (already so): {escape(shown_names(outcome.unchanged))}")


def shown_names(names: Sequence[str]) -> str:
    """The first :data:`SHOWN_NAMES` names, then how many more (the commit names them all)."""
    more = len(names) - SHOWN_NAMES
    return ", ".join(names[:SHOWN_NAMES]) + (f" and {more} more" if more > 0 else "")


def confirm(ctx: Ctx, action: str, specs: Sequence[TenantSpec], *, yes: bool, command: str) -> bool:
    """Unless ``yes``: show what ``action`` covers (on stderr), then ask on a terminal.

    ``command`` is the command line to repeat with ``--yes`` (see ``output.confirm``, which
    refuses, exit 2, when there is no terminal to ask on).
    """
    if yes:  # the command's output names them; scripts want their stderr for errors
        return True
    by_course: dict[str, int] = {}
    for spec in specs:
        key = " ".join(x for x in (spec.course, spec.term) if x) or "(no course)"
        by_course[key] = by_course.get(key, 0) + 1
    groups = ", ".join(f"{n} in {k}" for k, n in sorted(by_course.items()))
    shown = shown_names([s.student for s in specs])
    ctx.err.print(f"{action} {len(specs)} tenant(s) ({escape(groups)}): {escape(shown)}")
    return output.confirm(ctx, f"{action} these {len(specs)} tenant(s)?", yes=yes, command=command)


def _suspend_command(verb: str, help_text: str, example_lines: tuple[str, ...]) -> click.Command:
    """`suspend` or `resume`: the same arguments, one operation."""

    @click.command(verb, help=help_text + examples(*example_lines))
    @selection_options
    @dry_run_option
    @push_option
    @pass_ctx
    def command(
        ctx: Ctx, students: tuple[str, ...], term: str, course: str, dry_run: bool, push: bool
    ) -> None:
        from kuploy_gitops.ops import term as ops

        sel = make_selection(students, term, course, False)
        suspending = verb == "suspend"
        outcome = ops.set_suspended(ctx.repo, sel, suspending, dry_run=dry_run, push=push)
        print_outcome(ctx, outcome, f"{verb.removesuffix('e')}ed", dry_run=dry_run)
        repo_apps = any(a.mode == "repo" for s in outcome.specs for a in s.apps)
        if suspending and repo_apps and not dry_run:
            ctx.console.print(
                "note: pods of student-repo apps that run now keep running until they stop (the "
                "quota admits no new one): `kubectl -n STUDENT delete pods --all` stops them now."
            )

    return command


suspend = _suspend_command(
    "suspend",
    "Suspend tenants: their pods stop (managed apps at 0 replicas, the namespace's quota at 0 "
    "pods), their repo-mode apps stop auto-syncing; the spec keeps everything for `resume`.",
    (
        "kuploy-gitops suspend kim-minji",
        "kuploy-gitops suspend --term 2026-spring --push",
        "kuploy-gitops suspend --course cs101 --dry-run",
    ),
)
resume = _suspend_command(
    "resume",
    "Resume suspended tenants: everything renders as it did before `suspend`.",
    ("kuploy-gitops resume kim-minji", "kuploy-gitops resume --course cs101 --push"),
)


@click.command(
    help="Set tenants' expiry date (YYYY-MM-DD, not in the past). A suspended tenant stays "
    "suspended: `resume` it too."
    + examples(
        "kuploy-gitops extend kim-minji --until 2027-03-15",
        "kuploy-gitops extend --term 2026-fall --until 2027-03-15 --push",
    )
)
@selection_options
@click.option("--until", "until", required=True, help="The new expiry date, YYYY-MM-DD.")
@today_option
@dry_run_option
@push_option
@pass_ctx
def extend(
    ctx: Ctx,
    students: tuple[str, ...],
    term: str,
    course: str,
    until: str,
    today: str,
    dry_run: bool,
    push: bool,
) -> None:
    """Extend tenants."""
    from kuploy_gitops.ops import term as ops

    sel = make_selection(students, term, course, False)
    outcome = ops.extend(ctx.repo, sel, until, today=parse_today(today), dry_run=dry_run, push=push)
    print_outcome(ctx, outcome, f"extended until {until}", dry_run=dry_run)


@click.command(
    help="Bring back a tenant that `offboard --archive` kept: the same spec, the same apps."
    + examples(
        "kuploy-gitops restore kim-minji",
        "kuploy-gitops restore kim-minji --until 2027-08-31 --push",
    )
)
@click.argument("student", shell_complete=complete.archived)
@click.option("--until", "until", default="", help="A new expiry date, YYYY-MM-DD.")
@today_option
@dry_run_option
@push_option
@pass_ctx
def restore(ctx: Ctx, student: str, until: str, today: str, dry_run: bool, push: bool) -> None:
    """Restore an archived tenant."""
    from kuploy_gitops.ops import term as ops

    result = ops.restore(
        ctx.repo, student, until=until, today=parse_today(today), dry_run=dry_run, push=push
    )
    print_result(ctx, result, dry_run=dry_run)


@click.command(
    help="Suspend every tenant past its expiry in one commit, and list the tenants expiring "
    "within --warn-days (name, e-mail, expiry: a list to mail). The platform repo's "
    "kuploy-expire workflow runs it daily."
    + examples(
        "kuploy-gitops expire",
        "kuploy-gitops expire --warn-days 7 -o json",
        "kuploy-gitops expire --push",
    )
)
@click.option(
    "--warn-days",
    type=int,
    default=14,
    show_default=True,
    help="List the tenants expiring within this many days.",
)
@today_option
@output_option("table", "json")
@dry_run_option
@push_option
@pass_ctx
def expire(ctx: Ctx, warn_days: int, today: str, output: str, dry_run: bool, push: bool) -> None:
    """Suspend expired tenants; warn about the next ones."""
    from kuploy_gitops.ops import term as ops

    outcome = ops.expire(
        ctx.repo, warn_days=warn_days, today=parse_today(today), dry_run=dry_run, push=push
    )
    if output == "json":
        print_data(outcome.to_data(), "json")
        return
    data = outcome.to_data()
    if outcome.suspended:
        print_result(ctx, outcome.result, dry_run=dry_run)
        ctx.console.print(f"suspended (expired): {len(outcome.suspended)}")
        _print_rows(ctx, data["suspended"])
    else:
        ctx.console.print(f"nothing expired before {data['today']}.")
    if outcome.expiring:
        ctx.console.print(f"expiring within {warn_days} day(s): {len(outcome.expiring)}")
        _print_rows(ctx, data["expiring"])
    else:
        ctx.console.print(f"nothing expires within {warn_days} day(s).")


def _print_rows(ctx: Ctx, rows: list[dict[str, Any]]) -> None:
    print_table(
        ctx,
        ["student", "name", "email", "course", "term", "expires", "days left"],
        [
            [
                r["student"],
                r["name"],
                r["email"],
                r["course"],
                r["term"],
                r["expires"],
                r["days_left"],
            ]
            for r in rows
        ],
    )
