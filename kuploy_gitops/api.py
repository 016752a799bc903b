"""The operations behind every command: init, onboard, app add/remove, offboard, render, list.

Each writing operation follows one flow: recover any interrupted apply, check the repo, build a
:class:`~kuploy_gitops.plan.FilePlan` in memory for the touched tenant(s) only, validate it,
then (unless ``dry_run``) apply it atomically, commit and optionally push.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kuploy_gitops import config, layout, plan, render, roster, yamlio
from kuploy_gitops.config import AppSpec, PlatformConfig, TenantSpec
from kuploy_gitops.errors import (
    ConfigError,
    ConflictError,
    DriftError,
    FindingsError,
    InvalidInputError,
    KuployError,
    RosterError,
    UsageError,
)
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.validate import engine as validate_engine
from kuploy_gitops.validate.findings import ERROR

__all__ = [
    "connect_command",
    "AppOptions",
    "InitOptions",
    "OnboardOptions",
    "UsageError",
    "app_add",
    "app_remove",
    "demo",
    "init",
    "list_tenants",
    "offboard",
    "onboard",
    "onboard_roster",
    "parse_env_pair",
    "progress",
    "render_all",
    "render_check",
    "render_drift",
]


def connect_command(repo: Path) -> str:
    """The one command that connects Argo CD to the platform repo at ``repo``."""
    cfg = config.load_config(repo)
    return f"kubectl apply -n {cfg.argocd_namespace} -f {repo / layout.ROOT_APP_FILE}"


Progress_ = Callable[[int, int], None]  # (done, total)


# ---------------------------------------------------------------------------------------------
# Shared steps


@contextlib.contextmanager
def progress(console: Console, label: str) -> Iterator[Progress_]:
    """A rich progress bar on ``console`` (hidden when it is not a terminal)."""
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield report


@contextlib.contextmanager
def _writing(repo: Path, student: str | None = None) -> Iterator[tuple[GitRepo, PlatformConfig]]:
    """Open the platform repo for a write: recover, lock, load config, refuse dirty files.

    With ``student``, only the files that write can touch are checked for uncommitted changes
    (kuploy.yaml and that tenant's): a `git status` over every tenant would make onboarding
    into a repo of thousands of tenants cost more than into an empty one.
    """
    git = GitRepo(repo)
    cfg = config.load_config(repo)
    if not git.is_repo():
        raise ConfigError(
            f"{repo} has {layout.CONFIG_FILE} but is not the top of a git repo",
            hint="run kuploy-gitops from the platform repo's top folder (or -C it)",
        )
    with git.lock():
        plan.recover(git)
        dirty = git.dirty_paths(
            layout.OWNED_PATHS if student is None else layout.tenant_owned_paths(student)
        )
        if dirty:
            shown = ", ".join(dirty[:3]) + (" ..." if len(dirty) > 3 else "")
            raise ConflictError(
                f"uncommitted changes in files kuploy owns: {shown}",
                hint="commit or stash them first (git status shows them)",
            )
        yield git, cfg


def _finish(
    git: GitRepo,
    cfg: PlatformConfig,
    fplan: FilePlan,
    message: str,
    *,
    summary: str,
    dry_run: bool,
    push: bool,
) -> ApplyResult:
    _check_plan(fplan, cfg)
    if dry_run:
        changes = fplan.effective()
        return ApplyResult(
            summary=summary, message=message, changed=list(changes), diff=fplan.diff()
        )
    result = plan.apply(git, fplan, message, summary=summary)
    if push and result.changed:
        result.pushed = git.push()
        result.commit = git.head() or result.commit  # a rebase before the push rewrites it
    return result


def _check_plan(fplan: FilePlan, cfg: PlatformConfig) -> None:
    """Validate the change set with the repo around it before anything is written.

    Schemas, admission and isolation rules run on the touched tenants (kustomize builds are
    left to `validate` in CI: the admin's machine need not have kubectl). A missing Argo CD CRD
    folder is a setup gap reported by `validate`, not a reason to refuse an onboarding.
    """
    files = fplan.effective()
    if not any(t is not None for t in files.values()):
        return
    crd_dir = fplan.root / cfg.argocd_crd_dir if cfg.argocd_crd_dir else None
    # Cross-tenant rules read every tenant; kuploy's own names and hosts are unique by
    # construction (see _check_application_names), so they are left to `validate` in CI.
    found = validate_engine.validate_files(
        cfg, files, fplan.root, crd_dir=crd_dir, kustomize=False, cross_tenant=False
    )
    errors = [f for f in found if f.severity == ERROR and f.rule not in _SETUP_RULES]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise FindingsError(
            f"refusing to write {first.file}: {first.rule}: {first.message}{more}",
            hint=first.fix or "run `kuploy-gitops validate` for the full report",
        )


_SETUP_RULES = frozenset({"schema.unknown-kind"})


def _tenant_plan(fplan: FilePlan, cfg: PlatformConfig, spec: TenantSpec) -> None:
    """Plan a tenant's spec and rendered files, removing its files that are no longer rendered."""
    _check_application_names(fplan.root, spec)
    files = render.render_tenant(cfg, spec)
    for old in _existing_tenant_files(fplan.root, spec.student):
        if old not in files:
            fplan.delete(old)
    fplan.write(layout.tenant_spec(spec.student), config.dump_spec(spec))
    fplan.write_all(files)


def _check_application_names(root: Path, spec: TenantSpec) -> None:
    """Refuse an app whose Application name another tenant already has.

    Applications share one namespace and are named ``<student>-<app>``, so student ``kim-lee``
    with app ``web`` and student ``kim`` with app ``lee-web`` would collide. The candidates are
    found from the name's hyphens, so the check costs a few stat calls, whatever the repo size.
    """
    for app in spec.apps:
        full = layout.application_name(spec.student, app.name)
        for i, char in enumerate(full):
            if char != "-" or full[:i] == spec.student:
                continue
            other, other_app = full[:i], full[i + 1 :]
            if (root / layout.application_file(other, other_app)).is_file():
                raise ConflictError(
                    f"app {app.name!r} of {spec.student!r} would be Application {full!r}, which "
                    f"student {other!r} already has (app {other_app!r})",
                    hint="pick another app name",
                )


def _existing_tenant_files(root: Path, student: str) -> list[str]:
    out: list[str] = []
    for folder in (layout.tenant_dir(student), layout.workload_dir(student)):
        base = root / folder
        if base.is_dir():
            out.extend(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())
    return sorted(out)


def _require_spec(repo: Path, student: str) -> TenantSpec:
    spec = config.read_spec(repo, student)
    if spec is None:
        raise ConflictError(
            f"student {student!r} is not onboarded",
            hint=f"run `kuploy-gitops onboard {student}` first (`kuploy-gitops list` shows all)",
        )
    return spec


# ---------------------------------------------------------------------------------------------
# init


@dataclass(frozen=True)
class InitOptions:
    """Inputs of ``init``."""

    repo: Path
    cluster_name: str = "konkuk-lab"
    domain: str = "apps.konkuk.example"
    repo_url: str = ""
    branch: str = "main"
    github_org: str = "konkuk-kuploy"
    argocd_server: str = ""


def init(opts: InitOptions, *, dry_run: bool = False, push: bool = False) -> ApplyResult:
    """Create or adopt an empty git repo as a platform repo; a no-op when already initialised."""
    git = GitRepo(opts.repo)
    if (opts.repo / layout.CONFIG_FILE).is_file():
        cfg = config.load_config(opts.repo)
        return ApplyResult(summary=f"platform repo {opts.repo} ({cfg.cluster_name})")
    if opts.repo.exists() and not opts.repo.is_dir():
        raise InvalidInputError(f"{opts.repo} is a file", hint="give a folder for the repo")
    if git.is_repo():
        if not git.is_empty():
            raise ConflictError(
                f"{opts.repo} is a git repo with content but no {layout.CONFIG_FILE}",
                hint="init adopts only an empty repo; use a new folder",
            )
    elif opts.repo.exists() and any(opts.repo.iterdir()):
        raise ConflictError(
            f"{opts.repo} is a non-empty folder that is not a git repo",
            hint="give a new or empty folder",
        )
    for label in opts.domain.split("."):
        if not config.DNS_LABEL.match(label):
            raise InvalidInputError(
                f"domain {opts.domain!r} is not a DNS name", hint="e.g. apps.lab.konkuk.ac.kr"
            )
    if not config.DNS_LABEL.match(opts.cluster_name):
        raise InvalidInputError(
            f"cluster name {opts.cluster_name!r} is not a DNS label", hint="e.g. konkuk-lab"
        )
    config.check_github_login(opts.github_org)
    data = config.default_config_data(
        cluster_name=opts.cluster_name,
        domain=opts.domain,
        repo_url=opts.repo_url or f"https://github.com/{opts.github_org}/platform-gitops.git",
        branch=opts.branch,
        github_org=opts.github_org,
        argocd_server=opts.argocd_server,
    )
    cfg = config.parse_config(data)
    fplan = FilePlan(opts.repo)
    fplan.write(layout.CONFIG_FILE, yamlio.dump(data, header=_CONFIG_HEADER))
    fplan.write(layout.PLATFORM_README, render.render_platform_readme(cfg))
    fplan.write(f"{layout.TENANTS_DIR}/.gitkeep", "")
    fplan.write_all(render.render_platform(cfg))
    message = f"kuploy: init platform repo for {cfg.cluster_name}"
    summary = f"platform repo {opts.repo}"
    if dry_run:
        return ApplyResult(
            summary=summary, message=message, changed=list(fplan.effective()), diff=fplan.diff()
        )
    if not git.is_repo():
        git.init(opts.branch)
    git.tune_for_many_files()
    with git.lock():
        plan.recover(git)
        return _finish(git, cfg, fplan, message, summary=summary, dry_run=False, push=push)


_CONFIG_HEADER = (
    "kuploy-gitops platform config. Edit by hand and commit, then run `kuploy-gitops render`\n"
    "(it re-renders every tenant and commits the result).\n"
    "Tiers set each tenant's ResourceQuota (quota) and LimitRange (limits)."
)


# ---------------------------------------------------------------------------------------------
# onboard


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


def _merged_spec(
    cfg: PlatformConfig, current: TenantSpec | None, opts: OnboardOptions
) -> TenantSpec:
    """The spec after onboarding: given values replace current ones, others are kept."""
    base = current or TenantSpec(student=opts.student, tier=cfg.default_tier)
    given = {
        k: v
        for k, v in {
            "github": opts.github,
            "name": opts.name,
            "email": opts.email,
            "tier": opts.tier,
            "course": opts.course,
            "term": opts.term,
            "expires": opts.expires,
        }.items()
        if v
    }
    spec = replace(base, **given)  # type: ignore[arg-type]
    # An unchanged past expiry of an existing tenant is not an error; a new one is.
    check_dates = bool(opts.expires) and opts.expires != (current.expires if current else "")
    config.validate_spec(spec, cfg, check_dates=check_dates)
    if opts.expires and check_dates:
        config.check_expiry(opts.expires)
    return spec


def onboard(
    repo: Path, opts: OnboardOptions, *, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Onboard (or update) one student; the same inputs again change nothing."""
    config.check_student_name(opts.student)
    with _writing(repo, opts.student) as (git, cfg):
        current = config.read_spec(repo, opts.student)
        spec = _merged_spec(cfg, current, opts)
        fplan = FilePlan(repo)
        _tenant_plan(fplan, cfg, spec)
        verb = "update" if current else "onboard"
        return _finish(
            git,
            cfg,
            fplan,
            f"kuploy: {verb} student {spec.student}",
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
    progress: Progress_ | None = None,
) -> tuple[ApplyResult, list[tuple[int, str]]]:
    """Onboard every student of a roster in one commit.

    Every bad row is collected with its line number; unless ``skip_invalid``, any bad row
    stops the batch before anything is written. Returns the result and the skipped rows.
    """
    rows, problems = roster.read_roster(path)
    with _writing(repo) as (git, cfg):
        specs: list[TenantSpec] = []
        for row in rows:
            opts = replace(
                defaults,
                student=row.student,
                github=row.github or defaults.github,
                name=row.name or defaults.name,
                email=row.email or defaults.email,
                tier=row.tier or defaults.tier,
            )
            try:
                config.check_student_name(row.student, cfg)
                specs.append(_merged_spec(cfg, config.read_spec(repo, row.student), opts))
            except KuployError as exc:
                problems.append((row.line, str(exc)))
        problems.sort()
        if problems and not skip_invalid:
            raise RosterError(str(path), problems)
        fplan = FilePlan(repo)
        for i, spec in enumerate(specs, 1):
            _tenant_plan(fplan, cfg, spec)
            if progress:
                progress(i, len(specs))
        message = f"kuploy: onboard {len(specs)} student(s) from {path.name}\n\n" + "\n".join(
            f"- {s.student}" for s in specs
        )
        result = _finish(
            git, cfg, fplan, message, summary=f"roster {path.name}", dry_run=dry_run, push=push
        )
        return result, problems


# ---------------------------------------------------------------------------------------------
# apps


@dataclass(frozen=True)
class AppOptions:
    """Inputs of ``app add``: ``image`` + ``port`` (platform-managed) or ``repo_url``."""

    student: str
    app: str
    image: str = ""
    port: int | None = None
    env: Sequence[tuple[str, str]] = field(default_factory=tuple)
    health_path: str = "/"
    replicas: int = 1
    size: str = config.DEFAULT_SIZE
    repo_url: str = ""
    path: str = "deploy"
    revision: str = "main"


def parse_env_pair(text: str) -> tuple[str, str]:
    """Parse ``K=V`` (the value may contain ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InvalidInputError(
            f"--env {text!r} is not KEY=VALUE", hint="e.g. --env DATABASE_HOST=db"
        )
    return key, value


def _app_spec(opts: AppOptions) -> AppSpec:
    if opts.repo_url and (opts.image or opts.port is not None):
        raise UsageError(
            "--repo cannot be combined with --image/--port",
            hint="platform-managed apps take --image and --port; student-repo apps take --repo",
        )
    if opts.repo_url:
        return AppSpec(
            name=opts.app, mode="repo", repo=opts.repo_url, path=opts.path, revision=opts.revision
        )
    if not opts.image or opts.port is None:
        raise UsageError(
            f"app {opts.app!r} needs --image and --port (platform-managed) or --repo URL",
            hint="e.g. --image ghcr.io/org/web:1.0 --port 8080",
        )
    keys = [k for k, _ in opts.env]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InvalidInputError(f"--env {dupes[0]!r} is given twice", hint="give each key once")
    return AppSpec(
        name=opts.app,
        mode="managed",
        image=opts.image,
        port=opts.port,
        env=tuple(sorted(opts.env)),
        health_path=opts.health_path,
        replicas=opts.replicas,
        size=opts.size,
    )


def app_add(
    repo: Path,
    opts: AppOptions,
    *,
    dry_run: bool = False,
    replace_existing: bool = False,
    push: bool = False,
) -> ApplyResult:
    """Add an app to a student's tenant and render its Application (and manifests)."""
    config.check_app_name(opts.app)
    app = _app_spec(opts)
    config.check_student_name(opts.student)
    with _writing(repo, opts.student) as (git, cfg):
        spec = _require_spec(repo, opts.student)
        existing = spec.app(opts.app)
        if existing is not None and not replace_existing and existing != app:
            raise ConflictError(
                f"student {opts.student!r} already has an app {opts.app!r}",
                hint=f"remove it first (`kuploy-gitops app remove {opts.student} {opts.app}`) "
                "or pick another name",
            )
        new = spec.with_app(app)
        config.check_app(new, app, cfg)
        fplan = FilePlan(repo)
        _tenant_plan(fplan, cfg, new)
        return _finish(
            git,
            cfg,
            fplan,
            f"kuploy: add app {opts.app} for {opts.student} ({app.mode})",
            summary=f"app {opts.student}/{opts.app}",
            dry_run=dry_run,
            push=push,
        )


def app_remove(
    repo: Path, student: str, app: str, *, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Remove an app: its Application (whose finalizer deletes its objects) and manifests."""
    config.check_student_name(student)
    with _writing(repo, student) as (git, cfg):
        spec = _require_spec(repo, student)
        if spec.app(app) is None:
            have = ", ".join(a.name for a in spec.apps) or "none"
            raise ConflictError(
                f"student {student!r} has no app {app!r}", hint=f"their apps: {have}"
            )
        fplan = FilePlan(repo)
        _tenant_plan(fplan, cfg, spec.without_app(app))
        return _finish(
            git,
            cfg,
            fplan,
            f"kuploy: remove app {app} of {student}",
            summary=f"app {student}/{app}",
            dry_run=dry_run,
            push=push,
        )


# ---------------------------------------------------------------------------------------------
# offboard


def offboard(
    repo: Path, student: str, *, archive: bool = False, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Remove a student's Applications, project, guards, namespace and spec in one commit.

    Argo CD carries the removal out in a safe order: the root Application prunes the student's
    Applications first (their finalizer deletes the workloads), while the AppProject and the
    Namespace carry ``PruneLast=true`` and are pruned only after everything else.
    """
    config.check_student_name(student)
    with _writing(repo, student) as (git, cfg):
        spec = _require_spec(repo, student)
        fplan = FilePlan(repo)
        for path in _existing_tenant_files(repo, student):
            fplan.delete(path)
        fplan.delete(layout.tenant_spec(student))
        if archive:
            fplan.write(layout.archived_spec(student), config.dump_spec(spec))
        suffix = " (spec archived)" if archive else ""
        return _finish(
            git,
            cfg,
            fplan,
            f"kuploy: offboard student {student}{suffix}",
            summary=f"student {student}",
            dry_run=dry_run,
            push=push,
        )


# ---------------------------------------------------------------------------------------------
# render


def _all_rendered(repo: Path, cfg: PlatformConfig) -> dict[str, str]:
    files = render.render_platform(cfg)
    for student in config.list_students(repo):
        spec = config.read_spec(repo, student)
        assert spec is not None
        config.validate_spec(spec, cfg, check_dates=False)
        files.update(render.render_tenant(cfg, spec))
    return files


def _on_disk(repo: Path) -> list[str]:
    out: list[str] = []
    for root in render.rendered_roots():
        base = repo / root
        if base.is_dir():
            out.extend(p.relative_to(repo).as_posix() for p in base.rglob("*") if p.is_file())
    return out


def _render_plan(repo: Path, cfg: PlatformConfig) -> FilePlan:
    files = _all_rendered(repo, cfg)
    fplan = FilePlan(repo)
    for path in _on_disk(repo):
        if path not in files:
            fplan.delete(path)
    fplan.write_all(files)
    return fplan


def render_drift(repo: Path) -> list[str]:
    """Paths whose committed content differs from what the specs render to (or should not exist)."""
    cfg = config.load_config(repo)
    return list(_render_plan(repo, cfg).effective())


def render_check(repo: Path) -> list[str]:
    """Raise :class:`DriftError` listing every drifting file; return [] when clean."""
    drift = render_drift(repo)
    if drift:
        raise DriftError(drift)
    return drift


def render_all(repo: Path, *, dry_run: bool = False, push: bool = False) -> ApplyResult:
    """Re-render every tenant and the platform manifests; commit what changed."""
    with _writing(repo) as (git, cfg):
        fplan = _render_plan(repo, cfg)
        return _finish(
            git,
            cfg,
            fplan,
            "kuploy: re-render all tenants",
            summary="every tenant",
            dry_run=dry_run,
            push=push,
        )


# ---------------------------------------------------------------------------------------------
# list


def list_tenants(repo: Path) -> list[dict[str, Any]]:
    """One row per tenant: student, github, tier, course, term, expires, apps."""
    config.load_config(repo)
    rows: list[dict[str, Any]] = []
    for student in config.list_students(repo):
        spec = config.read_spec(repo, student)
        assert spec is not None
        rows.append(
            {
                "student": spec.student,
                "github": spec.github,
                "tier": spec.tier,
                "course": spec.course,
                "term": spec.term,
                "expires": spec.expires,
                "apps": [a.name for a in spec.apps],
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# demo


def demo(directory: Path, *, progress: Progress_ | None = None) -> list[tuple[str, str]]:
    """Build a demo platform repo: init, the sample roster onboarded, two apps added."""
    init(InitOptions(repo=directory))
    sample = render.templates_dir() / "demo" / "roster.csv"
    term_end = dt.date.today().replace(month=12, day=31) + dt.timedelta(days=60)
    defaults = OnboardOptions(student="", course="cs101", term="demo", expires=term_end.isoformat())
    if not config.list_students(directory):
        onboard_roster(directory, sample, defaults, progress=progress)
    first = config.list_students(directory)[0]
    spec = config.read_spec(directory, first)
    assert spec is not None
    if spec.app("web") is None:
        app_add(
            directory,
            AppOptions(
                student=first,
                app="web",
                image="ghcr.io/nginxinc/nginx-unprivileged:1.27-alpine",
                port=8080,
                env=(("GREETING", "hello: world"),),
                health_path="/",
                size="tiny",
            ),
        )
    cfg = config.load_config(directory)
    students = config.list_students(directory)
    return [
        ("platform config", str(directory / layout.CONFIG_FILE)),
        ("root Application", str(directory / layout.ROOT_APP_FILE)),
        ("tenants onboarded", f"{len(students)}: {', '.join(students)}"),
        ("tenant manifests", str(directory / layout.TENANT_MANIFESTS_DIR)),
        ("platform-managed app", str(directory / layout.workload_dir(first, "web"))),
        ("app URL", f"https://{cfg.host(first, 'web')}"),
        ("next", connect_command(directory)),
    ]
