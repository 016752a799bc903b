"""kuploy.yaml: the typed platform config, its defaults, and validation with clear errors.

The platform config is read from ``kuploy.yaml`` (written by ``init`` from
:func:`default_config_data`, then owned by the admin). Tenant specs live in
:mod:`kuploy_gitops.tenant_spec`.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, repourl, yamlio
from kuploy_gitops.capacity_config import CapacitySettings, parse_capacity
from kuploy_gitops.config_db import DatabaseSettings, parse_databases
from kuploy_gitops.config_fields import (
    Reader as Reader,
)
from kuploy_gitops.config_fields import (
    cidr_list,
    quantity_map,
    registries,
    reserved_list,
    student_repo_name,
)
from kuploy_gitops.config_platform import Sections, app_label_regex, parse_sections
from kuploy_gitops.errors import NotInitialisedError
from kuploy_gitops.names import DNS_LABEL, LABEL_VALUE, RESERVED_NAMES
from kuploy_gitops.timetable import Timetable, parse_timetable

CONFIG_VERSION = 1
PSS_LEVELS = ("privileged", "baseline", "restricted")
# The user and group rendered workloads run as when kuploy.yaml sets none: not root, and above
# the ids distributions give system users (so it owns nothing on the node's file systems).
DEFAULT_RUN_AS_USER = 10001
MAX_ID = 2**31 - 1  # the largest runAsUser the API server accepts


@dataclass(frozen=True)
class Tier:
    """A quota tier: the namespace's ResourceQuota and the LimitRange of its containers."""

    name: str
    quota: Mapping[str, str]
    default: Mapping[str, str]
    default_request: Mapping[str, str]
    max: Mapping[str, str]


@dataclass(frozen=True)
class Addon:
    """A platform add-on installed from a Helm chart, pinned by version."""

    name: str
    chart: str
    repo_url: str
    version: str
    namespace: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GitHubSettings:
    """The optional keys of ``github:`` that `github setup` uses (all default, all public).

    No secret lives here: the token comes from ``GITHUB_TOKEN`` and an App's private key from
    the file named by ``app_private_key_file``, which is never committed.
    """

    api_url: str = ""  # GitHub Enterprise Server: https://HOST/api/v3; empty: api.github.com
    template_repo: str = ""  # "owner/name" to generate student repos from; empty: empty repo
    private: bool = True
    webhook: bool = False  # Argo CD is reachable from GitHub: add a push webhook
    app_id: str = ""  # GitHub App authentication (else GITHUB_TOKEN)
    app_private_key_file: str = ""
    app_installation_id: int = 0  # 0: looked up from the org
    course_team: str = ""  # team slug the students are invited to (grants nothing on repos)
    # Empty (the default): images are public packages, pulled without credentials. A name: the
    # per-tenant docker-registry Secret of that name that private repos' Deployments pull with;
    # each tenant's holds only that student's own credential (never an org-wide one).
    pull_secret: str = ""
    workflow_pip: str = ""  # what the student workflow pip-installs; empty: this kuploy version


@dataclass(frozen=True)
class PlatformConfig:
    """The parsed ``kuploy.yaml``."""

    cluster_name: str
    kubernetes_version: str
    pod_cidr: str
    service_cidr: str
    dns_namespace: str
    base_domain: str
    host_pattern: str
    ingress_class: str
    ingress_namespace: str
    tls_secret: str
    argocd_namespace: str
    argocd_server: str
    argocd_crd_dir: str
    repo_url: str
    repo_branch: str
    github_org: str
    student_repo_name: str
    pss_enforce: str
    pss_warn: str
    pss_audit: str
    pss_version: str
    registries: tuple[str, ...]
    tiers: Mapping[str, Tier]
    default_tier: str
    addons: tuple[Addon, ...]
    github: GitHubSettings = field(default_factory=GitHubSettings)
    # The node pool (value of the kuploy.io/pool label) tenant pods are placed on through their
    # namespace's annotations; empty: any node without a taint.
    tenant_pool: str = "lab"
    # The lab PCs' and control plane's addresses, and other ranges tenant pods must not reach
    # (campus network): excepted from the tenants' internet egress (cluster.node_cidrs,
    # cluster.denied_egress; normalised CIDRs).
    node_cidrs: tuple[str, ...] = ()
    denied_egress: tuple[str, ...] = ()
    # kuploy.yaml's reserved_namespaces: names or '*' patterns no student may take.
    extra_reserved: tuple[str, ...] = ()
    pss_run_as_user: int = DEFAULT_RUN_AS_USER  # runAsUser/runAsGroup/fsGroup of our workloads
    # Rooms of lab PCs and their weekly classes (kuploy.yaml's timetable; no rooms: no CronJobs).
    timetable: Timetable = field(default_factory=Timetable)
    # load_balancer, tls and storage: what bare metal lacks (config_platform)
    baremetal: Sections = field(default_factory=Sections)
    # databases: how students' databases (db add) are backed up (config_db)
    databases: DatabaseSettings = field(default_factory=DatabaseSettings)
    # Node sizes per room or pool for `capacity` without a cluster (kuploy.yaml's capacity).
    capacity: CapacitySettings = field(default_factory=CapacitySettings)

    @property
    def target_revision(self) -> str:
        """Fully qualified revision of the platform repo (avoids ambiguous ref lookups)."""
        return f"refs/heads/{self.repo_branch}"

    def host(self, student: str, app: str) -> str:
        """The public host name of a student's app."""
        return self.host_pattern.format(app=app, student=student, domain=self.base_domain)

    def host_affixes(self, student: str) -> tuple[str, str]:
        """The lowercase text before and after ``{app}`` in the student's host names.

        The host pattern has ``{app}`` once (checked on load), so a student's hosts are exactly
        ``prefix + <DNS label> + suffix``.
        """
        marker = "\x00"
        text = self.host_pattern.format(app=marker, student=student, domain=self.base_domain)
        prefix, _, suffix = text.lower().partition(marker)
        return prefix, suffix

    @property
    def app_label(self) -> str:
        """The regex an app's part of a host must match (see config_platform.app_label_regex)."""
        return app_label_regex(self.host_pattern, DNS_LABEL.pattern)

    def student_repo_url(self, student: str, app: str) -> str:
        """URL of the GitHub repo that `github setup` makes for a student's app.

        AppProjects list each student repo explicitly rather than by a glob: with a glob like
        ``<org>/<student>-*``, student ``kim`` would be allowed the repos of student ``kim-lee``.
        """
        name = self.student_repo_name.format(student=student, app=app)
        return f"https://github.com/{self.github_org}/{name}.git"

    def student_repo(self, url: str) -> repourl.RepoRef:
        """A student repo URL parsed on the platform's git host and org (InvalidInputError)."""
        return repourl.parse(url, repourl.git_host(self.github.api_url), self.github_org)

    def reserved_namespaces(self) -> frozenset[str]:
        """Namespaces no student may be named after (names and ``*`` patterns).

        The built-in list, the platform's own namespaces (Argo CD, ingress, DNS, add-ons) and
        kuploy.yaml's ``reserved_namespaces``; :func:`names.check_student_name` matches them.
        """
        extra = {self.argocd_namespace, self.ingress_namespace, self.dns_namespace}
        extra.update(a.namespace for a in self.addons)
        extra.update(self.extra_reserved)
        return RESERVED_NAMES | extra


def data_file(name: str) -> Path:
    """A data file shipped inside the package (``kuploy_gitops/data/<name>``)."""
    return Path(__file__).resolve().parent / "data" / name


VERSIONS_FILE = "versions.yml"
# In a checkout the file is cluster-bootstrap's own; the wheel carries a copy in data/.
_CHECKOUT_VERSIONS = Path("cluster-bootstrap") / "group_vars" / "all" / VERSIONS_FILE


@functools.cache
def kubernetes_version() -> str:
    """The platform's Kubernetes version, from the one file that sets it.

    That file is ``cluster-bootstrap/group_vars/all/versions.yml``: the bootstrap installs this
    version, and the wheel ships the file as ``kuploy_gitops/data/versions.yml``.
    """
    path = data_file(VERSIONS_FILE)
    if not path.is_file():
        path = Path(__file__).resolve().parent.parent / _CHECKOUT_VERSIONS
    data = yamlio.load(path.read_text(encoding="utf-8"), source=str(path))
    return str(data["kube_version"])


def minor_version(version: str) -> str:
    """``1.36.4`` -> ``v1.36`` (the form Pod Security labels take)."""
    return "v" + ".".join(version.split(".")[:2])


def default_config_data(
    *,
    cluster_name: str = "konkuk-lab",
    domain: str = "apps.konkuk.example",
    repo_url: str = "https://github.com/konkuk-kuploy/platform-gitops.git",
    branch: str = "main",
    github_org: str = "konkuk-kuploy",
    argocd_server: str = "",
) -> dict[str, Any]:
    """The ``kuploy.yaml`` that ``init`` writes, as data: ``data/kuploy.yaml`` with the options.

    It sets no Kubernetes version: a platform follows :func:`kubernetes_version` unless its
    kuploy.yaml says otherwise (``cluster.kubernetes_version``, ``pod_security.version``).
    """
    data: dict[str, Any] = yamlio.load(data_file("kuploy.yaml").read_text(encoding="utf-8"))
    data["cluster"]["name"] = cluster_name
    data["ingress"]["base_domain"] = domain
    data["argocd"]["server"] = argocd_server or f"https://argocd.{domain}"
    data["repo"] = {"url": repo_url, "branch": branch}
    data["github"]["org"] = github_org
    data["registries"][0] = f"ghcr.io/{github_org.lower()}/"
    return data


# --------------------------------------------------------------------------------------------
# Parsing kuploy.yaml


def parse_config(data: Any, source: str = layout.CONFIG_FILE) -> PlatformConfig:
    """Validate ``kuploy.yaml`` data and build a :class:`PlatformConfig`."""
    r = Reader(source)
    root = r.mapping(data, "kuploy.yaml")
    version = root.get("version")
    if version != CONFIG_VERSION:
        raise r.fail("version", f"{version!r} is not supported (this kuploy-gitops reads 1)")
    cluster = r.mapping(r.get(root, "cluster", ""), "cluster")
    ingress = r.mapping(r.get(root, "ingress", ""), "ingress")
    argocd = r.mapping(r.get(root, "argocd", ""), "argocd")
    repo = r.mapping(r.get(root, "repo", ""), "repo")
    github = r.mapping(r.get(root, "github", ""), "github")
    pss = r.mapping(r.get(root, "pod_security", ""), "pod_security")

    for cidr_key in ("pod_cidr", "service_cidr"):
        try:
            ipaddress.ip_network(r.string(cluster, cidr_key, "cluster"))
        except ValueError as exc:
            raise r.fail(f"cluster.{cidr_key}", str(exc)) from exc
    for level_key in ("enforce", "warn", "audit"):
        if pss.get(level_key) not in PSS_LEVELS:
            raise r.fail(
                f"pod_security.{level_key}",
                f"{pss.get(level_key)!r} is not one of {', '.join(PSS_LEVELS)}",
            )
    run_as_user = pss.get("run_as_user", DEFAULT_RUN_AS_USER)
    if type(run_as_user) is not int or not 1 <= run_as_user <= MAX_ID:
        raise r.fail(
            "pod_security.run_as_user",
            f"{run_as_user!r} is not a non-root user id (an integer from 1 to {MAX_ID})",
            hint=f"set it to the numeric USER of your images, e.g. {DEFAULT_RUN_AS_USER}",
        )
    host_pattern = r.string(ingress, "host_pattern", "ingress")
    try:
        sample = host_pattern.format(app="a", student="s", domain="d.example")
    except (KeyError, IndexError, ValueError) as exc:
        raise r.fail("ingress.host_pattern", "may only use {app}, {student} and {domain}") from exc
    if host_pattern.count("{app}") != 1 or "{student}" not in host_pattern:
        raise r.fail("ingress.host_pattern", "must contain {app} once and {student}")
    if not all(DNS_LABEL.match(p) for p in sample.split(".")):
        raise r.fail("ingress.host_pattern", f"{host_pattern!r} does not make a DNS name")

    if "registries" not in root:
        raise r.fail(
            "registries", "missing: list the prefixes images may come from, e.g. ghcr.io/my-org/"
        )
    prefixes = registries(r, root["registries"])
    tenant_pool = cluster.get("tenant_pool", "lab")
    if not isinstance(tenant_pool, str) or (tenant_pool and not LABEL_VALUE.match(tenant_pool)):
        raise r.fail(
            "cluster.tenant_pool",
            f"{tenant_pool!r} is not a label value (the kuploy.io/pool value of the nodes tenant "
            "pods run on, e.g. lab; '' for any node)",
        )

    tiers_data = r.mapping(r.get(root, "tiers", ""), "tiers")
    tiers: dict[str, Tier] = {}
    for name, tier in tiers_data.items():
        t = r.mapping(tier, f"tiers.{name}")
        limits = r.mapping(r.get(t, "limits", f"tiers.{name}"), f"tiers.{name}.limits")
        tiers[str(name)] = Tier(
            name=str(name),
            quota=quantity_map(r, r.get(t, "quota", f"tiers.{name}"), f"tiers.{name}.quota"),
            default=quantity_map(r, r.get(limits, "default", ""), f"tiers.{name}.limits.default"),
            default_request=quantity_map(
                r, r.get(limits, "default_request", ""), f"tiers.{name}.limits.default_request"
            ),
            max=quantity_map(r, r.get(limits, "max", ""), f"tiers.{name}.limits.max"),
        )
    if not tiers:
        raise r.fail("tiers", "define at least one tier")
    default_tier = r.string(root, "default_tier", "")
    if default_tier not in tiers:
        raise r.fail("default_tier", f"{default_tier!r} is not one of the tiers {sorted(tiers)}")

    addons: list[Addon] = []
    for name, addon in r.mapping(root.get("addons", {}), "addons").items():
        a = r.mapping(addon, f"addons.{name}")
        addons.append(
            Addon(
                name=str(name),
                chart=r.string(a, "chart", f"addons.{name}"),
                repo_url=r.string(a, "repo_url", f"addons.{name}"),
                version=str(r.get(a, "version", f"addons.{name}")),
                namespace=r.string(a, "namespace", f"addons.{name}"),
                values=r.mapping(a.get("values", {}), f"addons.{name}.values"),
            )
        )

    baremetal = parse_sections(
        r,
        root,
        cluster_cidrs=[cluster["pod_cidr"], cluster["service_cidr"]],
        addons=[a.name for a in addons],
        host_pattern=host_pattern,
    )
    # Optional: a platform follows the version of cluster-bootstrap unless it pins its own.
    k8s_version = str(cluster.get("kubernetes_version") or kubernetes_version())
    return PlatformConfig(
        cluster_name=r.string(cluster, "name", "cluster"),
        kubernetes_version=k8s_version,
        pod_cidr=r.string(cluster, "pod_cidr", "cluster"),
        service_cidr=r.string(cluster, "service_cidr", "cluster"),
        dns_namespace=r.string(cluster, "dns_namespace", "cluster"),
        base_domain=r.string(ingress, "base_domain", "ingress"),
        host_pattern=host_pattern,
        ingress_class=r.string(ingress, "class", "ingress"),
        ingress_namespace=r.string(ingress, "namespace", "ingress"),
        tls_secret=r.string(ingress, "tls_secret", "ingress", empty=True),
        argocd_namespace=r.string(argocd, "namespace", "argocd"),
        argocd_server=r.string(argocd, "server", "argocd", empty=True),
        argocd_crd_dir=str(argocd.get("crd_dir") or ""),
        repo_url=r.string(repo, "url", "repo"),
        repo_branch=r.string(repo, "branch", "repo"),
        github_org=r.string(github, "org", "github"),
        student_repo_name=student_repo_name(r, github),
        pss_enforce=pss["enforce"],
        pss_warn=pss["warn"],
        pss_audit=pss["audit"],
        pss_version=str(pss.get("version") or minor_version(k8s_version)),
        registries=tuple(prefixes),
        tiers=tiers,
        default_tier=default_tier,
        addons=tuple(addons),
        github=_github_settings(r, github),
        tenant_pool=tenant_pool,
        node_cidrs=cidr_list(r, cluster, "node_cidrs", "cluster"),
        denied_egress=cidr_list(r, cluster, "denied_egress", "cluster"),
        extra_reserved=reserved_list(r, root),
        pss_run_as_user=run_as_user,
        timetable=parse_timetable(r, root.get("timetable")),
        databases=parse_databases(r, root),
        baremetal=baremetal,
        capacity=parse_capacity(r, root.get("capacity"), tenant_pool),
    )


def _github_settings(r: Reader, data: Mapping[str, Any]) -> GitHubSettings:
    """Parse the optional ``github:`` keys (missing keys take their defaults)."""
    out: dict[str, Any] = {}
    for key, default in GitHubSettings().__dict__.items():
        value = data.get(key, default)
        if value is None:
            value = default
        if key == "app_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an App id is a number; YAML reads it as one
        if type(value) is not type(default):
            raise r.fail(f"github.{key}", f"expected a {type(default).__name__}, got {value!r}")
        out[key] = value
    team = out["course_team"]
    if team and not DNS_LABEL.match(team):
        raise r.fail("github.course_team", f"{team!r} is not a team slug like cs101-2026")
    if out["pull_secret"] and not DNS_LABEL.match(out["pull_secret"]):
        raise r.fail("github.pull_secret", f"{out['pull_secret']!r} is not a Secret name")
    pip = out["workflow_pip"]
    # The workflow splits it on spaces into pip's arguments (docs/admin-guide.md).
    if pip and (" @ " in pip or any(c in pip for c in "\n\"'$`\\")):
        raise r.fail(
            "github.workflow_pip",
            f"{pip!r} is not pip install arguments separated by spaces",
            hint="e.g. kuploy-gitops==1.2.0, git+https://HOST/ORG/kuploy-gitops@v1.2.0 or "
            "--index-url https://INDEX/simple kuploy-gitops==1.2.0 (no quotes, no ' @ ')",
        )
    if out["template_repo"] and out["template_repo"].count("/") != 1:
        raise r.fail("github.template_repo", f"{out['template_repo']!r} is not OWNER/NAME")
    if bool(out["app_id"]) != bool(out["app_private_key_file"]):
        raise r.fail("github", "set both app_id and app_private_key_file (or neither)")
    return GitHubSettings(**out)


def load_config(repo: Path) -> PlatformConfig:
    """Read and validate ``kuploy.yaml`` of the platform repo at ``repo``."""
    path = repo / layout.CONFIG_FILE
    if not path.is_file():
        raise NotInitialisedError(
            f"{repo}: not a kuploy platform repo (no {layout.CONFIG_FILE})",
            hint="run `kuploy-gitops init` there, or point -C / KUPLOY_REPO at the platform repo",
        )
    text = path.read_text(encoding="utf-8")
    return parse_config(yamlio.load(text, source=str(path)), str(path))
