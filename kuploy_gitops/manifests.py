"""Builders for machine-owned objects, as plain data: tenant guards, AppProjects, Applications.

Nothing here reads or writes files; :mod:`kuploy_gitops.render` turns these dicts into YAML text
through :mod:`kuploy_gitops.yamlio`. Every builder is a pure function of the platform config and
the tenant spec, so output is deterministic.
"""

from __future__ import annotations

import json
from typing import Any

from kuploy_gitops import db_spec, layout, netpol, tenant_kinds
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

Obj = dict[str, Any]

# The admin-owned guards of a tenant (a student's AppProject whitelists none of them).
GUARD_KINDS: tuple[tuple[str, str], ...] = (
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
)


def _labels(spec: TenantSpec, **extra: str) -> dict[str, str]:
    labels = {
        layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
        layout.LABEL_PART_OF: layout.PART_OF,
        layout.LABEL_OWNER: spec.student,
    }
    labels.update(extra)
    return labels


def _meta(
    name: str, spec: TenantSpec, *, namespace: str | None, wave: str, prune_last: bool = False
) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = _labels(spec)
    annotations = {layout.ANNOTATION_SYNC_WAVE: wave}
    if prune_last:
        annotations[layout.ANNOTATION_SYNC_OPTIONS] = "PruneLast=true"
    meta["annotations"] = annotations
    return meta


def namespace(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """The student's Namespace with ownership and Pod Security labels."""
    ns = layout.namespace_name(spec.student)
    meta = _meta(ns, spec, namespace=None, wave=layout.WAVE_NAMESPACE, prune_last=True)
    labels = meta["labels"]
    labels[layout.LABEL_TIER] = spec.tier
    if spec.course:
        labels[layout.LABEL_COURSE] = spec.course
    if spec.term:
        labels[layout.LABEL_TERM] = spec.term
    if spec.expires:
        labels[layout.LABEL_EXPIRES] = spec.expires
    if spec.suspended:  # `kubectl get ns -l kuploy.io/suspended` lists them
        labels[layout.LABEL_SUSPENDED] = "true"
    for mode, level in (
        ("enforce", cfg.pss_enforce),
        ("warn", cfg.pss_warn),
        ("audit", cfg.pss_audit),
    ):
        labels[f"{layout.PSA_PREFIX}/{mode}"] = level
        labels[f"{layout.PSA_PREFIX}/{mode}-version"] = cfg.pss_version
    annotations = meta["annotations"]
    if cfg.tenant_pool:
        # Applied by the API server to every pod of the namespace, so students need not (and
        # cannot) choose nodes: the lab pool's selector, and the toleration of its taint.
        annotations[layout.ANNOTATION_NODE_SELECTOR] = f"{layout.POOL_LABEL}={cfg.tenant_pool}"
        annotations[layout.ANNOTATION_DEFAULT_TOLERATIONS] = json.dumps(
            [pool_toleration(cfg.tenant_pool)], separators=(",", ":")
        )
    if spec.name:
        annotations["kuploy.io/owner-name"] = spec.name
    if spec.email:
        annotations["kuploy.io/owner-email"] = spec.email
    if spec.github:
        annotations["kuploy.io/owner-github"] = spec.github
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def pool_toleration(pool: str) -> Obj:
    """The toleration of the lab pool's taint (``kuploy.io/pool=<pool>:NoSchedule``)."""
    return {"key": layout.POOL_LABEL, "operator": "Equal", "value": pool, "effect": "NoSchedule"}


def resource_quota(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """The tenant's ResourceQuota, from its tier; ``pods: 0`` while the tenant is suspended.

    The quota is what the cluster enforces for every app, the student's repo-mode apps too
    (whose manifests kuploy does not render): the API server admits no new pod.
    """
    tier = cfg.tiers[spec.tier]
    hard = dict(tier.quota)
    if spec.suspended:
        hard["pods"] = "0"
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta("kuploy-quota", spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
        "spec": {"hard": dict(sorted(hard.items()))},
    }


def limit_range(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """Container defaults and caps, so pods without ``resources:`` still pass the quota."""
    tier = cfg.tiers[spec.tier]
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta("kuploy-limits", spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": dict(tier.default),
                    "defaultRequest": dict(tier.default_request),
                    "max": dict(tier.max),
                }
            ]
        },
    }


def network_policies(cfg: PlatformConfig, spec: TenantSpec) -> list[Obj]:
    """Default deny both ways, then the few flows a student app needs (see :mod:`.netpol`)."""

    def meta(name: str) -> Obj:
        return _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS)

    return netpol.tenant_policies(cfg, spec, meta)


# What the student may do in their namespace: the built-in `view` role's read access (which
# deliberately leaves out Secrets), plus logs, restarting a pod and port-forwarding.
_READ = ["get", "list", "watch"]
_VIEW_RULES: list[tuple[str, list[str]]] = [
    (
        "",
        [
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "persistentvolumeclaims",
            "pods",
            "pods/status",
            "replicationcontrollers",
            "resourcequotas",
            "serviceaccounts",
            "services",
        ],
    ),
    ("apps", ["controllerrevisions", "daemonsets", "deployments", "replicasets", "statefulsets"]),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("batch", ["cronjobs", "jobs"]),
    ("discovery.k8s.io", ["endpointslices"]),
    ("events.k8s.io", ["events"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets"]),
]


def rbac(cfg: PlatformConfig, spec: TenantSpec) -> list[Obj]:
    """A Role (view-like + logs, pod delete, port-forward) and its binding to the student."""
    name = layout.student_rbac_name()
    rules: list[Obj] = [
        {"apiGroups": [group], "resources": resources, "verbs": list(_READ)}
        for group, resources in _VIEW_RULES
    ]
    rules += [
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
        {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["get", "create"]},
    ]
    if spec.databases:
        # Their own databases' connection Secrets (made by the operator), to connect while
        # debugging; no other Secret of the namespace.
        rules.append(
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": [db_spec.secret_name(d.name) for d in spec.databases],
                "verbs": ["get"],
            }
        )
    subject: Obj = {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "User",
        "name": spec.github or spec.student,
    }
    return _role_and_binding(spec, name, rules, subject)


def deployer(cfg: PlatformConfig, spec: TenantSpec) -> list[Obj]:
    """The ServiceAccount Argo CD impersonates to sync the student's apps, and its Role.

    The Role allows exactly the kinds of :mod:`kuploy_gitops.tenant_kinds`, in the tenant's
    namespace only: a kind the AppProject's whitelist missed is still refused by RBAC.
    """
    name = layout.DEPLOYER_SA
    account: Obj = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
        # Nothing in the namespace needs its token: Argo CD impersonates it by name.
        "automountServiceAccountToken": False,
    }
    rules = tenant_kinds.deployer_rules(tenant_kinds.tenant_kinds(cfg))
    subject: Obj = {"kind": "ServiceAccount", "name": name, "namespace": spec.student}
    return [account, *_role_and_binding(spec, name, rules, subject)]


def _role_and_binding(spec: TenantSpec, name: str, rules: list[Obj], subject: Obj) -> list[Obj]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [subject],
        },
    ]


def source_repos(cfg: PlatformConfig, spec: TenantSpec) -> list[str]:
    """The repos the student's project may read: their app repos and the platform repo."""
    repos = {a.repo for a in spec.apps if a.mode == "repo"}
    repos.add(cfg.repo_url)
    return sorted(repos)


def app_project(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """The student's locked-down AppProject."""
    project = layout.project_name(spec.student)
    role = layout.student_role_name()
    subject = f"proj:{project}:{role}"
    policies = [
        f"p, {subject}, applications, get, {project}/*, allow",
        f"p, {subject}, applications, sync, {project}/*, allow",
        f"p, {subject}, logs, get, {project}/*, allow",
    ]
    role_obj: Obj = {
        "name": role,
        "description": f"{spec.student}: read, sync and read logs of their own apps",
        "policies": policies,
    }
    if spec.github:
        role_obj["groups"] = [spec.github]
    description = f"Tenant {spec.student}"
    if spec.course or spec.term:
        description += f" ({' '.join(x for x in (spec.course, spec.term) if x)})"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": _meta(
            project, spec, namespace=cfg.argocd_namespace, wave=layout.WAVE_PROJECT, prune_last=True
        ),
        "spec": {
            "description": description,
            "sourceRepos": source_repos(cfg, spec),
            "destinations": [
                {
                    "server": layout.IN_CLUSTER_SERVER,
                    "namespace": layout.namespace_name(spec.student),
                }
            ],
            # Allow, don't deny: any kind not in the table (guards, CNI and ingress CRDs,
            # Endpoints, CRDs installed later) is refused by Argo CD, and again by the RBAC
            # of the deployer it syncs as.
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": tenant_kinds.whitelist(tenant_kinds.tenant_kinds(cfg)),
            "destinationServiceAccounts": [
                {
                    "server": layout.IN_CLUSTER_SERVER,
                    "namespace": layout.namespace_name(spec.student),
                    "defaultServiceAccount": layout.DEPLOYER_SA,
                }
            ],
            "orphanedResources": {"warn": True},
            "roles": [role_obj],
        },
    }


def application(cfg: PlatformConfig, spec: TenantSpec, app: AppSpec) -> Obj:
    """The Application of one app, in the student's project, syncing into their namespace."""
    name = layout.application_name(spec.student, app.name)
    meta = _meta(name, spec, namespace=cfg.argocd_namespace, wave=layout.WAVE_APPS)
    meta["labels"][layout.LABEL_APP] = app.name
    meta["labels"][layout.LABEL_MODE] = app.mode
    # The finalizer makes deleting the Application delete what it deployed.
    meta["finalizers"] = [layout.RESOURCES_FINALIZER]
    if app.mode == "repo":
        source: Obj = {"repoURL": app.repo, "path": app.path, "targetRevision": app.revision}
    else:
        path = layout.workload_dir(spec.student, app.name)
        # Only a commit touching this app's folder refreshes it: one shared repo, many apps.
        meta["annotations"][layout.ANNOTATION_MANIFEST_PATHS] = "."
        source = {"repoURL": cfg.repo_url, "path": path, "targetRevision": cfg.target_revision}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": layout.project_name(spec.student),
            "source": source,
            "destination": {
                "server": layout.IN_CLUSTER_SERVER,
                "namespace": layout.namespace_name(spec.student),
            },
            "syncPolicy": app_sync_policy(spec, app),
        },
    }


def app_sync_policy(spec: TenantSpec, app: AppSpec) -> Obj:
    """The sync policy of a student's Application: automated, unless suspended (repo mode).

    A suspended tenant's repo-mode Applications lose ``automated``: the student's pushes no
    longer deploy. Its managed apps keep it, so that Argo CD applies their ``replicas: 0``
    (and, on resume, their replicas again); their manifests come from the platform repo only.
    """
    policy = sync_policy()
    if spec.suspended and app.mode == "repo":
        del policy["automated"]
    return policy


def sync_policy(*, prune_last: bool = True) -> Obj:
    """An Application's automated sync policy (prune, self-heal, retry)."""
    # Never allowEmpty: with prune on, an empty render would delete the student's whole app.
    # Only a student's Application prunes last as a whole (its workloads go after the rest of
    # a sync); the root and the tenants' Applications keep their sync waves' order, and the
    # Namespace and AppProject of a tenant carry PruneLast themselves, so a sync that prunes
    # them (a renamed tenant, say) does so after everything else.
    policy: Obj = {"automated": {"prune": True, "selfHeal": True, "allowEmpty": False}}
    if prune_last:
        policy["syncOptions"] = ["PruneLast=true"]
    policy["retry"] = {
        "limit": 5,
        "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"},
    }
    return policy
