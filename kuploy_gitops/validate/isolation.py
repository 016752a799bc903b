"""Tenant isolation: Applications, AppProjects, guards and the remote sources a project allows.

The admin-owned objects of a tenant folder (the student's Applications and AppProject, the
guards) and the remote sources of a student's app (kustomize bases, Helm charts) that the
student's AppProject must allow.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from kuploy_gitops import layout, names, repourl
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import TenantContext, group_kinds, permitted
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.kustomize import is_remote
from kuploy_gitops.validate.objects import CLUSTER_SCOPED, Path_, as_map, meta
from kuploy_gitops.validate.policies import check_rbac


def tenant_name_problem(cfg: PlatformConfig, student: str) -> str:
    """Why ``student`` can never be a tenant (a reserved or invalid namespace name), or ''.

    The tenants' ApplicationSet makes an Application of every folder under
    ``apps/cluster/tenants`` whatever its spec says, so the name is checked on its own: a folder
    named like a system or add-on namespace would adopt that namespace.
    """
    try:
        names.check_student_name(student, cfg.reserved_namespaces())
    except InvalidInputError as exc:
        return str(exc)
    return ""


def check_application(
    ctx: TenantContext, cfg: PlatformConfig, obj: Mapping[str, Any]
) -> list[Issue]:
    """A student's Application: own project, own namespace, allowed repo, own workload folder."""
    out: list[Issue] = []
    spec = as_map(obj.get("spec"))
    project = spec.get("project", "default")
    if project not in ("default", "", None) and project != layout.project_name(ctx.student):
        out.append(
            Issue(
                F.ISO_PROJECT_MISMATCH,
                f"Application of {ctx.student!r} uses project {project!r}",
                ("spec", "project"),
            )
        )
    dest = as_map(spec.get("destination"))
    server = dest.get("server") or dest.get("name") or ""
    dns = dest.get("namespace") or ""
    allowed = [(s, n) for s, n in ctx.destinations]
    if (
        dns != ctx.namespace
        or (server, dns) not in allowed
        and (server not in (layout.IN_CLUSTER_SERVER, layout.IN_CLUSTER_NAME))
    ):
        out.append(
            Issue(
                F.ISO_DESTINATION,
                f"destination {server or '?'} / {dns or '?'} is not the tenant's "
                f"namespace {ctx.namespace!r} in-cluster",
                ("spec", "destination"),
            )
        )
    sources: list[tuple[Path_, Mapping[str, Any]]] = []
    if spec.get("source"):
        sources.append((("spec", "source"), as_map(spec.get("source"))))
    for i, s in enumerate(spec.get("sources") or []):
        sources.append((("spec", "sources", i), as_map(s)))
    for path, src in sources:
        url = str(src.get("repoURL") or "")
        if not ctx.repo_allowed(url):
            out.append(
                Issue(
                    F.ISO_SOURCE_REPO,
                    f"source repo {url!r} is not in the AppProject's sourceRepos",
                    (*path, "repoURL"),
                )
            )
        if repourl.normalise(url) == repourl.normalise(cfg.repo_url):
            src_path = str(src.get("path") or "").strip("/")
            base = layout.workload_dir(ctx.student)
            if not (src_path == base or src_path.startswith(base + "/")):
                out.append(
                    Issue(
                        F.ISO_SOURCE_PATH,
                        f"source path {src_path!r} of the platform repo is outside {base}/",
                        (*path, "path"),
                    )
                )
    return out


def check_project(
    ctx: TenantContext,
    obj: Mapping[str, Any],
    guard_kinds: Collection[tuple[str, str]],
    allowed: Collection[tuple[str, str]],
) -> list[Issue]:
    """A student's AppProject must stay locked down.

    ``guard_kinds`` are the (group, kind) of the guard objects the tenant folder really holds:
    the project must not let any of them sync. ``allowed`` is the platform's table of tenant
    kinds (:mod:`kuploy_gitops.tenant_kinds`): the whitelist may name only those, exactly. Syncs
    must impersonate the tenant's deployer ServiceAccount.
    """
    out: list[Issue] = []
    spec = as_map(obj.get("spec"))

    def open_(message: str, *path: str | int) -> None:
        out.append(Issue(F.ISO_PROJECT_OPEN, message, ("spec", *path)))

    if any(str(r).strip() == "*" for r in spec.get("sourceRepos") or []):
        open_("sourceRepos allows every repo ('*')", "sourceRepos")
    for i, d in enumerate(spec.get("destinations") or []):
        if as_map(d).get("namespace") != ctx.namespace:
            open_(
                f"destination namespace {as_map(d).get('namespace')!r} is not {ctx.namespace!r}",
                "destinations",
                i,
            )
    if spec.get("clusterResourceWhitelist"):
        open_("clusterResourceWhitelist is not empty", "clusterResourceWhitelist")
    white = spec.get("namespaceResourceWhitelist")
    if white is None:
        open_("no namespaceResourceWhitelist (every kind would sync)", "namespaceResourceWhitelist")
    else:
        extra = sorted(
            f"{k}.{g}" if g else k for g, k in group_kinds(white) if (g, k) not in allowed
        )
        if extra:
            open_(
                f"namespaceResourceWhitelist allows {', '.join(extra)} (not a tenant kind)",
                "namespaceResourceWhitelist",
            )
    listed = None if white is None else group_kinds(white)
    black = group_kinds(spec.get("namespaceResourceBlacklist"))
    guards = sorted(k for g, k in guard_kinds if permitted(listed, black, g, k))
    if guards:
        open_(f"the project lets {', '.join(guards)} sync", "namespaceResourceWhitelist")
    accounts = spec.get("destinationServiceAccounts") or []
    deployer = {layout.DEPLOYER_SA, f"{ctx.namespace}:{layout.DEPLOYER_SA}"}
    if not accounts:
        open_(
            f"no destinationServiceAccounts: syncs would not run as {layout.DEPLOYER_SA!r}",
            "destinationServiceAccounts",
        )
    for i, a in enumerate(accounts):
        sa = as_map(a).get("defaultServiceAccount")
        if as_map(a).get("namespace") != ctx.namespace or sa not in deployer:
            open_(
                f"destinationServiceAccounts[{i}] syncs as {sa!r}, not the tenant's "
                f"{layout.DEPLOYER_SA!r}",
                "destinationServiceAccounts",
                i,
            )
    return out


def check_guard_object(ctx: TenantContext, obj: Mapping[str, Any]) -> list[Issue]:
    """Admin-owned tenant objects other than Applications/AppProjects: namespace and RBAC."""
    kind = obj.get("kind")
    out: list[Issue] = []
    if kind not in CLUSTER_SCOPED:
        ns = meta(obj).get("namespace")
        if ns not in (None, "", ctx.namespace):
            out.append(
                Issue(
                    F.ISO_NAMESPACE,
                    f"namespace {ns!r} is not the tenant's namespace {ctx.namespace!r}",
                    ("metadata", "namespace"),
                )
            )
    elif kind != "Namespace":
        out.append(
            Issue(F.ISO_CLUSTER_SCOPED, f"{kind} in a tenant folder is cluster-wide", ("kind",))
        )
    out.extend(check_rbac(obj))
    return out


def remote_refs(kustomization: Mapping[str, Any]) -> list[tuple[str, Path_]]:
    """Remote URLs in resources/bases/components of a kustomization."""
    out: list[tuple[str, Path_]] = []
    for key in ("resources", "bases", "components"):
        for i, item in enumerate(kustomization.get(key) or []):
            if isinstance(item, str) and is_remote(item):
                out.append((item.strip(), (key, i)))
    return out


def remote_repo(ref: str) -> str:
    """The repository URL of a kustomize remote reference."""
    url = ref.split("?", 1)[0]
    if url.startswith("git::"):
        url = url[5:]
    if url.startswith("git@"):
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    if not re.match(r"^[a-z]+://", url):
        url = "https://" + url
    scheme, _, rest = url.partition("://")
    if "//" in rest:
        rest = rest.split("//", 1)[0]
    parts = rest.split("/")
    if len(parts) >= 3 and parts[0] in ("github.com", "gitlab.com", "bitbucket.org"):
        rest = "/".join(parts[:3])
    rest = rest.split(".git/", 1)[0]
    rest = rest[:-4] if rest.endswith(".git") else rest
    return f"{scheme}://{rest}"


def check_kustomization(ctx: TenantContext, data: Mapping[str, Any]) -> list[Issue]:
    """Every remote base, and helmCharts repositories the AppProject does not allow.

    A remote base is refused whatever its repo: Argo CD's repo-server fetches it itself, with
    whatever credential matches its URL and outside the AppProject's sourceRepos, so one
    kustomization could read another student's repo. A student lists only their own files.
    """
    out: list[Issue] = []
    for ref, path in remote_refs(data):
        out.append(
            Issue(
                F.ISO_REMOTE_BASE,
                f"remote {path[0]} {ref!r} (repo {remote_repo(ref)}) is refused: list only "
                "files and folders of this repo",
                path,
            )
        )
    for i, chart in enumerate(data.get("helmCharts") or []):
        repo = str(as_map(chart).get("repo") or "")
        if repo and not ctx.repo_allowed(repo):
            out.append(
                Issue(
                    F.ISO_HELM_DEPENDENCY,
                    f"helmCharts {as_map(chart).get('name')!r} from {repo!r} is not "
                    f"allowed by the AppProject of {ctx.student!r}",
                    ("helmCharts", i, "repo"),
                )
            )
    return out


def check_chart(ctx: TenantContext, data: Mapping[str, Any]) -> list[Issue]:
    """Helm Chart.yaml dependencies from repositories the AppProject does not allow."""
    out: list[Issue] = []
    for i, dep in enumerate(data.get("dependencies") or []):
        repo = str(as_map(dep).get("repository") or "")
        if (
            not repo
            or repo.startswith("file://")
            or repo.startswith("@")
            or repo.startswith("alias:")
        ):
            continue
        if not ctx.repo_allowed(repo):
            out.append(
                Issue(
                    F.ISO_HELM_DEPENDENCY,
                    f"chart dependency {as_map(dep).get('name')!r} from {repo!r} is not "
                    f"allowed by the AppProject of {ctx.student!r}",
                    ("dependencies", i, "repository"),
                )
            )
    return out
