"""The tenant guards and AppProject builders of manifests.py, object by object.

These objects are the tenant's walls (Pod Security labels, quota, limits, network policies,
RBAC, the AppProject), so each is pinned field by field: a changed verb, label or CIDR fails here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kuploy_gitops import config, manifests, netpol
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

CFG = config.parse_config(config.default_config_data())
BARE = TenantSpec(student="kim", tier="small")
FULL = TenantSpec(
    student="kim",
    tier="large",
    github="Kim-GH",
    name="Kim Minji",
    email="kim@konkuk.ac.kr",
    course="cs101",
    term="2026-fall",
    expires="2027-02-28",
    apps=(
        AppSpec(name="web", mode="managed", image="x:1", port=80),
        AppSpec(name="api", mode="repo", repo="https://github.com/konkuk-kuploy/kim-api.git"),
        AppSpec(name="api2", mode="repo", repo="https://github.com/konkuk-kuploy/kim-api.git"),
    ),
)
OWNED = {
    "app.kubernetes.io/managed-by": "kuploy-gitops",
    "app.kubernetes.io/part-of": "kuploy",
    "kuploy.io/owner": "kim",
}
GUARD_META = {
    "namespace": "kim",
    "labels": OWNED,
    "annotations": {"argocd.argoproj.io/sync-wave": "-20"},
}


def psa(version: str) -> dict[str, str]:
    out = {}
    for mode, level in (
        ("enforce", CFG.pss_enforce),
        ("warn", CFG.pss_warn),
        ("audit", CFG.pss_audit),
    ):
        out[f"pod-security.kubernetes.io/{mode}"] = level
        out[f"pod-security.kubernetes.io/{mode}-version"] = version
    return out


def test_namespace_bare() -> None:
    assert manifests.namespace(CFG, BARE) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "kim",
            "labels": {**OWNED, "kuploy.io/tier": "small", **psa(CFG.pss_version)},
            "annotations": {
                "argocd.argoproj.io/sync-wave": "-30",
                "argocd.argoproj.io/sync-options": "PruneLast=true",
                # PodNodeSelector and PodTolerationRestriction put every pod on the lab pool.
                "scheduler.alpha.kubernetes.io/node-selector": "kuploy.io/pool=lab",
                "scheduler.alpha.kubernetes.io/defaultTolerations": (
                    '[{"key":"kuploy.io/pool","operator":"Equal","value":"lab","effect":"NoSchedule"}]'
                ),
            },
        },
    }


def test_namespace_without_a_tenant_pool_leaves_placement_alone() -> None:
    annotations = manifests.namespace(replace(CFG, tenant_pool=""), BARE)["metadata"]["annotations"]
    assert not any(k.startswith("scheduler.alpha.kubernetes.io/") for k in annotations)


def test_namespace_full() -> None:
    ns = manifests.namespace(CFG, FULL)
    assert ns["metadata"]["labels"] == {
        **OWNED,
        "kuploy.io/tier": "large",
        "kuploy.io/course": "cs101",
        "kuploy.io/term": "2026-fall",
        "kuploy.io/expires": "2027-02-28",
        **psa(CFG.pss_version),
    }
    assert ns["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-wave": "-30",
        "argocd.argoproj.io/sync-options": "PruneLast=true",
        "scheduler.alpha.kubernetes.io/node-selector": "kuploy.io/pool=lab",
        "scheduler.alpha.kubernetes.io/defaultTolerations": (
            '[{"key":"kuploy.io/pool","operator":"Equal","value":"lab","effect":"NoSchedule"}]'
        ),
        "kuploy.io/owner-name": "Kim Minji",
        "kuploy.io/owner-email": "kim@konkuk.ac.kr",
        "kuploy.io/owner-github": "Kim-GH",
    }


def test_namespace_pss_levels_follow_the_config() -> None:
    cfg = replace(
        CFG,
        pss_enforce="restricted",
        pss_warn="baseline",
        pss_audit="privileged",
        pss_version="v1.30",
    )
    labels = manifests.namespace(cfg, BARE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == "privileged"
    assert {
        labels[f"pod-security.kubernetes.io/{m}-version"] for m in ("enforce", "warn", "audit")
    } == {"v1.30"}


def test_resource_quota_is_the_tiers() -> None:
    quota = manifests.resource_quota(CFG, FULL)
    assert quota == {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "kuploy-quota", **GUARD_META},
        "spec": {"hard": dict(sorted(CFG.tiers["large"].quota.items()))},
    }
    assert list(quota["spec"]["hard"]) == sorted(CFG.tiers["large"].quota)
    assert quota["spec"]["hard"]["services.nodeports"] == "0"


def test_limit_range_is_the_tiers() -> None:
    tier = CFG.tiers["small"]
    assert manifests.limit_range(CFG, BARE) == {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "kuploy-limits", **GUARD_META},
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
    assert tier.max["cpu"] == "1" and tier.default_request["cpu"] == "50m"


def test_network_policies() -> None:
    policies = manifests.network_policies(CFG, FULL)

    def np(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, **GUARD_META},
            "spec": spec,
        }

    def ns_selector(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    assert policies == [
        np("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        np(
            "allow-same-namespace",
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
        np(
            "allow-from-ingress-controller",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                # the managed app's port, and the named port of the student-repo apps
                "ingress": [
                    {
                        "from": [ns_selector("traefik")],
                        "ports": [
                            {"protocol": "TCP", "port": 80},
                            {"protocol": "TCP", "port": "http"},
                        ],
                    }
                ],
            },
        ),
        np(
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                **ns_selector("kube-system"),
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        np(
            "allow-internet-egress",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "ipBlock": {
                                    "cidr": "0.0.0.0/0",
                                    "except": [
                                        "10.0.0.0/8",
                                        "10.96.0.0/12",
                                        "10.244.0.0/16",
                                        "100.64.0.0/10",
                                        "169.254.0.0/16",
                                        "172.16.0.0/12",
                                        "192.168.0.0/16",
                                    ],
                                }
                            }
                        ]
                    }
                ],
            },
        ),
    ]
    assert (CFG.pod_cidr, CFG.service_cidr) == ("10.244.0.0/16", "10.96.0.0/12")


def test_a_tenant_without_apps_admits_nothing_from_the_ingress_controller() -> None:
    names = [p["metadata"]["name"] for p in manifests.network_policies(CFG, BARE)]
    assert names == ["default-deny", "allow-same-namespace", "allow-dns", "allow-internet-egress"]


def test_network_policies_follow_the_config() -> None:
    cfg = replace(
        CFG,
        pod_cidr="172.30.0.0/16",
        service_cidr="10.0.0.0/8",
        ingress_namespace="ing",
        dns_namespace="dns",
        node_cidrs=("192.0.2.0/24",),
        denied_egress=("198.51.100.0/24",),
    )
    policies = {p["metadata"]["name"]: p["spec"] for p in manifests.network_policies(cfg, FULL)}
    blocked = policies["allow-internet-egress"]["egress"][0]["to"][0]["ipBlock"]["except"]
    assert sorted(blocked) == sorted(
        {*netpol.BLOCKED_EGRESS, "172.30.0.0/16", "192.0.2.0/24", "198.51.100.0/24"}
    )
    assert len(blocked) == len(set(blocked))  # 10.0.0.0/8 once
    ingress_from = policies["allow-from-ingress-controller"]["ingress"][0]["from"][0]
    assert ingress_from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "ing"
    dns_to = policies["allow-dns"]["egress"][0]["to"][0]
    assert dns_to["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "dns"


READ = ["get", "list", "watch"]


def test_rbac_role_and_binding() -> None:
    role, binding = manifests.rbac(CFG, BARE)
    meta = {"name": "kuploy-student", **GUARD_META}
    assert role == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta,
        "rules": [
            {
                "apiGroups": [""],
                "resources": [
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
                "verbs": READ,
            },
            {
                "apiGroups": ["apps"],
                "resources": [
                    "controllerrevisions",
                    "daemonsets",
                    "deployments",
                    "replicasets",
                    "statefulsets",
                ],
                "verbs": READ,
            },
            {
                "apiGroups": ["autoscaling"],
                "resources": ["horizontalpodautoscalers"],
                "verbs": READ,
            },
            {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses", "networkpolicies"],
                "verbs": READ,
            },
            {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": READ},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": READ},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
            {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["get", "create"]},
        ],
    }
    assert binding == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta,
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "kuploy-student",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "kim"}],
    }


def test_rbac_never_grants_secrets_or_writes() -> None:
    role, _ = manifests.rbac(CFG, FULL)
    for rule in role["rules"]:
        assert "secrets" not in rule["resources"]
        assert set(rule["verbs"]) <= {"get", "list", "watch", "delete", "create"}
    # every rule has its own verbs list: changing one cannot change another
    assert len({id(rule["verbs"]) for rule in role["rules"]}) == len(role["rules"])


def test_rbac_subject_is_the_github_login_when_known() -> None:
    _, binding = manifests.rbac(CFG, FULL)
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "Kim-GH"}
    ]


def test_source_repos() -> None:
    assert manifests.source_repos(CFG, BARE) == [CFG.repo_url]
    assert manifests.source_repos(CFG, FULL) == [
        "https://github.com/konkuk-kuploy/kim-api.git",
        "https://github.com/konkuk-kuploy/platform-gitops.git",
    ]


def test_app_project_bare() -> None:
    assert manifests.app_project(CFG, BARE) == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {
            "name": "kim",
            "namespace": "argocd",
            "labels": OWNED,
            "annotations": {
                "argocd.argoproj.io/sync-wave": "-10",
                "argocd.argoproj.io/sync-options": "PruneLast=true",
            },
        },
        "spec": {
            "description": "Tenant kim",
            "sourceRepos": [CFG.repo_url],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "kim"}],
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": [
                {"group": "", "kind": "ConfigMap"},
                {"group": "", "kind": "PersistentVolumeClaim"},
                {"group": "", "kind": "Pod"},
                {"group": "", "kind": "Secret"},
                {"group": "", "kind": "Service"},
                {"group": "", "kind": "ServiceAccount"},
                {"group": "apps", "kind": "Deployment"},
                {"group": "apps", "kind": "StatefulSet"},
                {"group": "autoscaling", "kind": "HorizontalPodAutoscaler"},
                {"group": "batch", "kind": "CronJob"},
                {"group": "batch", "kind": "Job"},
                # The default platform installs Sealed Secrets: students may seal their own.
                {"group": "bitnami.com", "kind": "SealedSecret"},
                {"group": "networking.k8s.io", "kind": "Ingress"},
                {"group": "policy", "kind": "PodDisruptionBudget"},
                # The default platform installs CloudNativePG: students may run a Cluster.
                {"group": "postgresql.cnpg.io", "kind": "Cluster"},
            ],
            "destinationServiceAccounts": [
                {
                    "server": "https://kubernetes.default.svc",
                    "namespace": "kim",
                    "defaultServiceAccount": "kuploy-deployer",
                }
            ],
            "orphanedResources": {"warn": True},
            "roles": [
                {
                    "name": "student",
                    "description": "kim: read, sync and read logs of their own apps",
                    "policies": [
                        "p, proj:kim:student, applications, get, kim/*, allow",
                        "p, proj:kim:student, applications, sync, kim/*, allow",
                        "p, proj:kim:student, logs, get, kim/*, allow",
                    ],
                }
            ],
        },
    }


def test_app_project_whitelist_follows_the_addons() -> None:
    no_cnpg = replace(CFG, addons=tuple(a for a in CFG.addons if a.chart != "cloudnative-pg"))
    kinds = {
        x["kind"]
        for x in manifests.app_project(no_cnpg, BARE)["spec"]["namespaceResourceWhitelist"]
    }
    assert "Cluster" not in kinds and "Deployment" in kinds
    assert not kinds & {"ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding"}


def test_deployer_may_apply_exactly_the_whitelisted_kinds() -> None:
    account, role, binding = manifests.deployer(CFG, BARE)
    assert account["kind"] == "ServiceAccount"
    assert account["metadata"]["name"] == "kuploy-deployer"
    assert account["metadata"]["namespace"] == "kim"
    assert account["automountServiceAccountToken"] is False
    granted = {
        (g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert ("apps", "deployments") in granted and ("postgresql.cnpg.io", "clusters") in granted
    assert len(granted) == len(
        manifests.app_project(CFG, BARE)["spec"]["namespaceResourceWhitelist"]
    )
    assert not {r for _, r in granted} & {"roles", "rolebindings", "resourcequotas", "endpoints"}
    assert all("*" not in rule["verbs"] + rule["resources"] for rule in role["rules"])
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "kuploy-deployer",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kuploy-deployer", "namespace": "kim"}
    ]


def test_app_project_full() -> None:
    spec = manifests.app_project(CFG, FULL)["spec"]
    assert spec["description"] == "Tenant kim (cs101 2026-fall)"
    assert spec["roles"][0]["groups"] == ["Kim-GH"]
    assert spec["sourceRepos"] == manifests.source_repos(CFG, FULL)
    assert manifests.app_project(CFG, replace(BARE, course="cs101"))["spec"]["description"] == (
        "Tenant kim (cs101)"
    )
    assert manifests.app_project(CFG, replace(BARE, term="2026-fall"))["spec"]["description"] == (
        "Tenant kim (2026-fall)"
    )


def test_app_project_lives_in_the_argocd_namespace() -> None:
    cfg = replace(CFG, argocd_namespace="gitops")
    assert manifests.app_project(cfg, BARE)["metadata"]["namespace"] == "gitops"
