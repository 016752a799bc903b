"""``github teardown``: a student's repos archived, never deleted, after offboarding.

Before archiving, the repo loses what gave others access: the Argo CD webhook, the student as
collaborator, and Argo CD's read-only deploy key with the project-scoped Argo CD repository that
held its private half.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kuploy_gitops import config, layout, names, tenant_spec
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.github import deploykey, scaffold
from kuploy_gitops.github.deploykey import RepoRegistry
from kuploy_gitops.github.ops import SetupResult, Step, provider_for, webhook_url
from kuploy_gitops.github.provider import GitProvider


@dataclass(frozen=True)
class TeardownOptions:
    """Inputs of ``github teardown``; ``apps``/``github`` are needed once the spec is gone."""

    student: str
    apps: tuple[str, ...] = ()
    github: str = ""


def targets(repo: Path, opts: TeardownOptions) -> tuple[PlatformConfig, list[str], str]:
    """(config, apps whose repos go, GitHub login): what teardown works on, known locally.

    Raises:
        InvalidInputError: a bad student name, or no student-repo app known.
    """
    cfg = config.load_config(repo)
    names.check_student_name(opts.student, cfg.reserved_namespaces())
    spec = tenant_spec.read_spec(repo, opts.student) or tenant_spec.read_archived_spec(
        repo, opts.student
    )
    apps = list(opts.apps) or (
        [a.name for a in spec.apps if a.mode == "repo"] if spec is not None else []
    )
    login = opts.github or (spec.github if spec is not None else "")
    if not apps:
        raise InvalidInputError(
            f"no student-repo app known for {opts.student!r}",
            hint="name the app(s) with --app (the spec has none, or the student was offboarded "
            "without --archive)",
        )
    return cfg, apps, login


def teardown(
    repo: Path,
    opts: TeardownOptions,
    *,
    provider: GitProvider | None = None,
    argocd: RepoRegistry | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[SetupResult]:
    """Archive each of the student's repos after removing webhook, collaborator and deploy key.

    Never deletes a repo. Works from the tenant spec (repo-mode apps and GitHub login), the
    spec `offboard --archive` kept, or from ``opts.apps`` and ``opts.github``.
    """
    cfg, apps, login = targets(repo, opts)
    results: list[SetupResult] = []
    with (
        deploykey.registry_for(repo, argocd, environ) as registry,
        provider_for(cfg, provider, environ) as gh,
    ):
        for app in apps:
            results.append(_teardown_one(cfg, gh, registry, opts.student, app, login))
    return results


def _teardown_one(
    cfg: PlatformConfig,
    gh: GitProvider,
    registry: RepoRegistry,
    student: str,
    app: str,
    login: str,
) -> SetupResult:
    org = cfg.github_org
    name = scaffold.repo_name(cfg, student, app)
    result = SetupResult(student=student, app=app, repo=f"{org}/{name}")
    info = gh.get_repo(org, name)
    if info is None:
        result.steps.append(Step("repo", "skipped", f"{org}/{name} does not exist"))
        return result
    result.url = info.html_url
    url = webhook_url(cfg)
    hooks = [h for h in gh.list_hooks(org, name) if h.url == url]
    permission = gh.collaborator_permission(org, name, login) if login else None
    title = deploykey.key_title(cfg)
    keys = [k for k in gh.list_deploy_keys(org, name) if k.title == title]
    if info.archived and (hooks or permission is not None or keys):
        info = gh.update_repo(org, name, archived=False)  # archived repos are read-only
    for hook in hooks:
        gh.delete_hook(org, name, hook.id)
    result.steps.append(
        Step("webhook", "removed", f"{len(hooks)} hook(s) to {url}")
        if hooks
        else Step("webhook", "ok", "none to remove")
    )
    if permission is not None:
        gh.remove_collaborator(org, name, login)
        result.steps.append(Step("collaborator", "removed", login))
    else:
        who = f"{login} is not a collaborator" if login else "no GitHub login known"
        result.steps.append(Step("collaborator", "ok", who))
    status, detail = deploykey.remove(
        gh, registry, info, title=title, project=layout.project_name(student)
    )
    result.steps.append(Step(deploykey.STEP, status, detail))
    if info.archived:
        result.steps.append(Step("repo", "ok", f"{org}/{name} is archived"))
    else:
        gh.update_repo(org, name, archived=True)
        result.steps.append(Step("repo", "removed", f"{org}/{name} archived (not deleted)"))
    return result
