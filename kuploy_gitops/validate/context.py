"""What the cluster would know about one tenant: PSS levels, quota, limits and AppProject.

Built from the tenant's committed guard objects (what Argo CD applies), falling back to the
platform config and tenant spec where a guard is missing, so admission is emulated against
the same rules the cluster enforces.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kuploy_gitops import layout, netpol, podsecurity, repourl, tenant_kinds
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.names import DNS_LABEL
from kuploy_gitops.quantity import kube_quantities as _q  # as the API server reads them
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate.objects import as_map
from kuploy_gitops.validate.reach import Port, admitted_ports

CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


@dataclass(frozen=True)
class ScopedQuota:
    """A ResourceQuota with scopes: it counts only the pods its scopes match, against ``hard``.

    ``requirements`` are the quota's scopes as (scope name, operator, values): ``spec.scopes``
    as ``Exists`` (what the API server makes of them), then ``spec.scopeSelector``'s.
    """

    name: str
    hard: dict[str, float]
    hard_text: dict[str, str]
    requirements: tuple[tuple[str, str, tuple[str, ...]], ...]


@dataclass
class TenantContext:
    """Admission-relevant facts of one tenant."""

    student: str
    namespace: str
    enforce: str
    warn: str
    audit: str
    quota: dict[str, float] = field(default_factory=dict)
    quota_text: dict[str, str] = field(default_factory=dict)
    # Quotas with scopes: never merged into ``quota`` (they do not cap every pod).
    scoped_quotas: list[ScopedQuota] = field(default_factory=list)
    default: dict[str, float] = field(default_factory=dict)
    default_request: dict[str, float] = field(default_factory=dict)
    max: dict[str, float] = field(default_factory=dict)
    source_repos: list[str] = field(default_factory=list)
    destinations: list[tuple[str, str]] = field(default_factory=list)
    # None: no whitelist at all (Argo CD then allows every kind); []: an empty one (none).
    whitelist: list[tuple[str, str]] | None = None
    blacklist: list[tuple[str, str]] = field(default_factory=list)
    cluster_whitelist: list[tuple[str, str]] = field(default_factory=list)
    host_re: HostPattern | None = None
    has_project: bool = False
    # The pod ports the ingress controller may reach (None: every port, or not known).
    ingress_ports: tuple[Port, ...] | None = None

    def repo_allowed(self, url: str) -> bool:
        """Whether an AppProject sourceRepos glob admits ``url`` (Argo CD normalises URLs)."""
        want = repourl.normalise(url)
        for pattern in self.source_repos:
            if pattern == "*" or fnmatch.fnmatchcase(want, repourl.normalise(pattern)):
                return True
        return False

    def permitted(self, group: str, kind: str) -> bool:
        """Whether the tenant's AppProject lets a namespaced (group, kind) sync."""
        return permitted(self.whitelist, self.blacklist, group, kind)


def permitted(
    whitelist: Iterable[tuple[str, str]] | None,
    blacklist: Iterable[tuple[str, str]],
    group: str,
    kind: str,
) -> bool:
    """Argo CD's rule (``AppProject.IsGroupKindPermitted``) for a namespaced (group, kind).

    Whitelisted (no whitelist at all allows everything, an empty one nothing) and not
    blacklisted, entries being globs.
    """
    white = whitelist is None or _listed(whitelist, group, kind)
    return white and not _listed(blacklist, group, kind)


def _listed(entries: Iterable[tuple[str, str]], group: str, kind: str) -> bool:
    exact, globs = _split_entries(tuple(entries))
    return (group, kind) in exact or any(
        fnmatch.fnmatchcase(kind, k) and fnmatch.fnmatchcase(group, g) for g, k in globs
    )


@functools.lru_cache(maxsize=64)
def _split_entries(
    entries: tuple[tuple[str, str], ...],
) -> tuple[frozenset[tuple[str, str]], tuple[tuple[str, str], ...]]:
    """(Entries without glob characters, the rest).

    Every object of every app is checked against the same few projects, and a set lookup is
    what most of them need.
    """
    exact = frozenset(e for e in entries if not any(c in "*?[" for c in e[0] + e[1]))
    return exact, tuple(e for e in entries if e not in exact)


@dataclass(frozen=True)
class HostPattern:
    """The hosts a student may claim: the host pattern with any DNS label as ``{app}``."""

    prefix: str
    suffix: str
    app_label: str = DNS_LABEL.pattern  # the grammar of the app's part (PlatformConfig.app_label)

    def match(self, host: str) -> bool:
        """Whether ``host`` (lowercase) is one of the student's hosts."""
        # Where prefix and suffix overlap the slice is empty, which is no DNS label.
        app = host[len(self.prefix) : len(host) - len(self.suffix)]
        return (
            host.startswith(self.prefix)
            and host.endswith(self.suffix)
            and re.fullmatch(self.app_label, app) is not None
        )


def host_pattern(cfg: PlatformConfig, student: str) -> HostPattern:
    """The student's :class:`HostPattern` (kuploy.yaml's host pattern has ``{app}`` once)."""
    return HostPattern(*cfg.host_affixes(student), cfg.app_label)


def scoped_quota(name: str, spec: Mapping[str, Any]) -> ScopedQuota | None:
    """The quota of ``spec`` as a :class:`ScopedQuota`, or None when it has no scope."""
    requirements: list[tuple[str, str, tuple[str, ...]]] = [
        (str(x), "Exists", ()) for x in spec.get("scopes") or []
    ]
    for expr in as_map(spec.get("scopeSelector")).get("matchExpressions") or []:
        e = as_map(expr)
        values = tuple(str(v) for v in e.get("values") or [])
        requirements.append((str(e.get("scopeName", "")), str(e.get("operator", "")), values))
    if not requirements:
        return None
    hard = as_map(spec.get("hard"))
    text = {str(k): str(v) for k, v in hard.items()}
    return ScopedQuota(name, _q(hard), text, tuple(requirements))


def _limit_item(
    ctx: TenantContext,
    default: dict[str, float],
    default_request: dict[str, float],
    max_: dict[str, float],
) -> None:
    """One Container item of a LimitRange, defaulted as the API server stores it.

    A resource with a max but no default limit gets the max as its default limit, and a default
    limit without a default request is the default request too: a container that sets nothing
    is given the max.
    """
    for res, value in max_.items():
        default.setdefault(res, value)
    for res, value in default.items():
        default_request.setdefault(res, value)
    ctx.default.update(default)
    ctx.default_request.update(default_request)
    ctx.max.update(max_)


def build(
    cfg: PlatformConfig,
    student: str,
    spec: TenantSpec | None,
    guard_objects: Iterable[Mapping[str, Any]],
) -> TenantContext:
    """The tenant's context from its committed guards (fallback: config and spec)."""
    ctx = TenantContext(
        student=student,
        namespace=layout.namespace_name(student),
        enforce=cfg.pss_enforce,
        warn=cfg.pss_warn,
        audit=cfg.pss_audit,
        host_re=host_pattern(cfg, student),
    )
    quota_seen = limits_seen = False
    network_policies: list[Mapping[str, Any]] = []
    for obj in guard_objects:
        kind = obj.get("kind")
        meta = as_map(obj.get("metadata"))
        spec_ = as_map(obj.get("spec"))
        if kind == "Namespace" and meta.get("name") == ctx.namespace:
            labels = meta.get("labels") or {}
            prefix = layout.PSA_PREFIX
            # Without a label PSA applies the cluster default: privileged.
            ctx.enforce = str(labels.get(f"{prefix}/enforce", "privileged"))
            ctx.warn = str(labels.get(f"{prefix}/warn", "privileged"))
            ctx.audit = str(labels.get(f"{prefix}/audit", "privileged"))
        elif kind == "ResourceQuota":
            quota_seen = True
            hard = spec_.get("hard") or {}
            scoped = scoped_quota(str(meta.get("name", "")), spec_)
            if scoped is not None:
                ctx.scoped_quotas.append(scoped)
                continue
            for key, value in _q(hard).items():
                # Several quotas: every one must admit the pod, so the smallest wins (and is the
                # one a message quotes).
                if key not in ctx.quota or value < ctx.quota[key]:
                    ctx.quota[key] = value
                    ctx.quota_text[key] = str(hard[key])
        elif kind == "LimitRange":
            limits_seen = True
            for item in spec_.get("limits") or []:
                if isinstance(item, Mapping) and item.get("type") == "Container":
                    _limit_item(
                        ctx,
                        _q(item.get("default") or {}),
                        _q(item.get("defaultRequest") or {}),
                        _q(item.get("max") or {}),
                    )
        elif kind == "NetworkPolicy":
            network_policies.append(obj)
        elif kind == "AppProject" and meta.get("name") == layout.project_name(student):
            ctx.has_project = True
            ctx.source_repos = [str(x) for x in spec_.get("sourceRepos") or []]
            ctx.destinations = [
                (str(d.get("server") or d.get("name") or ""), str(d.get("namespace") or ""))
                for d in spec_.get("destinations") or []
                if isinstance(d, Mapping)
            ]
            ctx.whitelist = (
                None
                if spec_.get("namespaceResourceWhitelist") is None
                else group_kinds(spec_.get("namespaceResourceWhitelist"))
            )
            ctx.blacklist = group_kinds(spec_.get("namespaceResourceBlacklist"))
            ctx.cluster_whitelist = group_kinds(spec_.get("clusterResourceWhitelist"))
    tier = cfg.tiers.get(spec.tier) if spec is not None else None
    if not quota_seen and tier is not None:
        ctx.quota = _q(tier.quota)
        ctx.quota_text = dict(tier.quota)
    if not quota_seen:
        # No committed guards (a student's CI): the quotas every tenant gets.
        fallback = scoped_quota(
            podsecurity.SYSTEM_PRIORITY_QUOTA, podsecurity.system_priority_quota_spec()
        )
        assert fallback is not None  # it has a scope selector
        ctx.scoped_quotas.append(fallback)
    if not limits_seen and tier is not None:
        _limit_item(ctx, _q(tier.default), _q(tier.default_request), _q(tier.max))
    if network_policies:
        ctx.ingress_ports = admitted_ports(network_policies)
    elif spec is not None:
        ctx.ingress_ports = tuple(p["port"] for p in netpol.app_ports(spec))
    if not ctx.has_project:
        ctx.source_repos = [
            cfg.repo_url,
            *(a.repo for a in (spec.apps if spec else ()) if a.mode == "repo"),
        ]
        ctx.destinations = [(layout.IN_CLUSTER_SERVER, ctx.namespace)]
        ctx.whitelist = [(k.group, k.kind) for k in tenant_kinds.tenant_kinds(cfg)]
    return ctx


def group_kinds(entries: Any) -> list[tuple[str, str]]:
    """The (group, kind) pairs of an AppProject resource list (malformed entries skipped)."""
    return [
        (str(x.get("group", "")), str(x.get("kind", "")))
        for x in entries or []
        if isinstance(x, Mapping)
    ]
