"""Term operations: `suspend`, `resume`, `extend`, bulk `offboard`, `restore` and `expire`.

Each acts on one student, several, or a selection of the tenants (a term, a course, the
expired ones) and makes one commit that names every student it changed. A suspension lives in
the spec (``suspended: true``) and nowhere else: every other value of the spec stays as it was,
and the render applies it (``pods: 0`` in the quota, managed apps at ``replicas: 0``, the
repo-mode apps' auto-sync off). So `resume` renders byte for byte what was there before.

``today`` is a parameter of everything that compares dates, so tests (and `expire --today`)
can set the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from kuploy_gitops import layout, names, tenant_spec
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConflictError, InvalidInputError, UsageError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.ops.tenants import check_login_free, login_owners, plan_offboard
from kuploy_gitops.ops.writing import finish, tenant_plan, writing
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.tenant_spec import TenantSpec

DEFAULT_WARN_DAYS = 14


@dataclass(frozen=True)
class Selection:
    """Which tenants a term operation acts on: named students, or the filters (all must hold)."""

    students: tuple[str, ...] = ()
    term: str = ""
    course: str = ""
    expired: bool = False

    def describe(self) -> str:
        """The selection in words, for commit messages and summaries (``""`` for names)."""
        parts = [f"term {self.term}"] if self.term else []
        parts += [f"course {self.course}"] if self.course else []
        parts += ["expired"] if self.expired else []
        return ", ".join(parts)

    def is_bulk(self) -> bool:
        """Whether it may name more than one student (so the CLI asks before offboarding)."""
        return len(self.students) != 1


@dataclass
class TermOutcome:
    """What a term operation did: the commit (or plan), the students it changed, the others."""

    result: ApplyResult
    specs: list[TenantSpec] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def students(self) -> list[str]:
        """The students the commit changed, sorted."""
        return [s.student for s in self.specs]


def today_or(today: dt.date | None) -> dt.date:
    """``today``, or the machine's date when not given."""
    return today or dt.date.today()


def select(repo: Path, sel: Selection, *, today: dt.date | None = None) -> list[TenantSpec]:
    """The specs of the selected tenants, sorted by student.

    Raises:
        UsageError: nothing selects, or names are mixed with filters.
        ConflictError: a named student is not onboarded.
        InvalidInputError: a filter matches no tenant (a typo in a term should not pass quietly).
    """
    filters = sel.describe()
    if sel.students and filters:
        raise UsageError(
            f"give students ({', '.join(sel.students)}) or a selection ({filters}), not both",
            hint="drop one of them",
        )
    if not sel.students and not filters:
        raise UsageError(
            "no tenant selected", hint="give STUDENT(s), --term, --course or --expired"
        )
    for value, what in ((sel.term, "term"), (sel.course, "course")):
        if value:
            names.check_label_value(what, value)
    if sel.students:
        for student in sel.students:
            names.check_student_name(student, allow_reserved=True)
        return [tenant_spec.require_spec(repo, s) for s in sorted(set(sel.students))]
    now = today_or(today)
    found = [
        spec
        for spec in (tenant_spec.require_spec(repo, s) for s in tenant_spec.list_students(repo))
        if (not sel.term or spec.term == sel.term)
        and (not sel.course or spec.course == sel.course)
        and (not sel.expired or is_past(spec, now))
    ]
    if not found:
        raise InvalidInputError(
            f"no tenant matches {filters}", hint="`kuploy-gitops list` shows every tenant"
        )
    return found


def is_past(spec: TenantSpec, today: dt.date) -> bool:
    """Whether the tenant's expiry date has passed (suspended or not; the day itself counts)."""
    expires = tenant_spec.expiry_date(spec)
    return expires is not None and expires < today


def commit_message(verb: str, students: Sequence[str], scope: str, suffix: str = "") -> str:
    """``kuploy: <verb> student S`` for one, else a count, the scope and one line per student."""
    if len(students) == 1 and not scope:
        return f"kuploy: {verb} student {students[0]}{suffix}"
    head = f"kuploy: {verb} {len(students)} student(s)" + (f" ({scope})" if scope else "")
    return head + suffix + "\n\n" + "\n".join(f"- {s}" for s in students)


def _change_specs(
    repo: Path,
    sel: Selection,
    change: Callable[[TenantSpec], TenantSpec],
    verb: str,
    *,
    today: dt.date | None,
    dry_run: bool,
    push: bool,
) -> TermOutcome:
    """Apply ``change`` to every selected spec and re-render those that changed, one commit."""
    one = sel.students[0] if len(sel.students) == 1 else None
    with writing(repo, one) as (git, cfg):
        fplan = FilePlan(repo)
        changed: list[TenantSpec] = []
        unchanged: list[str] = []
        for spec in select(repo, sel, today=today):
            new = change(spec)
            if new == spec:
                unchanged.append(spec.student)
                continue
            tenant_plan(fplan, cfg, new, spec)
            changed.append(new)
        students = [s.student for s in changed]
        message = commit_message(verb, students, sel.describe())
        result = _finish(git, cfg, fplan, message, verb, students, dry_run=dry_run, push=push)
        return TermOutcome(result=result, specs=changed, unchanged=unchanged)


def _finish(
    git: GitRepo,
    cfg: PlatformConfig,
    fplan: FilePlan,
    message: str,
    verb: str,
    students: Sequence[str],
    *,
    dry_run: bool,
    push: bool,
) -> ApplyResult:
    if not students:
        return ApplyResult(summary=f"every selected tenant ({verb}: nothing to change)")
    summary = f"{len(students)} student(s)"
    return finish(git, cfg, fplan, message, summary=summary, dry_run=dry_run, push=push)


class WriteFlags(TypedDict, total=False):
    """The keywords every term write takes: the clock, ``--dry-run`` and ``--push``."""

    today: dt.date | None
    dry_run: bool
    push: bool


def suspend(repo: Path, sel: Selection, **flags: Unpack[WriteFlags]) -> TermOutcome:
    """Suspend the selected tenants: nothing runs, nothing new deploys, nothing is lost."""
    return set_suspended(repo, sel, True, **flags)


def resume(repo: Path, sel: Selection, **flags: Unpack[WriteFlags]) -> TermOutcome:
    """Undo `suspend`: the tenants render exactly as before it."""
    return set_suspended(repo, sel, False, **flags)


def set_suspended(
    repo: Path,
    sel: Selection,
    suspended: bool,
    *,
    today: dt.date | None = None,
    dry_run: bool = False,
    push: bool = False,
) -> TermOutcome:
    """:func:`suspend` (``suspended``) or :func:`resume` the selected tenants, in one commit."""
    return _change_specs(
        repo,
        sel,
        lambda s: replace(s, suspended=suspended),
        "suspend" if suspended else "resume",
        today=today,
        dry_run=dry_run,
        push=push,
    )


def extend(
    repo: Path,
    sel: Selection,
    until: str,
    *,
    today: dt.date | None = None,
    dry_run: bool = False,
    push: bool = False,
) -> TermOutcome:
    """Set the selected tenants' expiry to ``until`` (YYYY-MM-DD, from today on).

    A suspended tenant stays suspended (`resume` brings it back): extending is a date, not a
    decision to run the student's apps again.
    """
    names.check_expiry(until, today_or(today))
    return _change_specs(
        repo,
        sel,
        lambda s: replace(s, expires=until),
        f"extend until {until}",
        today=today,
        dry_run=dry_run,
        push=push,
    )


def offboard_many(
    repo: Path,
    students: Sequence[str],
    *,
    archive: bool = False,
    scope: str = "",
    dry_run: bool = False,
    push: bool = False,
) -> TermOutcome:
    """Offboard ``students`` in one commit whose message names every one of them.

    The CLI selects (:func:`select`), shows and asks, then passes the names it showed: the
    commit removes exactly the tenants the admin confirmed. ``scope`` says how they were
    selected (it goes into the commit message).
    """
    if not students:
        raise UsageError("no student to offboard", hint="give STUDENT(s) or a selection")
    for student in students:
        # A tenant whose name became reserved later must still be removable.
        names.check_student_name(student, allow_reserved=True)
    ordered = sorted(set(students))
    with writing(repo, ordered[0] if len(ordered) == 1 else None) as (git, cfg):
        specs = [tenant_spec.require_spec(repo, s) for s in ordered]
        fplan = FilePlan(repo)
        for spec in specs:
            plan_offboard(fplan, spec, archive=archive)
        single = len(ordered) == 1 and not scope  # the message one-student `offboard` writes
        suffix = "" if not archive else " (spec archived)" if single else ", specs archived"
        message = commit_message("offboard", ordered, scope, suffix)
        result = finish(
            git,
            cfg,
            fplan,
            message,
            summary=f"student {ordered[0]}" if len(ordered) == 1 else f"{len(ordered)} students",
            dry_run=dry_run,
            push=push,
        )
        return TermOutcome(result=result, specs=specs)


def restore(
    repo: Path,
    student: str,
    *,
    until: str = "",
    today: dt.date | None = None,
    dry_run: bool = False,
    push: bool = False,
) -> ApplyResult:
    """Bring an archived tenant back from ``tenants/archive/``: the same spec, the same apps.

    ``until`` sets a new expiry (an archived spec's own date has often passed).
    """
    names.check_student_name(student)
    if until:
        names.check_expiry(until, today_or(today))
    with writing(repo, student) as (git, cfg):
        if tenant_spec.read_spec(repo, student) is not None:
            raise ConflictError(
                f"student {student!r} is onboarded already",
                hint="restore brings back an offboarded tenant; `kuploy-gitops list` shows them",
            )
        spec = tenant_spec.read_archived_spec(repo, student)
        if spec is None:
            raise ConflictError(
                f"no archived spec for {student!r} ({layout.archived_spec(student)})",
                hint="only `offboard --archive` keeps a spec; onboard the student anew instead",
            )
        if until:
            spec = replace(spec, expires=until)
        tenant_spec.check_spec_file(spec, cfg, layout.archived_spec(student))
        check_login_free(spec, login_owners(git, [spec.github]))
        fplan = FilePlan(repo)
        tenant_plan(fplan, cfg, spec)
        fplan.delete(layout.archived_spec(student))
        return finish(
            git,
            cfg,
            fplan,
            f"kuploy: restore student {student} (from {layout.archived_spec(student)})",
            summary=f"student {student}",
            dry_run=dry_run,
            push=push,
        )


@dataclass
class ExpireOutcome:
    """What `expire` did: the suspension commit and who is about to expire (to warn them)."""

    result: ApplyResult
    suspended: list[TenantSpec]
    expiring: list[TenantSpec]
    today: dt.date

    def to_data(self) -> dict[str, Any]:
        """The outcome for ``-o json``: a list an admin can mail from."""

        def row(spec: TenantSpec) -> dict[str, Any]:
            expires = tenant_spec.expiry_date(spec)
            return {
                "student": spec.student,
                "name": spec.name,
                "email": spec.email,
                "github": spec.github,
                "course": spec.course,
                "term": spec.term,
                "expires": spec.expires,
                "days_left": (expires - self.today).days if expires else None,
            }

        return {
            "today": self.today.isoformat(),
            "suspended": [row(s) for s in self.suspended],
            "expiring": [row(s) for s in self.expiring],
            "commit": self.result.commit,
            "pushed": self.result.pushed,
        }


def expire(
    repo: Path,
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    today: dt.date | None = None,
    dry_run: bool = False,
    push: bool = False,
) -> ExpireOutcome:
    """Suspend every tenant past its expiry (one commit); list those expiring within ``warn_days``.

    Meant to run daily (the platform repo's kuploy-expire workflow): a second run the same day
    changes nothing. Already suspended tenants are neither suspended again nor warned.
    """
    if warn_days < 0:
        raise InvalidInputError(f"--warn-days {warn_days} is negative", hint="use 0 or more")
    now = today_or(today)
    with writing(repo) as (git, cfg):
        due: list[TenantSpec] = []
        expiring: list[TenantSpec] = []
        fplan = FilePlan(repo)
        for student in tenant_spec.list_students(repo):
            spec = tenant_spec.require_spec(repo, student)
            status = tenant_spec.tenant_status(spec, now)
            if status == "expired":
                tenant_plan(fplan, cfg, replace(spec, suspended=True), spec)
                due.append(spec)
            elif status == "active":
                expires = tenant_spec.expiry_date(spec)
                if expires is not None and (expires - now).days <= warn_days:
                    expiring.append(spec)
        students = [s.student for s in due]
        message = commit_message("suspend", students, f"expired before {now.isoformat()}")
        result = _finish(git, cfg, fplan, message, "expire", students, dry_run=dry_run, push=push)
    expiring.sort(key=lambda s: (s.expires, s.student))
    return ExpireOutcome(result=result, suspended=due, expiring=expiring, today=now)
