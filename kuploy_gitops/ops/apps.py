"""``app add`` and ``app remove``: a student's platform-managed or student-repo apps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kuploy_gitops import names, repourl, sizes, tenant_spec
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.errors import ConflictError, InvalidInputError, UsageError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.ops.tenants import specs_mentioning
from kuploy_gitops.ops.writing import commit_tenant, finish, tenant_plan, writing
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec


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
    size: str = sizes.DEFAULT_SIZE
    repo_url: str = ""
    path: str = "deploy"
    revision: str = "main"
    other_students_repo: bool = False  # the admin shares another student's repo on purpose


def parse_env_pair(text: str) -> tuple[str, str]:
    """Parse ``K=V`` (the value may contain ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InvalidInputError(
            f"--env {text!r} is not KEY=VALUE", hint="e.g. --env DATABASE_HOST=db"
        )
    return key, value


def check_env_once(pairs: Sequence[tuple[str, str]]) -> None:
    """Refuse an ``--env`` key given twice in one command (which value would win is a guess)."""
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InvalidInputError(f"--env {dupes[0]!r} is given twice", hint="give each key once")


def require_app(spec: TenantSpec, app: str) -> AppSpec:
    """The app ``app`` of a tenant; an unknown one is exit 5 naming the student's apps."""
    found = spec.app(app)
    if found is None:
        have = ", ".join(a.name for a in spec.apps) or "none"
        raise ConflictError(
            f"student {spec.student!r} has no app {app!r}",
            hint=f"their apps: {have} (`kuploy-gitops list` shows every student's)",
        )
    return found


def app_spec(opts: AppOptions) -> AppSpec:
    """The app as the spec stores it; refuses options that do not fit one mode."""
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
    check_env_once(opts.env)
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


def check_repo_owner(git: GitRepo, cfg: PlatformConfig, student: str, url: str) -> None:
    """Refuse another student's repo: one another tenant's app uses, or one named for them.

    A repo is another student's when another tenant's spec already has an app from it, or when
    its name is what `github setup` would call a repo of another student (``github.
    student_repo_name``; the longest matching student name wins, so ``kim-lee-web`` is
    ``kim-lee``'s, not ``kim``'s app ``lee-web``). Sharing one on purpose takes
    ``--other-students-repo``.
    """
    ref = cfg.student_repo(url)
    host, org = ref.host, cfg.github_org
    users = sorted(
        other.student
        # Every spelling (https, git@, ssh://) holds "org/name": only those specs are parsed.
        for other in specs_mentioning(git, [f"{ref.org}/{ref.name}"])
        if other.student != student
        and any(
            a.mode == "repo" and repourl.key_of(a.repo, host, org) == ref.key for a in other.apps
        )
    )
    named = repourl.named_for(ref.name, cfg.student_repo_name, tenant_spec.list_students(git.path))
    owner = users[0] if users else (named[0] if named and named[0] != student else "")
    if owner:
        why = "an app of" if users else "named for"
        raise InvalidInputError(
            f"repo {ref.org}/{ref.name} is {why} student {owner!r}, not {student!r}",
            hint=f"give {student}'s own repo, or pass --other-students-repo to share it on purpose",
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
    names.check_app_name(opts.app)
    app = app_spec(opts)
    names.check_student_name(opts.student)
    with writing(repo, opts.student) as (git, cfg):
        names.check_student_name(opts.student, cfg.reserved_namespaces())
        spec = tenant_spec.require_valid_spec(repo, opts.student, cfg)
        existing = spec.app(opts.app)
        if existing is not None and not replace_existing and existing != app:
            raise ConflictError(
                f"student {opts.student!r} already has an app {opts.app!r}",
                hint=f"change it in place with `kuploy-gitops app set {opts.student} {opts.app} "
                "--image ...` (see --help), or pick another name",
            )
        new = spec.with_app(app)
        tenant_spec.check_app(new, app, cfg)
        if app.mode == "repo" and not opts.other_students_repo:
            check_repo_owner(git, cfg, opts.student, app.repo)
        fplan = FilePlan(repo)
        tenant_plan(fplan, cfg, new)
        return finish(
            git,
            cfg,
            fplan,
            f"kuploy: add app {opts.app} for {opts.student} ({app.mode})",
            summary=f"app {opts.student}/{opts.app}",
            dry_run=dry_run,
            push=push,
        )


def app_url(repo: Path, student: str, app: str) -> str:
    """The https URL an app is served at (its host from ``ingress.host_pattern``).

    Served by Traefik with the platform's wildcard certificate once DNS points the domain at
    Traefik's LoadBalancer address (docs/admin-guide.md, "Reaching apps").
    """
    return url_of(load_config(repo), student, app)


def url_of(cfg: PlatformConfig, student: str, app: str) -> str:
    """:func:`app_url` with the config already loaded."""
    return f"https://{cfg.host(student, app)}/"


def app_remove(
    repo: Path, student: str, app: str, *, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Remove an app: its Application (whose finalizer deletes its objects) and manifests."""
    names.check_student_name(student)
    with writing(repo, student) as (git, cfg):
        spec = tenant_spec.require_valid_spec(repo, student, cfg)
        require_app(spec, app)
        only_for = [d.name for d in spec.databases if app in d.apps]
        if only_for:  # a database that serves named apps only would serve none (or all)
            raise ConflictError(
                f"database {only_for[0]!r} of {student!r} serves app {app!r} by name "
                "(db add --app)",
                hint=f"remove the database first (kuploy-gitops db remove {student} "
                f"{only_for[0]}: its data is deleted), or keep the app",
            )
        return commit_tenant(
            git,
            cfg,
            spec.without_app(app),
            f"kuploy: remove app {app} of {student}",
            summary=f"app {student}/{app}",
            dry_run=dry_run,
            push=push,
        )
