"""``init``: create (or adopt an empty) platform repo; and the command that connects Argo CD."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kuploy_gitops import config, layout, names, plan, render, yamlio
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConflictError, InvalidInputError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.ops.writing import dry_run_result, finish
from kuploy_gitops.plan import ApplyResult, FilePlan

DEFAULT_CLUSTER_NAME = "konkuk-lab"
DEFAULT_DOMAIN = "apps.konkuk.example"
DEFAULT_BRANCH = "main"
DEFAULT_GITHUB_ORG = "konkuk-kuploy"

CONFIG_HEADER = (
    "kuploy-gitops platform config. Edit by hand and commit, then run `kuploy-gitops render`\n"
    "(it re-renders every tenant and commits the result).\n"
    "Tiers set each tenant's ResourceQuota (quota) and LimitRange (limits)."
)


@dataclass(frozen=True)
class InitOptions:
    """Inputs of ``init``.

    ``None`` means "not given": the default for a new repo, and no comparison with an
    existing one.
    """

    repo: Path
    cluster_name: str | None = None
    domain: str | None = None
    repo_url: str | None = None
    branch: str | None = None
    github_org: str | None = None
    argocd_server: str | None = None


def connect_command(repo: Path) -> str:
    """The one command that connects Argo CD to the platform repo at ``repo``."""
    cfg = config.load_config(repo)
    return f"kubectl apply -n {cfg.argocd_namespace} -f {repo / layout.ROOT_APP_FILE}"


def init(opts: InitOptions, *, dry_run: bool = False, push: bool = False) -> ApplyResult:
    """Create or adopt an empty git repo as a platform repo.

    Again on an initialised repo: no change, unless an option given differs from kuploy.yaml,
    which is refused (saying what differs and where to change it) rather than ignored.
    """
    git = GitRepo(opts.repo)
    if (opts.repo / layout.CONFIG_FILE).is_file():
        cfg = config.load_config(opts.repo)
        _refuse_differences(opts, cfg)
        return ApplyResult(summary=f"platform repo {opts.repo} ({cfg.cluster_name})")
    _check_folder(opts.repo, git)
    data = _config_data(opts)
    cfg = config.parse_config(data)
    fplan = FilePlan(opts.repo)
    fplan.write(layout.CONFIG_FILE, yamlio.dump(data, header=CONFIG_HEADER))
    fplan.write(layout.PLATFORM_README, render.render_platform_readme(cfg))
    fplan.write(layout.PLATFORM_WORKFLOW, render.render_platform_workflow(cfg))
    fplan.write(layout.EXPIRE_WORKFLOW, render.render_expire_workflow(cfg))
    fplan.write(f"{layout.TENANTS_DIR}/.gitkeep", "")
    fplan.write_all(render.render_platform(cfg))
    message = f"kuploy: init platform repo for {cfg.cluster_name}"
    summary = f"platform repo {opts.repo}"
    if dry_run:
        return dry_run_result(fplan, message, summary)
    if not git.is_repo():
        git.init(cfg.repo_branch)
    git.tune_for_many_files()
    with git.lock():
        plan.recover(git)
        return finish(git, cfg, fplan, message, summary=summary, dry_run=False, push=push)


def _check_folder(repo: Path, git: GitRepo) -> None:
    if repo.exists() and not repo.is_dir():
        raise InvalidInputError(f"{repo} is a file", hint="give a folder for the repo")
    if git.is_repo():
        if not git.is_empty():
            raise ConflictError(
                f"{repo} is a git repo with content but no {layout.CONFIG_FILE}",
                hint="init adopts only an empty repo; use a new folder",
            )
    elif repo.exists() and any(repo.iterdir()):
        raise ConflictError(
            f"{repo} is a non-empty folder that is not a git repo",
            hint="give a new or empty folder",
        )


def _config_data(opts: InitOptions) -> dict[str, object]:
    domain = opts.domain or DEFAULT_DOMAIN
    cluster_name = opts.cluster_name or DEFAULT_CLUSTER_NAME
    github_org = opts.github_org or DEFAULT_GITHUB_ORG
    for label in domain.split("."):
        if not names.DNS_LABEL.match(label):
            raise InvalidInputError(
                f"domain {domain!r} is not a DNS name", hint="e.g. apps.lab.konkuk.ac.kr"
            )
    if not names.DNS_LABEL.match(cluster_name):
        raise InvalidInputError(
            f"cluster name {cluster_name!r} is not a DNS label", hint="e.g. konkuk-lab"
        )
    names.check_github_login(github_org)
    return config.default_config_data(
        cluster_name=cluster_name,
        domain=domain,
        repo_url=opts.repo_url or f"https://github.com/{github_org}/platform-gitops.git",
        branch=opts.branch or DEFAULT_BRANCH,
        github_org=github_org,
        argocd_server=opts.argocd_server or "",
    )


def _refuse_differences(opts: InitOptions, cfg: PlatformConfig) -> None:
    """Refuse options that differ from the repo's kuploy.yaml (init never edits it)."""
    given = (
        ("--cluster-name", opts.cluster_name, "cluster.name", cfg.cluster_name),
        ("--domain", opts.domain, "ingress.base_domain", cfg.base_domain),
        ("--repo-url", opts.repo_url, "repo.url", cfg.repo_url),
        ("--branch", opts.branch, "repo.branch", cfg.repo_branch),
        ("--github-org", opts.github_org, "github.org", cfg.github_org),
        ("--argocd-server", opts.argocd_server, "argocd.server", cfg.argocd_server),
    )
    differs = [
        (flag, value, key, have)
        for flag, value, key, have in given
        if value is not None and value != have
    ]
    if not differs:
        return
    flag, value, key, have = differs[0]
    keys = ", ".join(d[2] for d in differs)
    raise ConflictError(
        f"{opts.repo} is already initialised with {key} {have!r}, not {flag} {value!r}"
        + (f" (and {len(differs) - 1} more option(s) differ)" if len(differs) > 1 else ""),
        hint=f"to change it, edit {keys} in {layout.CONFIG_FILE}, commit, then run "
        "`kuploy-gitops render`",
    )
