"""kuploy.yaml and tenant specs: typed models, defaults, and validation with clear errors.

The platform config is read from ``kuploy.yaml`` (written by ``init`` from :func:`default_config`,
then owned by the admin). A tenant spec (``tenants/<student>.yaml``) is kuploy's own small format
and the source of truth for everything rendered for that student.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, yamlio
from kuploy_gitops.errors import ConfigError, InvalidInputError, NotInitialisedError

CONFIG_VERSION = 1
SPEC_VERSION = 1

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")

MAX_STUDENT_LEN = 30
MAX_APP_LEN = 30
RESERVED_NAMES = frozenset(
    {
        "default",
        "argocd",
        "archive",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "cnpg-system",
        "traefik",
        "metrics-server",
        "cert-manager",
        "platform",
        "kuploy",
        "admin",
        "root",
    }
)
RESERVED_PREFIXES = ("kube-", "kuploy-", "argocd-", "calico-", "tigera-", "openshift-")
PSS_LEVELS = ("privileged", "baseline", "restricted")


@dataclass(frozen=True)
class Size:
    """Per-container resources of a platform-managed app (``--size``)."""

    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str


SIZES: dict[str, Size] = {
    "tiny": Size("50m", "64Mi", "250m", "256Mi"),
    "small": Size("100m", "128Mi", "500m", "512Mi"),
    "medium": Size("250m", "256Mi", "1", "1Gi"),
}
DEFAULT_SIZE = "small"


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
    pull_secret: str = "ghcr-pull"  # imagePullSecret of private repos' Deployments
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

    @property
    def target_revision(self) -> str:
        """Fully qualified revision of the platform repo (avoids ambiguous ref lookups)."""
        return f"refs/heads/{self.repo_branch}"

    def host(self, student: str, app: str) -> str:
        """The public host name of a student's app."""
        return self.host_pattern.format(app=app, student=student, domain=self.base_domain)

    def student_repo_url(self, student: str, app: str) -> str:
        """URL of the GitHub repo that `github setup` makes for a student's app.

        AppProjects list each student repo explicitly rather than by a glob: with a glob like
        ``<org>/<student>-*``, student ``kim`` would be allowed the repos of student ``kim-lee``.
        """
        name = self.student_repo_name.format(student=student, app=app)
        return f"https://github.com/{self.github_org}/{name}.git"

    def reserved_namespaces(self) -> frozenset[str]:
        """Namespaces no student may be named after."""
        extra = {self.argocd_namespace, self.ingress_namespace, self.dns_namespace}
        extra.update(a.namespace for a in self.addons)
        return RESERVED_NAMES | extra


def default_config_data(
    *,
    cluster_name: str = "konkuk-lab",
    domain: str = "apps.konkuk.example",
    repo_url: str = "https://github.com/konkuk-kuploy/platform-gitops.git",
    branch: str = "main",
    github_org: str = "konkuk-kuploy",
    argocd_server: str = "",
) -> dict[str, Any]:
    """The ``kuploy.yaml`` that ``init`` writes, as data (the embedded default)."""
    return {
        "version": CONFIG_VERSION,
        "cluster": {
            "name": cluster_name,
            "kubernetes_version": "1.34.0",
            "pod_cidr": "10.244.0.0/16",
            "service_cidr": "10.96.0.0/12",
            "dns_namespace": "kube-system",
        },
        "ingress": {
            "base_domain": domain,
            "host_pattern": "{app}.{student}.{domain}",
            "class": "traefik",
            "namespace": "traefik",
            "tls_secret": "kuploy-wildcard-tls",
        },
        "argocd": {
            "namespace": "argocd",
            "server": argocd_server or f"https://argocd.{domain}",
            "crd_dir": "",
        },
        "repo": {"url": repo_url, "branch": branch},
        "github": {
            "org": github_org,
            "student_repo_name": "{student}-{app}",
            "api_url": "",
            "template_repo": "",
            "private": True,
            "webhook": False,
            "app_id": "",
            "app_private_key_file": "",
            "course_team": "",
            "pull_secret": "ghcr-pull",
            "workflow_pip": "",
        },
        "pod_security": {
            "enforce": "baseline",
            "warn": "restricted",
            "audit": "restricted",
            "version": "v1.34",
        },
        "registries": ["ghcr.io/" + github_org.lower() + "/", "docker.io/library/", "ghcr.io/"],
        "default_tier": "small",
        "tiers": {
            "small": {
                "quota": {
                    "requests.cpu": "1",
                    "limits.cpu": "2",
                    "requests.memory": "1Gi",
                    "limits.memory": "2Gi",
                    "pods": "10",
                    "services": "5",
                    "services.nodeports": "0",
                    "services.loadbalancers": "0",
                    "persistentvolumeclaims": "2",
                    "requests.storage": "5Gi",
                    "requests.ephemeral-storage": "2Gi",
                    "limits.ephemeral-storage": "4Gi",
                    "configmaps": "20",
                    "secrets": "20",
                    "count/cronjobs.batch": "3",
                },
                "limits": {
                    "default": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                    "default_request": {
                        "cpu": "50m",
                        "memory": "128Mi",
                        "ephemeral-storage": "100Mi",
                    },
                    "max": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"},
                },
            },
            "large": {
                "quota": {
                    "requests.cpu": "2",
                    "limits.cpu": "4",
                    "requests.memory": "4Gi",
                    "limits.memory": "8Gi",
                    "pods": "20",
                    "services": "10",
                    "services.nodeports": "0",
                    "services.loadbalancers": "0",
                    "persistentvolumeclaims": "4",
                    "requests.storage": "20Gi",
                    "requests.ephemeral-storage": "4Gi",
                    "limits.ephemeral-storage": "8Gi",
                    "configmaps": "40",
                    "secrets": "40",
                    "count/cronjobs.batch": "5",
                },
                "limits": {
                    "default": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                    "default_request": {
                        "cpu": "50m",
                        "memory": "128Mi",
                        "ephemeral-storage": "100Mi",
                    },
                    "max": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "4Gi"},
                },
            },
        },
        "addons": {
            "traefik": {
                "chart": "traefik",
                "repo_url": "https://traefik.github.io/charts",
                "version": "37.1.2",
                "namespace": "traefik",
                "values": {
                    "ingressClass": {"enabled": True, "isDefaultClass": True},
                    "service": {"type": "LoadBalancer"},
                },
            },
            "metrics-server": {
                "chart": "metrics-server",
                "repo_url": "https://kubernetes-sigs.github.io/metrics-server/",
                "version": "3.13.0",
                "namespace": "kube-system",
                "values": {"args": ["--kubelet-insecure-tls"]},
            },
            "cloudnative-pg": {
                "chart": "cloudnative-pg",
                "repo_url": "https://cloudnative-pg.github.io/charts",
                "version": "0.26.0",
                "namespace": "cnpg-system",
                "values": {},
            },
        },
    }


# --------------------------------------------------------------------------------------------
# Parsing kuploy.yaml


class _Reader:
    """Reads typed values out of nested mappings, naming the key path in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}", hint="edit the file and retry")

    def mapping(self, data: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(data).__name__}")
        return data

    def get(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in data:
            raise self.fail(f"{path}.{key}" if path else key, "missing")
        return data[key]

    def string(self, data: Mapping[str, Any], key: str, path: str, *, empty: bool = False) -> str:
        value = self.get(data, key, path)
        full = f"{path}.{key}" if path else key
        if not isinstance(value, str):
            raise self.fail(full, f"expected a string, got {value!r}")
        if not empty and not value:
            raise self.fail(full, "must not be empty")
        return value


def _quantity_map(reader: _Reader, data: Any, path: str) -> dict[str, str]:
    mapping = reader.mapping(data, path)
    out: dict[str, str] = {}
    for k, v in mapping.items():
        text = str(v)
        if not QUANTITY.match(text):
            raise reader.fail(
                f"{path}.{k}", f"{text!r} is not a Kubernetes quantity like 500m or 1Gi"
            )
        out[str(k)] = text
    return out


def parse_config(data: Any, source: str = layout.CONFIG_FILE) -> PlatformConfig:
    """Validate ``kuploy.yaml`` data and build a :class:`PlatformConfig`."""
    r = _Reader(source)
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
    host_pattern = r.string(ingress, "host_pattern", "ingress")
    try:
        sample = host_pattern.format(app="a", student="s", domain="d.example")
    except (KeyError, IndexError, ValueError) as exc:
        raise r.fail("ingress.host_pattern", "may only use {app}, {student} and {domain}") from exc
    if "{app}" not in host_pattern or "{student}" not in host_pattern:
        raise r.fail("ingress.host_pattern", "must contain both {app} and {student}")
    if not all(DNS_LABEL.match(p) for p in sample.split(".")):
        raise r.fail("ingress.host_pattern", f"{host_pattern!r} does not make a DNS name")

    registries = root.get("registries", [])
    if not isinstance(registries, list) or not all(isinstance(x, str) for x in registries):
        raise r.fail("registries", "expected a list of registry prefixes like ghcr.io/my-org/")

    tiers_data = r.mapping(r.get(root, "tiers", ""), "tiers")
    tiers: dict[str, Tier] = {}
    for name, tier in tiers_data.items():
        t = r.mapping(tier, f"tiers.{name}")
        limits = r.mapping(r.get(t, "limits", f"tiers.{name}"), f"tiers.{name}.limits")
        tiers[str(name)] = Tier(
            name=str(name),
            quota=_quantity_map(r, r.get(t, "quota", f"tiers.{name}"), f"tiers.{name}.quota"),
            default=_quantity_map(r, r.get(limits, "default", ""), f"tiers.{name}.limits.default"),
            default_request=_quantity_map(
                r, r.get(limits, "default_request", ""), f"tiers.{name}.limits.default_request"
            ),
            max=_quantity_map(r, r.get(limits, "max", ""), f"tiers.{name}.limits.max"),
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

    return PlatformConfig(
        cluster_name=r.string(cluster, "name", "cluster"),
        kubernetes_version=str(r.get(cluster, "kubernetes_version", "cluster")),
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
        student_repo_name=r.string(github, "student_repo_name", "github"),
        pss_enforce=pss["enforce"],
        pss_warn=pss["warn"],
        pss_audit=pss["audit"],
        pss_version=r.string(pss, "version", "pod_security"),
        registries=tuple(registries),
        tiers=tiers,
        default_tier=default_tier,
        addons=tuple(addons),
        github=_github_settings(r, github),
    )


def _github_settings(r: _Reader, data: Mapping[str, Any]) -> GitHubSettings:
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


# --------------------------------------------------------------------------------------------
# Tenant specs


@dataclass(frozen=True)
class AppSpec:
    """One app of a student: platform-managed (``image``) or student-repo (``repo``)."""

    name: str
    mode: str  # "managed" | "repo"
    image: str = ""
    port: int = 0
    env: tuple[tuple[str, str], ...] = ()
    health_path: str = "/"
    replicas: int = 1
    size: str = DEFAULT_SIZE
    repo: str = ""
    path: str = "deploy"
    revision: str = "main"

    def to_data(self) -> dict[str, Any]:
        """The app as it is stored in the tenant spec."""
        if self.mode == "repo":
            return {"mode": "repo", "repo": self.repo, "path": self.path, "revision": self.revision}
        return {
            "mode": "managed",
            "image": self.image,
            "port": self.port,
            "env": dict(self.env),
            "health_path": self.health_path,
            "replicas": self.replicas,
            "size": self.size,
        }


@dataclass(frozen=True)
class TenantSpec:
    """The source of truth for one student's tenant."""

    student: str
    tier: str
    github: str = ""
    name: str = ""
    email: str = ""
    course: str = ""
    term: str = ""
    expires: str = ""
    apps: tuple[AppSpec, ...] = ()

    def app(self, name: str) -> AppSpec | None:
        """The app called ``name``, if any."""
        return next((a for a in self.apps if a.name == name), None)

    def with_app(self, app: AppSpec) -> TenantSpec:
        """A copy with ``app`` added (apps kept sorted by name for stable output)."""
        apps = tuple(sorted([*(a for a in self.apps if a.name != app.name), app], key=_by_name))
        return replace(self, apps=apps)

    def without_app(self, name: str) -> TenantSpec:
        """A copy without the app ``name``."""
        return replace(self, apps=tuple(a for a in self.apps if a.name != name))

    def to_data(self) -> dict[str, Any]:
        """The spec as stored in ``tenants/<student>.yaml``."""
        data: dict[str, Any] = {"version": SPEC_VERSION, "student": self.student, "tier": self.tier}
        for key in ("github", "name", "email", "course", "term", "expires"):
            value = getattr(self, key)
            if value:
                data[key] = value
        data["apps"] = {a.name: a.to_data() for a in self.apps}
        return data


def _by_name(app: AppSpec) -> str:
    return app.name


def check_student_name(student: str, cfg: PlatformConfig | None = None) -> None:
    """Refuse a student name that cannot be a namespace or is reserved."""
    if not DNS_LABEL.match(student):
        raise InvalidInputError(
            f"student name {student!r} is not a DNS label",
            hint="use lowercase letters, digits and '-', starting and ending with a letter or "
            "digit (e.g. 'kim-minji' or '202112345')",
        )
    if len(student) > MAX_STUDENT_LEN:
        raise InvalidInputError(
            f"student name {student!r} has {len(student)} characters",
            hint=f"use at most {MAX_STUDENT_LEN}, so that '<student>-<app>' Application names "
            "and host names stay within 63",
        )
    reserved = cfg.reserved_namespaces() if cfg else RESERVED_NAMES
    if student in reserved or student.startswith(RESERVED_PREFIXES):
        raise InvalidInputError(
            f"student name {student!r} is reserved for the platform",
            hint="pick another name, e.g. prefix it with the course ('cs101-" + student + "')",
        )


def check_app_name(app: str) -> None:
    """Refuse an app name that cannot be a DNS label in names and hosts."""
    if not DNS_LABEL.match(app) or len(app) > MAX_APP_LEN:
        raise InvalidInputError(
            f"app name {app!r} is not a DNS label of at most {MAX_APP_LEN} characters",
            hint="use lowercase letters, digits and '-' (e.g. 'web' or 'api')",
        )


def check_github_login(login: str) -> None:
    """Refuse a GitHub login GitHub itself would refuse."""
    if login and not GITHUB_LOGIN.match(login):
        raise InvalidInputError(
            f"GitHub login {login!r} is not valid",
            hint="use the user's GitHub username: letters, digits and single hyphens, max 39",
        )


def check_label_value(what: str, value: str) -> None:
    """Refuse a value that cannot be a Kubernetes label value."""
    if len(value) > 63 or not LABEL_VALUE.match(value):
        raise InvalidInputError(
            f"{what} {value!r} cannot be a Kubernetes label value",
            hint="use at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit (e.g. 'cs101' or '2026-fall')",
        )


def check_text(what: str, value: str) -> None:
    """Refuse text that is not valid UTF-8 (e.g. lone surrogates from a broken terminal)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"{what} {value!r} is not valid text", hint="retype it") from exc


def check_expiry(value: str, today: dt.date | None = None) -> None:
    """Refuse an expiry date that is malformed or in the past."""
    try:
        date = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"expiry date {value!r} is not a date", hint="use YYYY-MM-DD, e.g. 2027-02-28"
        ) from exc
    if len(value) != 10:
        raise InvalidInputError(f"expiry date {value!r} is not YYYY-MM-DD", hint="e.g. 2027-02-28")
    if date < (today or dt.date.today()):
        raise InvalidInputError(
            f"expiry date {value} is in the past", hint="give a date from today on"
        )


def validate_spec(spec: TenantSpec, cfg: PlatformConfig, *, check_dates: bool = True) -> None:
    """Check every field of a tenant spec against the platform config."""
    check_student_name(spec.student, cfg)
    if spec.tier not in cfg.tiers:
        raise InvalidInputError(
            f"tier {spec.tier!r} does not exist",
            hint=f"use one of {', '.join(sorted(cfg.tiers))} (tiers are defined in kuploy.yaml)",
        )
    check_github_login(spec.github)
    for what, value in (("name", spec.name), ("email", spec.email)):
        check_text(what, value)
    if spec.email and not EMAIL.match(spec.email):
        raise InvalidInputError(f"email {spec.email!r} is not an address", hint="e.g. a@b.ac.kr")
    if spec.course:
        check_label_value("course", spec.course)
    if spec.term:
        check_label_value("term", spec.term)
    if spec.expires:
        if check_dates:
            check_expiry(spec.expires)
        else:
            check_label_value("expires", spec.expires)
    for app in spec.apps:
        check_app(spec, app, cfg)


def check_app(spec: TenantSpec, app: AppSpec, cfg: PlatformConfig) -> None:
    """Check one app of a tenant (names, port, env, size within the tier)."""
    check_app_name(app.name)
    if app.mode == "repo":
        if not app.repo or any(c.isspace() for c in app.repo):
            raise InvalidInputError(f"repo URL {app.repo!r} is not a URL", hint="e.g. https://…")
        if app.path.startswith("/") or ".." in app.path.split("/"):
            raise InvalidInputError(
                f"path {app.path!r} must be relative inside the repo", hint="e.g. deploy"
            )
        return
    if app.mode != "managed":
        raise InvalidInputError(f"app mode {app.mode!r} is unknown", hint="use managed or repo")
    if not app.image or any(c.isspace() for c in app.image) or app.image != app.image.strip():
        raise InvalidInputError(
            f"image {app.image!r} is not an image reference", hint="e.g. ghcr.io/org/app:1.0"
        )
    if not 1 <= app.port <= 65535:
        raise InvalidInputError(f"port {app.port} is out of range", hint="use 1-65535")
    if not app.health_path.startswith("/") or any(c.isspace() for c in app.health_path):
        raise InvalidInputError(
            f"health path {app.health_path!r} must start with '/'", hint="e.g. /healthz"
        )
    if not 0 <= app.replicas <= 10:
        raise InvalidInputError(f"replicas {app.replicas} is out of range", hint="use 0-10")
    if app.size not in SIZES:
        raise InvalidInputError(
            f"size {app.size!r} does not exist", hint=f"use one of {', '.join(SIZES)}"
        )
    for key, value in app.env:
        if not ENV_NAME.match(key):
            raise InvalidInputError(
                f"env variable name {key!r} is not valid", hint="use letters, digits, '_', '-', '.'"
            )
        check_text(f"env {key}", value)
    tier = cfg.tiers[spec.tier]
    size = SIZES[app.size]
    for res, value in (("cpu", size.limits_cpu), ("memory", size.limits_memory)):
        cap = tier.max.get(res)
        if cap is not None and parse_quantity(value) > parse_quantity(cap):
            raise InvalidInputError(
                f"size {app.size!r} ({res} limit {value}) exceeds tier {tier.name!r} max {cap}",
                hint="pick a smaller --size or a larger --tier",
            )
    _check_quota_fits(spec, cfg)


def _check_quota_fits(spec: TenantSpec, cfg: PlatformConfig) -> None:
    tier = cfg.tiers[spec.tier]
    totals = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0}
    for a in spec.apps:
        if a.mode != "managed":
            continue
        s = SIZES.get(a.size)
        if s is None:
            continue
        totals["requests.cpu"] += a.replicas * parse_quantity(s.requests_cpu)
        totals["requests.memory"] += a.replicas * parse_quantity(s.requests_memory)
        totals["limits.cpu"] += a.replicas * parse_quantity(s.limits_cpu)
        totals["limits.memory"] += a.replicas * parse_quantity(s.limits_memory)
    for key, total in totals.items():
        cap = tier.quota.get(key)
        if cap is not None and total > parse_quantity(cap) + 1e-9:
            raise InvalidInputError(
                f"apps of {spec.student!r} would need {key} {format_quantity(key, total)}, "
                f"over tier {tier.name!r} quota {cap}",
                hint="use fewer --replicas, a smaller --size or a larger --tier",
            )


_SUFFIX = {
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
}


def parse_quantity(value: str) -> float:
    """Parse a Kubernetes quantity (``500m``, ``1Gi``, ``2``) into a float in base units."""
    m = re.match(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$", str(value).strip())
    if not m or (m.group(2) and m.group(2) not in _SUFFIX):
        raise ValueError(f"not a quantity: {value!r}")
    return float(m.group(1)) * _SUFFIX.get(m.group(2), 1.0)


def format_quantity(key: str, value: float) -> str:
    """Format a total for a message (cpu in cores/millicores, memory in Mi)."""
    if "memory" in key:
        return f"{value / 1024**2:.0f}Mi"
    return f"{value * 1000:.0f}m"


def _str_field(r: _Reader, data: Mapping[str, Any], key: str, path: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str | int):
        raise r.fail(f"{path}{key}", f"expected text, got {value!r}")
    return str(value)


def parse_spec(data: Any, source: str) -> TenantSpec:
    """Build a :class:`TenantSpec` from spec file data (no config checks)."""
    r = _Reader(source)
    root = r.mapping(data, "spec")
    if root.get("version") != SPEC_VERSION:
        raise r.fail("version", f"{root.get('version')!r} is not supported (expected 1)")
    apps: list[AppSpec] = []
    for name, app in r.mapping(root.get("apps") or {}, "apps").items():
        a = r.mapping(app, f"apps.{name}")
        mode = a.get("mode", "managed")
        if mode == "repo":
            apps.append(
                AppSpec(
                    name=str(name),
                    mode="repo",
                    repo=_str_field(r, a, "repo", f"apps.{name}."),
                    path=_str_field(r, a, "path", f"apps.{name}.") or "deploy",
                    revision=_str_field(r, a, "revision", f"apps.{name}.") or "main",
                )
            )
            continue
        env = r.mapping(a.get("env") or {}, f"apps.{name}.env")
        try:
            port = int(a.get("port", 0))
            replicas = int(a.get("replicas", 1))
        except (TypeError, ValueError) as exc:
            raise r.fail(f"apps.{name}", "port and replicas must be numbers") from exc
        apps.append(
            AppSpec(
                name=str(name),
                mode=str(mode),
                image=_str_field(r, a, "image", f"apps.{name}."),
                port=port,
                env=tuple((str(k), str(v)) for k, v in env.items()),
                health_path=_str_field(r, a, "health_path", f"apps.{name}.") or "/",
                replicas=replicas,
                size=_str_field(r, a, "size", f"apps.{name}.") or DEFAULT_SIZE,
            )
        )
    return TenantSpec(
        student=_str_field(r, root, "student", ""),
        tier=_str_field(r, root, "tier", ""),
        github=_str_field(r, root, "github", ""),
        name=_str_field(r, root, "name", ""),
        email=_str_field(r, root, "email", ""),
        course=_str_field(r, root, "course", ""),
        term=_str_field(r, root, "term", ""),
        expires=_str_field(r, root, "expires", ""),
        apps=tuple(sorted(apps, key=_by_name)),
    )


def read_spec(repo: Path, student: str) -> TenantSpec | None:
    """Read ``tenants/<student>.yaml``, or ``None`` when the student is not onboarded."""
    path = repo / layout.tenant_spec(student)
    if not path.is_file():
        return None
    spec = parse_spec(yamlio.load(path.read_text(encoding="utf-8"), source=str(path)), str(path))
    if spec.student != student:
        raise ConfigError(
            f"{path}: student {spec.student!r} does not match the file name",
            hint=f"rename the file or set student: {student}",
        )
    return spec


def list_students(repo: Path) -> list[str]:
    """Names of all onboarded students, sorted."""
    folder = repo / layout.TENANTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())


SPEC_HEADER = (
    "kuploy tenant spec: the source of truth for this student's tenant.\n"
    "Edit with kuploy-gitops (onboard, app add/remove, offboard); then `kuploy-gitops render`."
)


def dump_spec(spec: TenantSpec) -> str:
    """Serialise a tenant spec for ``tenants/<student>.yaml``."""
    return yamlio.dump(spec.to_data(), header=SPEC_HEADER)
