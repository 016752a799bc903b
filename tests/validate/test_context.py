"""What validate knows of a tenant (validate/context.py): guards first, then config and spec."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config, layout, manifests, repourl
from kuploy_gitops import tenant_kinds as kinds
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec
from kuploy_gitops.validate import context
from kuploy_gitops.validate.context import TenantContext

CFG = config.parse_config(config.default_config_data())
SPEC = TenantSpec(student="kim", tier="small")
Gi = 1024.0**3


def quota_obj(hard: dict[str, str], name: str = "q") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": name},
        "spec": {"hard": hard},
    }


def test_several_quotas_the_smallest_wins_whatever_the_order() -> None:
    small = quota_obj({"requests.cpu": "500m", "pods": "20"}, "a")
    big = quota_obj({"requests.cpu": "2", "pods": "4", "limits.cpu": "3"}, "b")
    for guards in ([small, big], [big, small]):
        ctx = context.build(CFG, "kim", SPEC, guards)
        assert ctx.quota == {"requests.cpu": 0.5, "pods": 4.0, "limits.cpu": 3.0}
        # the text a message quotes is that of the quota that binds
        assert ctx.quota_text == {"requests.cpu": "500m", "pods": "4", "limits.cpu": "3"}


def test_quota_exceeded_quotes_the_quota_that_binds() -> None:
    from kuploy_gitops.validate import quota

    guards = [quota_obj({"pods": "1"}, "a"), quota_obj({"pods": "5"}, "b")]
    ctx = context.build(CFG, "kim", SPEC, guards)
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    ((_, issue),) = quota.quota_overflows(ctx, [(1, pod), (2, pod)])
    assert issue.message.endswith("over the ResourceQuota's 1")


def test_a_committed_quota_replaces_the_tier_and_skips_bad_values() -> None:
    hard = {"requests.cpu": "lots", "pods": "3", "services": "2"}  # a bad value first
    ctx = context.build(CFG, "kim", SPEC, [quota_obj(hard)])
    assert ctx.quota == {"pods": 3.0, "services": 2.0}
    assert ctx.quota_text == {"pods": "3", "services": "2"}


def test_without_guards_the_tier_applies() -> None:
    ctx = context.build(CFG, "kim", SPEC, [])
    tier = CFG.tiers["small"]
    assert ctx.quota_text == dict(tier.quota)
    assert ctx.quota["requests.cpu"] == 1.0
    assert ctx.quota["limits.memory"] == 2 * Gi
    assert ctx.max == {"cpu": 1.0, "memory": Gi, "ephemeral-storage": 2 * Gi}
    assert ctx.default["cpu"] == 0.5
    assert ctx.default_request["cpu"] == 0.05
    assert (ctx.enforce, ctx.warn, ctx.audit) == (CFG.pss_enforce, CFG.pss_warn, CFG.pss_audit)
    assert ctx.student == "kim" and ctx.namespace == "kim"
    assert ctx.host_re == context.host_pattern(CFG, "kim")
    assert ctx.host_re.match(f"web-kim.{CFG.base_domain}")  # {app}-{student}.{domain}
    assert not ctx.host_re.match(f"web.kim.{CFG.base_domain}")
    assert not ctx.host_re.match(f"web-lee-kim.{CFG.base_domain}")  # student lee-kim's app web
    # no AppProject committed: the one kuploy would render
    assert not ctx.has_project
    assert ctx.source_repos == [CFG.repo_url]
    assert ctx.destinations == [(layout.IN_CLUSTER_SERVER, "kim")]
    tenant_kinds = [(k.group, k.kind) for k in kinds.tenant_kinds(CFG)]
    assert ctx.whitelist == tenant_kinds and ctx.blacklist == []


def test_without_spec_nothing_falls_back_to_a_tier() -> None:
    ctx = context.build(CFG, "kim", None, [])
    assert ctx.quota == {} and ctx.max == {} and ctx.default == {}
    assert ctx.source_repos == [CFG.repo_url]


def test_fallback_project_allows_the_students_repo_apps() -> None:
    spec = TenantSpec(
        student="kim",
        tier="small",
        apps=(
            AppSpec(name="api", mode="repo", repo="https://github.com/o/kim-api.git"),
            AppSpec(name="web", mode="managed", image="x:1", port=80, repo="https://nope"),
        ),
    )
    ctx = context.build(CFG, "kim", spec, [])
    assert ctx.source_repos == [CFG.repo_url, "https://github.com/o/kim-api.git"]


def test_the_rendered_guards_give_the_tier_values() -> None:
    guards = [
        manifests.namespace(CFG, SPEC),
        manifests.resource_quota(CFG, SPEC),
        manifests.limit_range(CFG, SPEC),
        manifests.app_project(CFG, SPEC),
    ]
    from_guards = context.build(CFG, "kim", SPEC, guards)
    from_tier = context.build(CFG, "kim", SPEC, [])
    assert from_guards.quota == from_tier.quota
    assert from_guards.max == from_tier.max
    assert from_guards.default == from_tier.default
    assert from_guards.default_request == from_tier.default_request
    assert (from_guards.enforce, from_guards.warn, from_guards.audit) == (
        CFG.pss_enforce,
        CFG.pss_warn,
        CFG.pss_audit,
    )
    assert from_guards.has_project
    assert from_guards.whitelist == from_tier.whitelist
    assert from_guards.blacklist == []
    assert from_guards.destinations == [(layout.IN_CLUSTER_SERVER, "kim")]
    assert from_guards.source_repos == [CFG.repo_url]
    assert from_guards.cluster_whitelist == []


def test_namespace_labels_set_the_pss_levels() -> None:
    ns = {
        "kind": "Namespace",
        "metadata": {
            "name": "kim",
            "labels": {
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        },
    }
    ctx = context.build(CFG, "kim", SPEC, [ns])
    assert (ctx.enforce, ctx.warn, ctx.audit) == ("baseline", "restricted", "restricted")
    # a namespace without labels is privileged (the cluster default)
    bare = context.build(CFG, "kim", SPEC, [{"kind": "Namespace", "metadata": {"name": "kim"}}])
    assert (bare.enforce, bare.warn, bare.audit) == ("privileged",) * 3
    # another namespace changes nothing
    other = context.build(CFG, "kim", SPEC, [{**ns, "metadata": {**ns["metadata"], "name": "lee"}}])
    assert other.enforce == CFG.pss_enforce


def test_limitrange_container_items_only_and_default_sets_default_request() -> None:
    lr = {
        "kind": "LimitRange",
        "spec": {
            "limits": [
                {"type": "Pod", "max": {"cpu": "100m"}},
                {
                    "type": "Container",
                    "default": {"cpu": "1", "memory": "1Gi"},
                    "max": {"cpu": "2"},
                },
                {"type": "Container", "defaultRequest": {"cpu": "200m"}},
                "junk",
            ]
        },
    }
    ctx = context.build(CFG, "kim", SPEC, [lr])
    assert ctx.max == {"cpu": 2.0}
    assert ctx.default == {"cpu": 1.0, "memory": Gi}
    # an explicit defaultRequest stays; a default without one becomes the request
    assert ctx.default_request == {"cpu": 0.2, "memory": Gi}
    assert ctx.quota == context.build(CFG, "kim", SPEC, []).quota  # quota still from the tier


def test_appproject_of_the_student_only() -> None:
    project = {
        "kind": "AppProject",
        "metadata": {"name": "kim"},
        "spec": {
            "sourceRepos": ["https://github.com/o/*"],
            "destinations": [
                {"server": "https://kubernetes.default.svc", "namespace": "kim"},
                {"name": "in-cluster", "namespace": "kim"},
                {"namespace": "x"},
                {"server": "https://other"},
                "junk",
            ],
            "namespaceResourceBlacklist": [
                {"group": "", "kind": "ResourceQuota"},
                {"kind": "X"},
                {"group": "g"},
                1,
            ],
            "clusterResourceWhitelist": [
                {"group": "*", "kind": "*"},
                {"kind": "K"},
                {"group": "g"},
            ],
        },
    }
    ctx = context.build(CFG, "kim", SPEC, [project])
    assert ctx.has_project
    assert ctx.source_repos == ["https://github.com/o/*"]
    assert ctx.destinations == [
        ("https://kubernetes.default.svc", "kim"),
        ("in-cluster", "kim"),
        ("", "x"),
        ("https://other", ""),
    ]
    assert ctx.blacklist == [("", "ResourceQuota"), ("", "X"), ("g", "")]
    assert ctx.whitelist is None  # none at all: Argo CD then allows every kind
    assert ctx.cluster_whitelist == [("*", "*"), ("", "K"), ("g", "")]
    other = context.build(CFG, "kim", SPEC, [{**project, "metadata": {"name": "lee"}}])
    assert not other.has_project and other.source_repos == [CFG.repo_url]


def test_broken_metadata_and_spec_are_ignored() -> None:
    ctx = context.build(
        CFG, "kim", SPEC, [{"kind": "ResourceQuota", "metadata": "x", "spec": ["y"]}]
    )
    assert ctx.quota == {}


def tc(**kw: Any) -> TenantContext:
    return TenantContext(student="kim", namespace="kim", enforce="", warn="", audit="", **kw)


def test_repo_allowed() -> None:
    ctx = tc(source_repos=["https://github.com/O/Kim-*.git", "https://gitlab.com/x/y/"])
    assert ctx.repo_allowed("https://github.com/o/kim-web")
    assert ctx.repo_allowed("https://github.com/o/kim-web.git/")
    assert ctx.repo_allowed("  HTTPS://GITLAB.COM/x/y.git ")
    assert not ctx.repo_allowed("https://github.com/o/lee-web")
    assert not ctx.repo_allowed("https://gitlab.com/x/y/z")
    assert tc(source_repos=["*"]).repo_allowed("anything")
    assert not tc().repo_allowed("https://github.com/o/kim-web")


def test_permitted_follows_argo_cds_rule() -> None:
    """AppProject.IsGroupKindPermitted: whitelisted (absent: all, empty: none), not blacklisted."""
    ctx = tc(whitelist=[("", "Service"), ("apps", "*")], blacklist=[("apps", "DaemonSet")])
    assert ctx.permitted("", "Service")
    assert ctx.permitted("apps", "Deployment")
    assert not ctx.permitted("apps", "DaemonSet")
    assert not ctx.permitted("", "Endpoints")
    assert not ctx.permitted("discovery.k8s.io", "EndpointSlice")
    assert not tc(whitelist=[]).permitted("", "Service")
    assert tc().permitted("traefik.io", "IngressRoute")
    bl = tc(blacklist=[("", "ResourceQuota"), ("rbac.authorization.k8s.io", "*")])
    assert not bl.permitted("", "ResourceQuota")
    assert not bl.permitted("rbac.authorization.k8s.io", "RoleBinding")
    assert bl.permitted("", "Role") and bl.permitted("apps", "ResourceQuota")
    assert not tc(blacklist=[("*", "*")]).permitted("x", "Y")


@pytest.mark.parametrize(
    ("url", "norm"),
    [
        ("https://github.com/O/R.git", "https://github.com/o/r"),
        ("https://github.com/o/r/", "https://github.com/o/r"),
        (" https://github.com/o/r.git/ ", "https://github.com/o/r"),
        ("https://github.com/o/r.gitx", "https://github.com/o/r.gitx"),
        ("git@github.com:O/R.git", "ssh://git@github.com/o/r"),
        ("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r"),
        ("github.com:o/r", "ssh://github.com/o/r"),
    ],
)
def test_normalise_repo(url: str, norm: str) -> None:
    assert repourl.normalise(url) == norm


def test_host_pattern_with_text_before_the_app() -> None:
    data = config.default_config_data()
    data["ingress"]["host_pattern"] = "lab-{student}-{app}.{domain}"
    cfg = config.parse_config(data)
    pattern = context.host_pattern(cfg, "kim")
    # The app's part adjoins a "-": no "-" in it, so kim's host is never kim-lee's.
    assert pattern == context.HostPattern("lab-kim-", f".{cfg.base_domain}", "^[a-z0-9]+$")
    assert pattern.match(f"lab-kim-web.{cfg.base_domain}")
    assert not pattern.match(f"lab-kim-.{cfg.base_domain}")
    assert not pattern.match(f"lab-kim.{cfg.base_domain}")  # prefix and suffix overlap


def test_host_pattern_of_the_default() -> None:
    rx = context.host_pattern(CFG, "kim")  # {app}-{student}.{domain}
    assert rx.match(f"web-kim.{CFG.base_domain}")
    assert rx.match(f"web2-kim.{CFG.base_domain}")
    assert not rx.match(f"a-1-kim.{CFG.base_domain}")  # would be student 1-kim's app a
    assert not rx.match(f"-kim.{CFG.base_domain}")
    assert not rx.match(f"web-kim.{CFG.base_domain}.evil")
    assert not rx.match(f"web-lee.{CFG.base_domain}")


def test_host_pattern() -> None:
    data = config.default_config_data()
    data["ingress"]["host_pattern"] = "{app}.{student}.{domain}"
    data["tls"]["issuer"] = "none"  # *.domain cannot cover these: the admin brings certificates
    rx = context.host_pattern(config.parse_config(data), "kim")
    assert rx.match(f"web.kim.{CFG.base_domain}")
    assert rx.match(f"a-1.kim.{CFG.base_domain}")
    assert not rx.match(f"web.lee.{CFG.base_domain}")
    assert not rx.match(f"a.b.kim.{CFG.base_domain}")
    assert not rx.match(f"-web.kim.{CFG.base_domain}")
    assert not rx.match(f"webxkimx{CFG.base_domain}")  # dots are literal
    assert not rx.match(f"web.kim.{CFG.base_domain}.evil")
    assert not rx.match(f".kim.{CFG.base_domain}")  # an empty app label
    assert not rx.match(f"kim.{CFG.base_domain}")


def test_a_limitrange_max_without_a_default_is_the_default_limit_and_request() -> None:
    """As the API server stores a LimitRange (found by the differential test, tests/cluster)."""
    limits = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "l"},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"memory": "256Mi"},
                    "max": {"cpu": "1", "memory": "1Gi"},
                }
            ]
        },
    }
    ctx = context.build(CFG, "kim", SPEC, [limits])
    assert ctx.default == {"cpu": 1.0, "memory": 256 * 1024.0**2}
    assert ctx.default_request == ctx.default
    assert ctx.max == {"cpu": 1.0, "memory": Gi}


# -- scoped quotas -------------------------------------------------------------------------------


def test_a_scoped_quota_is_kept_apart_from_the_tenants_caps() -> None:
    scoped = quota_obj({"pods": "0", "requests.cpu": "100m"}, "no-system")
    scoped["spec"]["scopeSelector"] = {
        "matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["system-node-critical"]}
        ]
    }
    terminating = quota_obj({"pods": "1"}, "short-lived")
    terminating["spec"]["scopes"] = ["Terminating"]
    main = quota_obj({"pods": "10", "requests.cpu": "1"}, "kuploy-quota")
    ctx = context.build(CFG, "kim", SPEC, [scoped, terminating, main])
    # Only the unscoped quota caps every pod.
    assert ctx.quota == {"pods": 10.0, "requests.cpu": 1.0}
    assert ctx.scoped_quotas == [
        context.ScopedQuota(
            "no-system",
            {"pods": 0.0, "requests.cpu": 0.1},
            {"pods": "0", "requests.cpu": "100m"},
            (("PriorityClass", "In", ("system-node-critical",)),),
        ),
        context.ScopedQuota(
            "short-lived", {"pods": 1.0}, {"pods": "1"}, (("Terminating", "Exists", ()),)
        ),
    ]


def test_committed_guards_give_the_system_priority_quota_that_the_fallback_assumes() -> None:
    from kuploy_gitops import podsecurity

    guards = [manifests.resource_quota(CFG, SPEC), podsecurity.system_priority_quota(CFG, SPEC)]
    from_guards = context.build(CFG, "kim", SPEC, guards)
    # No guards (a student's CI reads only the public rules): the same quotas.
    from_rules = context.build(CFG, "kim", SPEC, [])
    assert from_guards.scoped_quotas == from_rules.scoped_quotas
    (system,) = from_rules.scoped_quotas
    assert system.name == "kuploy-no-system-priority" and system.hard == {"pods": 0.0}
    # Committed guards without it: the cluster has none, so neither has validate.
    assert context.build(CFG, "kim", SPEC, guards[:1]).scoped_quotas == []
