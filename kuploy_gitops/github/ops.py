"""`github setup` and `github teardown`: a student's GitHub repo, access, webhook, Application.

Every step first reads the current state and acts only on what is missing or wrong, so a
re-run repairs what a failed run left undone and changes nothing that is already right:

1. the student's GitHub login exists;
2. the repo ``<org>/<student_repo_name>`` exists (from the template repo when configured),
   is not archived and has the configured visibility;
3. the scaffold (:mod:`kuploy_gitops.scaffold`) is on the default branch: all of it in one
   commit on a fresh repo; later only missing files are added (the student owns the rest),
   and the public rules under ``.kuploy/`` are kept current; its workflow deploys to the
   branch ``kuploy-deploy`` (made by the first deploy), which the Application tracks;
4. the student is a collaborator with write access (or has a pending invitation for it), and a
   member of the course team when one is configured (a team that grants nothing on repos);
5. the Argo CD webhook exists (only when ``github.webhook`` says Argo CD is reachable);
6. Argo CD fetches the repo with its own read-only deploy key, scoped to the student's
   AppProject (:mod:`kuploy_gitops.github.deploykey`; no org-wide credential);
7. the platform repo has the student-repo Application (``ops.apps.app_add``) for the repo's SSH
   URL (the one the deploy key opens) and its deploy branch
   (:func:`kuploy_gitops.github.scaffold.deploy_revision`), committed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, sizes
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import (
    ConfigError,
    ConflictError,
    CredentialsError,
    InvalidInputError,
    ProviderError,
)
from kuploy_gitops.github import deploykey, scaffold
from kuploy_gitops.github.deploykey import RepoRegistry
from kuploy_gitops.github.provider import GitProvider, RepoInfo
from kuploy_gitops.github.scaffold import git_blob_sha
from kuploy_gitops.ops import apps
from kuploy_gitops.tenant_spec import TenantSpec

WEBHOOK_SECRET_ENV = "KUPLOY_ARGOCD_WEBHOOK_SECRET"
THROTTLE_ENV = "KUPLOY_GITHUB_THROTTLE"
WEBHOOK_EVENTS = ("push",)
WRITE_PERMISSIONS = ("write", "maintain", "admin")
# A repo generated from a template gets its first commit asynchronously.
BRANCH_WAIT_TRIES = 10
BRANCH_WAIT_SECONDS = 2.0

Progress_ = Callable[[int, int], None]


@dataclass(frozen=True)
class SetupOptions:
    """Inputs of ``github setup``: the student, the app and how its ``deploy/`` starts."""

    student: str
    app: str = "web"
    stack: str = ""  # "": no Dockerfile (see scaffold.ScaffoldOptions)
    port: int | None = None  # None: the stack's, else 8080
    health_path: str | None = None  # None: the stack's, else "/"
    size: str = sizes.DEFAULT_SIZE
    replicas: int = 1
    push: bool = False  # push the platform repo commit
    rotate_key: bool = False  # replace the repo's deploy key even when it works

    def scaffold_options(self, *, private: bool, branch: str) -> scaffold.ScaffoldOptions:
        """The scaffold options for this student and app."""
        return scaffold.ScaffoldOptions(
            student=self.student,
            app=self.app,
            stack=self.stack,
            port=self.port,
            health_path=self.health_path,
            size=self.size,
            replicas=self.replicas,
            private=private,
            branch=branch,
        )


@dataclass(frozen=True)
class Step:
    """One step of a setup or teardown and what it did."""

    name: str
    status: str  # "created", "repaired", "ok", "skipped", "removed"
    detail: str = ""

    @property
    def changed(self) -> bool:
        """Whether the step changed anything."""
        return self.status in ("created", "repaired", "removed")


@dataclass
class SetupResult:
    """What ``github setup`` did for one student's app."""

    student: str
    app: str
    repo: str = ""
    url: str = ""
    steps: list[Step] = field(default_factory=list)
    pull_secret_command: str = ""

    @property
    def changed(self) -> bool:
        """Whether any step changed anything."""
        return any(s.changed for s in self.steps)

    def to_data(self) -> dict[str, Any]:
        """The result for ``-o json``."""
        return {
            "student": self.student,
            "app": self.app,
            "repo": self.repo,
            "url": self.url,
            "changed": self.changed,
            "steps": [{"step": s.name, "status": s.status, "detail": s.detail} for s in self.steps],
            "pull_secret_command": self.pull_secret_command,
        }


def connect(cfg: PlatformConfig, environ: Mapping[str, str] | None = None) -> GitProvider:
    """The GitHub provider as ``kuploy.yaml`` and the environment configure it."""
    from kuploy_gitops.github import (
        pygithub as github,  # the PyGithub import stays lazy for other commands
    )

    env = os.environ if environ is None else environ
    throttle = env.get(THROTTLE_ENV, "1") not in ("0", "false", "no")
    return github.connect(cfg.github, cfg.github_org, environ=env, throttle=throttle)


def check_credentials(repo: Path, environ: Mapping[str, str] | None = None) -> None:
    """Fail now if `github setup` would lack credentials (before `onboard` commits anything).

    Checks without connecting: the GitHub token or App, Argo CD's server and credentials (the
    deploy keys are registered there) and the webhook secret when webhooks are on.

    Raises:
        CredentialsError: GitHub or Argo CD credentials are not set.
        ConfigError: no Argo CD server, or the webhook is on without its secret.
    """
    from kuploy_gitops.argocd import ops as argocd_ops
    from kuploy_gitops.argocd.localconfig import credentials_for
    from kuploy_gitops.config import load_config
    from kuploy_gitops.github import pygithub as github  # PyGithub stays lazy elsewhere

    env = os.environ if environ is None else environ
    cfg = load_config(repo)
    github.require_token(cfg.github, env)
    try:
        conn = argocd_ops.resolve_connection(repo, argocd_ops.ConnectOptions(), env)
        credentials_for(conn.server, env)
    except (ConfigError, CredentialsError) as exc:
        raise type(exc)(
            f"each student repo's read-only deploy key is registered in Argo CD: {exc.message}",
            hint=exc.hint,
        ) from exc
    webhook_secret(cfg, env)


@contextmanager
def provider_for(
    cfg: PlatformConfig, given: GitProvider | None, environ: Mapping[str, str] | None
) -> Iterator[GitProvider]:
    """``given`` (tests pass a fake), or a connection from the config, closed afterwards."""
    if given is not None:
        yield given
        return
    provider = connect(cfg, environ)
    try:
        yield provider
    finally:
        provider.close()


def _require_login(spec: TenantSpec) -> str:
    if not spec.github:
        raise InvalidInputError(
            f"student {spec.student!r} has no GitHub login in the tenant spec",
            hint=f"run `kuploy-gitops onboard {spec.student} --github LOGIN` first",
        )
    return spec.github


def webhook_secret(cfg: PlatformConfig, env: Mapping[str, str]) -> str:
    """The Argo CD webhook secret when ``github.webhook`` is on ("" when it is off).

    Raises:
        ConfigError: the webhook is on but argocd.server is not a URL or the secret is not set.
    """
    if not cfg.github.webhook:
        return ""
    if not cfg.argocd_server.startswith(("https://", "http://")):
        raise ConfigError(
            f"github.webhook is on but argocd.server {cfg.argocd_server!r} is not a URL",
            hint="set argocd.server in kuploy.yaml to Argo CD's public https:// address",
        )
    secret = env.get(WEBHOOK_SECRET_ENV, "")
    if not secret:
        raise ConfigError(
            f"github.webhook is on but {WEBHOOK_SECRET_ENV} is not set",
            hint="export the secret configured as webhook.github.secret in Argo CD's argocd-secret",
        )
    return secret


def webhook_url(cfg: PlatformConfig) -> str:
    """Argo CD's webhook endpoint."""
    return cfg.argocd_server.rstrip("/") + "/api/webhook"


# ---------------------------------------------------------------------------------------------
# setup


def check_setup(
    repo: Path, opts: SetupOptions
) -> tuple[PlatformConfig, TenantSpec, dict[str, Any], str]:
    """What `github setup` checks before it talks to anyone: (config, spec, config data, login).

    Raises:
        ConflictError, InvalidInputError: as :func:`setup`, for what is known locally.
    """
    base = scaffold.ScaffoldOptions(student=opts.student, app=opts.app)
    cfg, spec, config_data = scaffold.load_inputs(repo, base)
    login = _require_login(spec)
    private = cfg.github.private
    # Check the app's options before anything is created.
    scaffold.app_spec(cfg, spec, opts.scaffold_options(private=private, branch="main"))
    existing = spec.app(opts.app)
    if existing is not None and existing.mode != "repo":
        raise ConflictError(
            f"student {opts.student!r} already has a platform-managed app {opts.app!r}",
            hint=f"pick another app name, or remove it first (`kuploy-gitops app remove "
            f"{opts.student} {opts.app}`)",
        )
    name = scaffold.repo_name(cfg, opts.student, opts.app)
    full_name = f"{cfg.github_org}/{name}"
    if existing is not None and not deploykey.same_repo(existing.repo, cfg.github_org, name):
        raise ConflictError(
            f"app {opts.app!r} of {opts.student!r} already deploys from {existing.repo}, "
            f"not from {full_name}",
            hint=f"remove it first (`kuploy-gitops app remove {opts.student} {opts.app}`) or "
            "pick another app name",
        )
    return cfg, spec, dict(config_data), login


def setup(
    repo: Path,
    opts: SetupOptions,
    *,
    provider: GitProvider | None = None,
    argocd: RepoRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SetupResult:
    """Create or repair one student's repo for ``opts.app`` (see the module docstring).

    ``provider`` and ``argocd`` default to connections from kuploy.yaml and the environment
    (``GITHUB_TOKEN``; ``ARGOCD_SERVER`` and ``ARGOCD_AUTH_TOKEN``).

    Raises:
        ConflictError: the student is not onboarded, or has an app of that name that is not
            this repo.
        InvalidInputError: no GitHub login, the login does not exist, bad app options.
        CredentialsError: no GitHub or Argo CD credentials.
        ConfigError: no Argo CD server, or the webhook secret is not set.
        ArgoCDError: Argo CD refused the repository (a re-run replaces the key).
        ProviderError: GitHub failed (a re-run resumes).
    """
    cfg, spec, config_data, login = check_setup(repo, opts)
    secret = webhook_secret(cfg, os.environ if environ is None else environ)
    with (
        deploykey.registry_for(repo, argocd, environ) as registry,
        provider_for(cfg, provider, environ) as gh,
    ):
        return _setup(repo, cfg, spec, config_data, opts, login, secret, gh, registry, sleep)


def _setup(
    repo: Path,
    cfg: PlatformConfig,
    spec: TenantSpec,
    config_data: dict[str, Any],
    opts: SetupOptions,
    login: str,
    secret: str,
    gh: GitProvider,
    registry: RepoRegistry,
    sleep: Callable[[float], None],
) -> SetupResult:
    org = cfg.github_org
    name = scaffold.repo_name(cfg, opts.student, opts.app)
    result = SetupResult(student=opts.student, app=opts.app, repo=f"{org}/{name}")
    if not gh.user_exists(login):
        raise InvalidInputError(
            f"GitHub user {login!r} (student {opts.student!r}) does not exist",
            hint=f"fix the login with `kuploy-gitops onboard {opts.student} --github LOGIN`",
        )
    info, step = _ensure_repo(cfg, gh, org, name, spec, opts.app, login)
    result.steps.append(step)
    result.url = info.html_url
    head = _wait_for_branch(gh, info, sleep)
    sopts = opts.scaffold_options(private=info.private, branch=info.default_branch)
    url = deploykey.source_url(info)
    files = scaffold.scaffold_files(
        cfg, spec, sopts, config_data, repo_url=url, sealing_cert=scaffold.sealing_cert(repo)
    )
    step, existing = _ensure_scaffold(gh, info, head, files, opts)
    result.steps.append(step)
    result.steps.append(_ensure_collaborator(gh, info, login))
    if cfg.github.course_team:
        gh.add_team_member(org, cfg.github.course_team, login)
        result.steps.append(Step("course team", "ok", f"{org}/{cfg.github.course_team}"))
    if cfg.github.webhook:
        result.steps.append(_ensure_webhook(gh, info, webhook_url(cfg), secret))
    else:
        result.steps.append(Step("webhook", "skipped", "github.webhook is off (Argo CD polls)"))
    status, detail = deploykey.ensure(
        gh,
        registry,
        info,
        title=deploykey.key_title(cfg),
        project=layout.project_name(opts.student),
        rotate=opts.rotate_key,
    )
    result.steps.append(Step(deploykey.STEP, status, detail))
    current = spec.app(opts.app)
    tracked = current.revision if current is not None else ""
    revision = scaffold.deploy_revision(gh, info, files, existing, tracked)
    result.steps.append(_ensure_application(repo, spec, opts, info, url, revision))
    if info.private:
        result.pull_secret_command = scaffold.pull_secret_command(cfg, opts.student)
    return result


def owner_marker(cfg: PlatformConfig, name: str, student: str, login: str) -> str:
    """The description `github setup` gives a repo it makes: the mark of whose repo it is.

    Set in the same call that creates the repo (so a run interrupted right after still finds
    its repo marked) and changeable only by org admins, not by the student (write access).
    """
    return (
        f"{name}: deployed by kuploy to {cfg.cluster_name} for {student} (GitHub {login.lower()})"
    )


def _ensure_repo(
    cfg: PlatformConfig,
    gh: GitProvider,
    org: str,
    name: str,
    spec: TenantSpec,
    app: str,
    login: str,
) -> tuple[RepoInfo, Step]:
    want_private = cfg.github.private
    marker = owner_marker(cfg, name, spec.student, login)
    info = gh.get_repo(org, name)
    if info is None:
        if cfg.github.template_repo:
            info = gh.create_repo_from_template(
                cfg.github.template_repo, org, name, private=want_private, description=marker
            )
            how = f"from template {cfg.github.template_repo}"
        else:
            info = gh.create_repo(org, name, private=want_private, description=marker)
            how = "empty"
        return info, Step(
            "repo",
            "created",
            f"{info.full_name} ({how}, {'private' if info.private else 'public'})",
        )
    # An existing repo is adopted only when it is this student's: marked so by an earlier run,
    # or already deployed from by this app (the platform repo says so: an admin's `app add` or
    # a setup from before the marker). Last term's archived repo of another student with the
    # same name is neither, and is never unarchived and handed over with its history.
    current = spec.app(app)
    recorded = (
        current is not None
        and current.mode == "repo"
        and deploykey.same_repo(current.repo, info.owner, info.name)
    )
    if info.description.strip().lower() != marker.lower() and not recorded:
        raise ProviderError(
            f"{info.full_name} already exists and is not marked as {spec.student}'s "
            f"(GitHub {login}){' and is archived' if info.archived else ''}",
            hint="rename or delete that repo on GitHub (e.g. last term's), or set up this "
            f"student's app under another name; to hand it over on purpose, set its "
            f"description to {marker!r} and re-run",
        )
    fixes: list[str] = []
    if info.archived:
        info = gh.update_repo(org, name, archived=False)
        fixes.append("unarchived")
    if info.private != want_private:
        info = gh.update_repo(org, name, private=want_private)
        fixes.append("made " + ("private" if want_private else "public"))
    if info.description != marker:
        info = gh.update_repo(org, name, description=marker)
        fixes.append("marked as " + spec.student + "'s")
    if fixes:
        return info, Step("repo", "repaired", f"{info.full_name}: {', '.join(fixes)}")
    return info, Step("repo", "ok", info.full_name)


def _wait_for_branch(gh: GitProvider, info: RepoInfo, sleep: Callable[[float], None]) -> str:
    for attempt in range(BRANCH_WAIT_TRIES):
        head = gh.branch_head(info.owner, info.name, info.default_branch)
        if head is not None:
            return head
        if attempt + 1 < BRANCH_WAIT_TRIES:
            sleep(BRANCH_WAIT_SECONDS)
    raise ProviderError(
        f"{info.full_name} has no commit on {info.default_branch} yet",
        hint="GitHub may still be generating it from the template: re-run in a minute; a repo "
        "made outside kuploy needs one commit (e.g. a README) first",
    )


def _ensure_scaffold(
    gh: GitProvider, info: RepoInfo, head: str, files: Mapping[str, str], opts: SetupOptions
) -> tuple[Step, Mapping[str, str]]:
    """Commit the missing scaffold files; also returns the blobs the repo had before."""
    existing = gh.tree_blobs(info.owner, info.name, head)
    todo = {
        path: text
        for path, text in files.items()
        if path not in existing
        or (scaffold.is_platform_owned(path) and existing[path] != git_blob_sha(text))
    }
    if not todo:
        return Step("scaffold", "ok", f"{len(files)} files in place"), existing
    fresh = all(path not in existing for path in files)
    message = (
        f"kuploy: scaffold {opts.app} for {opts.student}\n\n"
        f"deploy/ (Deployment, Service, Ingress), the kuploy-deploy workflow, "
        f"{layout.STUDENT_GUIDE_FILE} and the platform rules."
        if fresh
        else f"kuploy: restore scaffold files of {opts.app}\n\n"
        + "\n".join(f"- {p}" for p in sorted(todo))
    )
    sha = gh.commit_files(info.owner, info.name, info.default_branch, head, todo, message)
    status = "created" if fresh else "repaired"
    return Step("scaffold", status, f"{len(todo)} file(s) in one commit {sha[:12]}"), existing


def _ensure_collaborator(gh: GitProvider, info: RepoInfo, login: str) -> Step:
    permission = gh.collaborator_permission(info.owner, info.name, login)
    if permission in WRITE_PERMISSIONS:
        return Step("collaborator", "ok", f"{login} has {permission}")
    if permission is None:
        pending = gh.invitation_permission(info.owner, info.name, login)
        if pending in WRITE_PERMISSIONS:
            return Step("collaborator", "ok", f"{login} is invited ({pending}), not yet accepted")
    gh.add_collaborator(info.owner, info.name, login, "push")
    if permission is None:
        return Step("collaborator", "created", f"{login} added or invited with write")
    return Step("collaborator", "repaired", f"{login} raised from {permission} to write")


def _ensure_webhook(gh: GitProvider, info: RepoInfo, url: str, secret: str) -> Step:
    hooks = [h for h in gh.list_hooks(info.owner, info.name) if h.url == url]
    if not hooks:
        hook = gh.create_hook(info.owner, info.name, url=url, secret=secret, events=WEBHOOK_EVENTS)
        return Step("webhook", "created", f"{url} (id {hook.id})")
    hook = hooks[0]
    right = hook.active and hook.content_type == "json" and set(hook.events) == set(WEBHOOK_EVENTS)
    if right:
        return Step("webhook", "ok", f"{url} (id {hook.id})")
    gh.update_hook(info.owner, info.name, hook.id, url=url, secret=secret, events=WEBHOOK_EVENTS)
    return Step("webhook", "repaired", f"{url} (id {hook.id}) reset to active push/json")


def _ensure_application(
    repo: Path, spec: TenantSpec, opts: SetupOptions, info: RepoInfo, url: str, revision: str
) -> Step:
    # The same repo (checked by setup) under another URL form, e.g. the https URL of an older
    # kuploy, moves to the SSH URL the deploy key opens.
    result = apps.app_add(
        repo,
        apps.AppOptions(
            student=opts.student,
            app=opts.app,
            repo_url=url,
            path=layout.STUDENT_DEPLOY_DIR,
            revision=revision,
        ),
        replace_existing=True,
        push=opts.push,
    )
    where = f"{layout.application_file(opts.student, opts.app)} (tracks {revision})"
    if not result.changed:
        return Step("application", "ok", where)
    status = "created" if spec.app(opts.app) is None else "repaired"
    return Step("application", status, f"committed {result.commit[:12]} {where}")
