"""The student-repo scaffold: ``deploy/``, the deploy workflow, KUPLOY.md and the public rules.

:func:`scaffold_files` is the one code path: ``scaffold --out DIR`` writes its result to a local
folder and ``github setup`` commits it into the student's GitHub repo. ``deploy/`` comes from
the same builders as platform-managed apps (:func:`kuploy_gitops.render.render_app_manifests`).
Nothing here is secret: images are public packages by default; when ``github.pull_secret`` is
set, a private repo's Deployment names that per-tenant pull secret, which the admin creates out
of band from the student's own credential (:func:`pull_secret_command`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuploy_gitops import (
    __version__,
    config,
    layout,
    names,
    render,
    sizes,
    stacks,
    tenant_spec,
    yamlio,
)
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConflictError, InvalidInputError
from kuploy_gitops.github.provider import GitProvider, RepoInfo
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

REGISTRY = "ghcr.io"
# The tag the Deployment starts with, before the student's first build replaces it.
INITIAL_TAG = "sha-0000000"
# The app's port without a stack (and without --port); its health path is then "/".
DEFAULT_PORT = 8080
# Keys of kuploy.yaml's github: section that stay out of the student's copy of the rules.
_PRIVATE_GITHUB_KEYS = ("app_id", "app_private_key_file", "app_installation_id", "api_url")


@dataclass(frozen=True)
class ScaffoldOptions:
    """What the scaffold needs beyond the platform config and the tenant spec.

    ``port`` and ``health_path`` left None take the stack's (:mod:`kuploy_gitops.stacks`), or
    8080 and ``/`` without a stack.
    """

    student: str
    app: str
    port: int | None = None
    health_path: str | None = None
    size: str = sizes.DEFAULT_SIZE
    replicas: int = 1
    private: bool | None = None  # None: github.private of kuploy.yaml
    branch: str = "main"
    stack: str = ""  # "": no Dockerfile, the probes as for any app


def repo_name(cfg: PlatformConfig, student: str, app: str) -> str:
    """Name of the student's repository for ``app`` (``github.student_repo_name``)."""
    return cfg.student_repo_name.format(student=student, app=app)


def image_name(cfg: PlatformConfig, student: str, app: str) -> str:
    """The GHCR image the workflow pushes (GHCR names are lowercase)."""
    return f"{REGISTRY}/{cfg.github_org}/{repo_name(cfg, student, app)}".lower()


def is_private(cfg: PlatformConfig, opts: ScaffoldOptions) -> bool:
    """Whether the student repo (and so its image) is private."""
    return cfg.github.private if opts.private is None else opts.private


def argocd_host(cfg: PlatformConfig) -> str:
    """Argo CD's address as the ``argocd`` CLI takes it (no scheme); a placeholder when unset."""
    server = cfg.argocd_server.split("://", 1)[-1].rstrip("/")
    return server or "<ARGOCD_HOST>"


def pull_secret_command(cfg: PlatformConfig, student: str) -> str:
    """The command creating one tenant's own pull secret; empty without ``github.pull_secret``.

    The default is no pull secret: the student's image is a public package. With
    ``github.pull_secret`` set, the admin creates that Secret in ONLY this student's namespace
    from a credential that reads only this student's packages: the student's own GitHub login
    and a token of theirs with ``read:packages`` (placeholders here; never an org-wide token,
    which every pod of the namespace could read and use to pull every other student's image).
    """
    if not cfg.github.pull_secret:
        return ""
    return (
        f"kubectl -n {layout.namespace_name(student)} create secret docker-registry "
        f"{cfg.github.pull_secret} --docker-server={REGISTRY} "
        "--docker-username=<STUDENT_GITHUB_LOGIN> "
        "--docker-password=<THE_STUDENT'S_OWN_TOKEN_WITH_read:packages>"
    )


def app_spec(cfg: PlatformConfig, spec: TenantSpec, opts: ScaffoldOptions) -> AppSpec:
    """The app as the scaffold's ``deploy/`` renders it, checked against the tenant's tier.

    Raises:
        InvalidInputError: a bad app name, size, port or health path, an app that does not fit
            the tenant's tier, an unknown stack or a port the stack's image does not serve on.
    """
    names.check_app_name(opts.app)
    stack = stacks.get_stack(opts.stack)
    if opts.size not in sizes.SIZES:
        raise InvalidInputError(
            f"size {opts.size!r} does not exist", hint=f"use one of {', '.join(sizes.SIZES)}"
        )
    port, health_path = (stack.port, stack.health_path) if stack else (DEFAULT_PORT, "/")
    app = AppSpec(
        name=opts.app,
        mode="managed",
        image=f"{image_name(cfg, spec.student, opts.app)}:{INITIAL_TAG}",
        port=port if opts.port is None else opts.port,
        health_path=health_path if opts.health_path is None else opts.health_path,
        replicas=opts.replicas,
        size=opts.size,
    )
    tenant_spec.check_app(spec, app, cfg)
    stacks.check_port(stack, app.port)
    return app


def public_rules(config_data: Mapping[str, Any]) -> dict[str, Any]:
    """kuploy.yaml without the settings that only the admin's machine needs."""
    data = dict(config_data)
    github = dict(data.get("github") or {})
    for key in _PRIVATE_GITHUB_KEYS:
        github.pop(key, None)
    data["github"] = github
    return data


def scaffold_files(
    cfg: PlatformConfig,
    spec: TenantSpec,
    opts: ScaffoldOptions,
    config_data: Mapping[str, Any],
    *,
    repo_url: str = "",
    sealing_cert: str = "",
) -> dict[str, str]:
    """Every file of the student-repo scaffold as ``{repo-relative path: text}``.

    Args:
        cfg: the platform config.
        spec: the student's tenant spec (its tier bounds the app's size).
        opts: app, port, probes, size, visibility, branch and stack (a stack adds a
            Dockerfile and a ``.dockerignore``, and its page to the guide).
        config_data: kuploy.yaml as loaded data (copied, minus admin-only keys, as the rules).
        repo_url: the student repo's clone URL (recorded in the rules' tenant spec).
        sealing_cert: the Sealed Secrets controller's certificate (:func:`sealing_cert`),
            copied beside the rules for the student's ``kubeseal --cert``; "" when the platform
            has none yet (the guide then says to ask for it).
    """
    app = app_spec(cfg, spec, opts)
    stack = stacks.get_stack(opts.stack)
    private = is_private(cfg, opts)
    student, name = spec.student, opts.app
    deploy = layout.STUDENT_DEPLOY_DIR
    files: dict[str, str] = {}
    manifests = render.render_app_manifests(
        cfg,
        spec,
        app,
        scaffold_header=f"Scaffolded by kuploy-gitops for {student}/{name}. Yours to edit; "
        f"{layout.STUDENT_GUIDE_FILE} says how.",
        pull_secret=cfg.github.pull_secret if private else "",
        stack=stack,
    )
    for file_name, (text, _) in manifests.items():
        files[f"{deploy}/{file_name}"] = text
    context = {
        "student": student,
        "app": name,
        "branch": opts.branch,
        "deploy_branch": layout.STUDENT_DEPLOY_BRANCH,
        "image": image_name(cfg, student, name),
        "deploy_dir": deploy,
        "rules_dir": layout.STUDENT_RULES_DIR,
        "guide_file": layout.STUDENT_GUIDE_FILE,
        "workflow_file": layout.STUDENT_WORKFLOW_FILE,
        "kuploy_version": __version__,
        "kuploy_pip": render.kuploy_pip_requirement(cfg),
        "cluster_name": cfg.cluster_name,
        "host": cfg.host(student, name),
        # What the guide calls the allowed host names: the platform's pattern with <app> open.
        "host_form": "<app>".join(cfg.host_affixes(student)),
        "base_domain": cfg.base_domain,
        "port": app.port,
        "health_path": app.health_path,
        "namespace": layout.namespace_name(student),
        "application": layout.application_name(student, name),
        "argocd_server": cfg.argocd_server or "Argo CD",
        "argocd_host": argocd_host(cfg),
        "github_org": cfg.github_org,
        "private": private,
        "pull_secret": cfg.github.pull_secret,
        "run_as_user": cfg.pss_run_as_user,
        "stack": stack,
        "sealing_cert": layout.STUDENT_SEALING_CERT if sealing_cert else "",
        "secret_name": layout.app_secret_name(name),
    }
    if stack is not None:
        folder = f"student-repo/stacks/{stack.name}"
        files[layout.STUDENT_DOCKERFILE] = render.render_template(
            f"{folder}/Dockerfile.j2", context
        )
        files[layout.STUDENT_DOCKERIGNORE] = render.render_template(
            f"{folder}/dockerignore.j2", context
        )
        if stack.name == "static":  # its Dockerfile copies public/: the first build needs a page
            files[STATIC_STARTER] = render.render_template(f"{folder}/index.html.j2", context)
    files[layout.STUDENT_WORKFLOW_FILE] = render.render_template(
        "student-repo/kuploy-deploy.yml.j2", context
    )
    files[layout.STUDENT_GUIDE_FILE] = render.render_template("student-repo/KUPLOY.md.j2", context)
    rules = layout.STUDENT_RULES_DIR
    files[f"{rules}/{layout.CONFIG_FILE}"] = yamlio.dump(
        public_rules(config_data),
        header="The platform's public rules for kuploy-gitops validate --student. "
        "Kept up to date by `kuploy-gitops github setup`; do not edit.",
    )
    rules_spec = TenantSpec(
        student=student,
        tier=spec.tier,
        apps=(
            AppSpec(
                name=name,
                mode="repo",
                repo=repo_url or cfg.student_repo_url(student, name),
                path=deploy,
                revision=layout.STUDENT_DEPLOY_BRANCH,
            ),
        ),
    )
    files[f"{rules}/{layout.tenant_spec(student)}"] = tenant_spec.dump_spec(rules_spec)
    if sealing_cert:
        files[layout.STUDENT_SEALING_CERT] = sealing_cert
    return dict(sorted(files.items()))


def git_blob_sha(text: str) -> str:
    """The git blob SHA-1 of a UTF-8 text (what GitHub's trees list per file)."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()  # noqa: S324 - git's id


def deploy_revision(
    gh: GitProvider,
    info: RepoInfo,
    files: Mapping[str, str],
    existing: Mapping[str, str],
    tracked: str,
) -> str:
    """The branch the app's Application tracks: the deploy branch the workflow pushes to.

    A repo whose workflow file is not this scaffold's (set up by an older kuploy, which
    committed the tag to the default branch, or edited by the student) keeps the default
    branch until its deploy branch exists: tracking a branch its workflow never pushes would
    stop its deploys. The student owns that file, so setup does not overwrite it. An app
    that already tracks the deploy branch (``tracked``) stays on it.
    """
    path = layout.STUDENT_WORKFLOW_FILE
    if tracked == layout.STUDENT_DEPLOY_BRANCH or path not in existing:
        return layout.STUDENT_DEPLOY_BRANCH
    if existing[path] == git_blob_sha(files[path]):
        return layout.STUDENT_DEPLOY_BRANCH
    if gh.branch_head(info.owner, info.name, layout.STUDENT_DEPLOY_BRANCH) is not None:
        return layout.STUDENT_DEPLOY_BRANCH
    return info.default_branch


def sealing_cert(repo: Path) -> str:
    """The controller's certificate committed in the platform repo ("" when not fetched yet)."""
    path = repo / layout.SEALED_SECRETS_CERT
    return path.read_text(encoding="ascii") if path.is_file() else ""


STATIC_STARTER = "public/index.html"
"""The static stack's first page (the student's to replace)."""


def is_platform_owned(path: str) -> bool:
    """Scaffold files the platform keeps current; all others belong to the student once written."""
    return path.startswith(layout.STUDENT_RULES_DIR + "/")


def load_inputs(
    repo: Path, opts: ScaffoldOptions
) -> tuple[PlatformConfig, TenantSpec, dict[str, Any]]:
    """The platform config, the onboarded student's spec and kuploy.yaml's data."""
    cfg = config.load_config(repo)
    names.check_student_name(opts.student, cfg.reserved_namespaces())
    spec = tenant_spec.require_spec(repo, opts.student)
    path = repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text(encoding="utf-8"), source=str(path))
    return cfg, spec, dict(data)


@dataclass(frozen=True)
class ScaffoldResult:
    """What ``scaffold --out`` wrote."""

    out: Path
    written: list[str]
    unchanged: list[str]
    pull_secret_command: str


def write_scaffold(
    repo: Path, opts: ScaffoldOptions, out: Path, *, force: bool = False
) -> ScaffoldResult:
    """Write the scaffold into ``out``; refuse to overwrite different files unless ``force``.

    Nothing is written when any target conflicts; every file is staged next to its target
    first and renamed into place only when all are staged, so a failed write leaves no
    half-written scaffold.
    """
    cfg, spec, data = load_inputs(repo, opts)
    files = scaffold_files(cfg, spec, opts, data, sealing_cert=sealing_cert(repo))
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {str(out)!r} is a file", hint="give a folder")
    written: list[str] = []
    unchanged: list[str] = []
    conflicts: list[str] = []
    for path, text in files.items():
        target = out / path
        if target.is_file():
            if target.read_text(encoding="utf-8") == text:
                unchanged.append(path)
                continue
            if not force:
                conflicts.append(path)
        written.append(path)
    if conflicts:
        raise ConflictError(
            f"{len(conflicts)} file(s) in {out} differ from the scaffold: "
            + ", ".join(conflicts[:3])
            + (" ..." if len(conflicts) > 3 else ""),
            hint="pass --force to overwrite them, or pick another --out",
        )
    staged: list[tuple[Path, Path]] = []
    try:
        for path in written:
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".kuploy-")
            staged.append((Path(tmp), target))
            Path(tmp).chmod(0o644)  # mkstemp makes 0600; these are ordinary repo files
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(files[path])
    except OSError as exc:
        for tmp_path, _ in staged:
            tmp_path.unlink(missing_ok=True)
        raise InvalidInputError(
            f"cannot write the scaffold into {str(out)!r}: {exc.strerror or exc}",
            hint="pick a writable --out folder",
        ) from exc
    for tmp_path, target in staged:
        tmp_path.replace(target)
    return ScaffoldResult(
        out=out,
        written=written,
        unchanged=unchanged,
        pull_secret_command=pull_secret_command(cfg, spec.student) if is_private(cfg, opts) else "",
    )
