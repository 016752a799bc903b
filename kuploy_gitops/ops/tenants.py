"""``onboard`` (one student or a roster), ``offboard`` and ``list``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, names, roster, tenant_spec
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.errors import (
    GitError,
    InvalidInputError,
    KuployError,
    RosterError,
    UsageError,
)
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.ops.writing import (
    Progress,
    existing_tenant_files,
    finish,
    release_login,
    tenant_plan,
    writing,
)
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.tenant_spec import TenantSpec


@dataclass(frozen=True)
class OnboardOptions:
    """Inputs of ``onboard``; empty strings mean "not given" (keep the current value)."""

    student: str
    github: str = ""
    name: str = ""
    email: str = ""
    tier: str = ""
    course: str = ""
    term: str = ""
    expires: str = ""
    # An existing tenant's GitHub login changes only when asked (the commit names the change).
    change_github: bool = False


@dataclass
class OnboardOutcome:
    """What ``onboard`` did: the commit (or plan), the students it covers, the skipped rows."""

    result: ApplyResult
    students: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Roster header warnings (columns ignored)."""
    added: list[str] = field(default_factory=list)
    """Of ``students``: new tenants (a roster's summary); the others are ``updated``/unchanged."""
    updated: list[str] = field(default_factory=list)


def onboard_command(
    repo: Path,
    opts: OnboardOptions,
    roster_path: Path | None,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    push: bool = False,
    progress: Progress | None = None,
    columns: Mapping[str, str] | None = None,
) -> OnboardOutcome:
    """``onboard``: one student (``opts.student``) or a roster (``roster_path``), not both.

    With a roster, ``opts`` holds the defaults for every row (course, term, expiry...).
    """
    if roster_path is not None:
        if opts.student:
            raise UsageError(
                f"give either a student ({opts.student!r}) or --roster, not both",
                hint="drop one of them",
            )
        if opts.github:
            # One login for every row would bind one account to every student.
            raise UsageError(
                f"--github {opts.github!r} names one student's login; a roster gives each row "
                "its own",
                hint="drop --github and fill the roster's github_username column",
            )
        return onboard_roster(
            repo,
            roster_path,
            opts,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            push=push,
            progress=progress,
            columns=columns,
        )
    if columns:
        raise UsageError("--columns goes with --roster", hint="drop --columns, or give --roster")
    if not opts.student:
        raise UsageError("missing STUDENT", hint="give a student name or --roster FILE.csv")
    result = onboard(repo, opts, dry_run=dry_run, push=push)
    return OnboardOutcome(result=result, students=[opts.student])


def merged_spec(
    cfg: PlatformConfig, current: TenantSpec | None, opts: OnboardOptions
) -> TenantSpec:
    """The spec after onboarding: given values replace current ones, others are kept."""
    base = current or TenantSpec(student=opts.student, tier=cfg.default_tier)
    if relogin(current, opts.github) and not opts.change_github:
        raise InvalidInputError(
            f"{opts.student!r} is bound to GitHub login {base.github!r}; {opts.github!r} "
            "would rebind it",
            hint="pass --change-github to rebind the login (the commit names the change)",
        )
    spec = replace(
        base,
        github=opts.github or base.github,
        name=opts.name or base.name,
        email=opts.email or base.email,
        tier=opts.tier or base.tier,
        course=opts.course or base.course,
        term=opts.term or base.term,
        expires=opts.expires or base.expires,
    )
    # An unchanged past expiry of an existing tenant is not an error; a new one is.
    check_dates = bool(opts.expires) and opts.expires != (current.expires if current else "")
    tenant_spec.validate_spec(spec, cfg, check_dates=check_dates)
    return spec


def relogin(current: TenantSpec | None, github: str) -> str:
    """``"old -> new"`` when ``github`` would change the tenant's bound login, else ``""``."""
    if current is None or not current.github or not github:
        return ""
    if current.github.lower() == github.lower():
        return ""
    return f"GitHub login {current.github} -> {github}"


def specs_mentioning(git: GitRepo, needles: Iterable[str]) -> list[TenantSpec]:
    """The active tenants' specs whose text holds one of ``needles`` (case-insensitive).

    One ``git grep`` finds the candidate spec files and only those are parsed: a check against
    every other tenant stays a matter of a few files in a repo of thousands. Callers confirm
    the match on the parsed spec (the text may hold the needle elsewhere).
    """
    wanted = sorted({x.lower() for x in needles if x})
    if not wanted:
        return []
    patterns = [arg for needle in wanted for arg in ("-e", needle)]
    found = git.run(
        "grep",
        "-l",
        "-z",
        "-i",
        "-F",
        "--untracked",
        *patterns,
        "--",
        layout.TENANTS_DIR,
        check=False,
    )
    if found.returncode not in (0, 1):  # 1: no match
        raise GitError(f"git grep failed in {git.path}: {found.stderr.strip()}")
    specs: list[TenantSpec] = []
    for path in found.stdout.split("\0"):
        folder, _, name = path.rpartition("/")
        if folder != layout.TENANTS_DIR or not name.endswith(".yaml"):
            continue  # archived specs, other files
        spec = tenant_spec.read_spec(git.path, name.removesuffix(".yaml"))
        if spec is not None:
            specs.append(spec)
    return specs


def login_owners(git: GitRepo, logins: Iterable[str]) -> dict[str, str]:
    """The tenant bound to each of ``logins`` (lowercase login -> student), where one is.

    GitHub logins are case-insensitive, so ``Kim-GH`` and ``kim-gh`` are the same account.
    Each bound login has a file naming its tenant (``tenants/logins/<login>``), so this reads
    one file and one spec per login, whatever the number of tenants. A repo rendered before
    those files existed (no ``tenants/logins/README.md`` yet: `render` writes them all) is
    searched instead. Logins that are not GitHub logins are left out (their check refuses them).
    """
    wanted = {x.lower() for x in logins if x and names.GITHUB_LOGIN.match(x)}
    if not (git.path / layout.LOGINS_README).is_file():
        return {
            spec.github.lower(): spec.student
            for spec in specs_mentioning(git, wanted)
            if spec.github.lower() in wanted
        }
    owners: dict[str, str] = {}
    for login in sorted(wanted):
        try:
            text = (git.path / layout.login_marker(login)).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            continue
        student = text.strip()
        if not names.DNS_LABEL.match(student):
            continue  # not a file kuploy wrote: `validate` reports it as drift
        # The spec decides: a file left behind by a hand edit of the spec is drift, not a claim.
        try:
            spec = tenant_spec.read_spec(git.path, student)
        except KuployError:
            owners[login] = student  # a broken spec keeps its claim until it is mended
            continue
        if spec is not None and spec.github.lower() == login:
            owners[login] = student
    return owners


def check_login_free(spec: TenantSpec, owners: Mapping[str, str]) -> None:
    """A GitHub login belongs to one tenant: refuse it when another tenant has it already."""
    other = owners.get(spec.github.lower()) if spec.github else None
    if other is not None and other != spec.student:
        raise InvalidInputError(
            f"GitHub login {spec.github!r} already belongs to tenant {other!r}",
            hint=f"each login belongs to one tenant: check the login, or offboard {other!r} first",
        )


def onboard(
    repo: Path, opts: OnboardOptions, *, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Onboard (or update) one student; the same inputs again change nothing."""
    names.check_student_name(opts.student)
    with writing(repo, opts.student) as (git, cfg):
        current = tenant_spec.read_spec(repo, opts.student)
        spec = merged_spec(cfg, current, opts)
        check_login_free(spec, login_owners(git, [spec.github]))
        fplan = FilePlan(repo)
        tenant_plan(fplan, cfg, spec, current)
        verb = "update" if current else "onboard"
        change = relogin(current, opts.github)
        return finish(
            git,
            cfg,
            fplan,
            f"kuploy: {verb} student {spec.student}" + (f" ({change})" if change else ""),
            summary=f"student {spec.student}",
            dry_run=dry_run,
            push=push,
        )


def onboard_roster(
    repo: Path,
    path: Path,
    defaults: OnboardOptions,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    push: bool = False,
    progress: Progress | None = None,
    columns: Mapping[str, str] | None = None,
) -> OnboardOutcome:
    """Onboard every student of a roster in one commit.

    Every bad row is collected with its line number; unless ``skip_invalid``, any bad row
    stops the batch before anything is written. ``columns`` maps roles to headers the roster
    module does not know (``roster.parse_columns``).
    """
    rows, problems, warnings = roster.read_roster(path, columns)
    with writing(repo) as (git, cfg):
        specs: list[TenantSpec] = []
        changes: dict[str, str] = {}
        previous: dict[str, TenantSpec | None] = {}
        owners = login_owners(git, [row.github for row in rows])
        for row in rows:
            opts = replace(
                defaults,
                student=row.student,
                github=row.github,
                name=row.name or defaults.name,
                email=row.email or defaults.email,
                tier=row.tier or defaults.tier,
            )
            try:
                names.check_student_name(row.student, cfg.reserved_namespaces())
                current = tenant_spec.read_spec(repo, row.student)
                if current is None and (repo / layout.archived_spec(row.student)).exists():
                    raise InvalidInputError(
                        f"{row.student!r} was offboarded ({layout.archived_spec(row.student)})",
                        hint="onboard them by name to bring them back, or drop the row",
                    )
                spec = merged_spec(cfg, current, opts)
                check_login_free(spec, owners)
                specs.append(spec)
                previous[spec.student] = current
                change = relogin(current, opts.github)
                if change:
                    changes[spec.student] = change
            except KuployError as exc:
                problems.append((row.line, str(exc)))
        problems.sort()
        if problems and not skip_invalid:
            raise RosterError(str(path), problems)
        fplan = FilePlan(repo)
        for i, spec in enumerate(specs, 1):
            tenant_plan(fplan, cfg, spec, previous[spec.student])
            if progress:
                progress(i, len(specs))
        message = f"kuploy: onboard {len(specs)} student(s) from {path.name}\n\n" + "\n".join(
            f"- {s.student}" + (f" ({changes[s.student]})" if s.student in changes else "")
            for s in specs
        )
        result = finish(
            git, cfg, fplan, message, summary=f"roster {path.name}", dry_run=dry_run, push=push
        )
        return OnboardOutcome(
            result=result,
            students=[s.student for s in specs],
            skipped=problems,
            warnings=warnings,
            added=[s.student for s in specs if previous[s.student] is None],
            updated=[s.student for s in specs if previous[s.student] not in (None, s)],
        )


def offboard(
    repo: Path, student: str, *, archive: bool = False, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Remove a student's tenant (guards, project, Applications, workloads, spec) in one commit.

    Argo CD carries the removal out in a safe order: see ``layout`` (sync waves) and the
    tenant Application's deletion in reverse wave order.
    """
    # A tenant whose name became reserved later (a longer list, kuploy.yaml's
    # reserved_namespaces) must still be removable.
    names.check_student_name(student, allow_reserved=True)
    with writing(repo, student) as (git, cfg):
        spec = tenant_spec.require_spec(repo, student)
        fplan = FilePlan(repo)
        plan_offboard(fplan, spec, archive=archive)
        suffix = " (spec archived)" if archive else ""
        return finish(
            git,
            cfg,
            fplan,
            f"kuploy: offboard student {student}{suffix}",
            summary=f"student {student}",
            dry_run=dry_run,
            push=push,
        )


def plan_offboard(fplan: FilePlan, spec: TenantSpec, *, archive: bool) -> None:
    """Plan a tenant's removal: its rendered files, its login's file, its spec (or archive it)."""
    for path in existing_tenant_files(fplan.root, spec.student):
        fplan.delete(path)
    if spec.github:
        release_login(fplan, spec)
    fplan.delete(layout.tenant_spec(spec.student))
    if archive:
        fplan.write(layout.archived_spec(spec.student), tenant_spec.dump_spec(spec))


LIST_KEYS = (
    "student",
    "github",
    "name",
    "email",
    "tier",
    "course",
    "term",
    "expires",
    "status",
    "app",
)
"""The columns a `list` selector may name (``app``: one of the tenant's apps)."""


def list_tenants(
    repo: Path, selector: str = "", *, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """One row per tenant: student, github, name, email, tier, course, term, expires, status, apps.

    ``selector`` keeps the rows it selects (``course=cs101,tier!=large``: ops.selectors).
    ``status`` is ``active``, ``suspended`` or ``expired`` (``tenant_spec.tenant_status``, on
    ``today``).
    """
    from kuploy_gitops.ops.selectors import matching, parse_selector

    parse_selector(selector, LIST_KEYS)  # a bad selector fails before the specs are read
    load_config(repo)
    now = today or dt.date.today()
    rows: list[dict[str, Any]] = []
    for student in tenant_spec.list_students(repo):
        spec = tenant_spec.require_spec(repo, student)
        rows.append(
            {
                "student": spec.student,
                "github": spec.github,
                "name": spec.name,
                "email": spec.email,
                "tier": spec.tier,
                "course": spec.course,
                "term": spec.term,
                "expires": spec.expires,
                "status": tenant_spec.tenant_status(spec, now),
                "apps": [a.name for a in spec.apps],
            }
        )
    return matching(rows, selector, LIST_KEYS)
