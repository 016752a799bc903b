"""Quota and LimitRange admission (validate/quota.py) on small hand-made pods and tenants."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config
from kuploy_gitops.validate import context, quota
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import ScopedQuota, TenantContext

M = 1024.0**2
Gi = 1024.0**3


def ctx(**kw: Any) -> TenantContext:
    return TenantContext(
        student="kim",
        namespace="kim",
        enforce="restricted",
        warn="restricted",
        audit="restricted",
        **kw,
    )


def ctr(
    name: str, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": name, "image": "x:1", "resources": resources}


def deployment(pod: dict[str, Any], replicas: Any = 1, name: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "template": {"spec": pod}},
    }


# -- pod usage: max(sum of containers, largest init container) --------------------------------


def test_init_containers_count_by_their_largest_not_their_sum() -> None:
    pod = {
        "initContainers": [
            ctr("migrate", {"cpu": "150m", "memory": "64Mi"}),
            ctr("seed", {"cpu": "300m", "memory": "32Mi"}),
        ],
        "containers": [ctr("a", {"cpu": "100m", "memory": "100Mi"}), ctr("b", {"cpu": "100m"})],
    }
    usage = quota.pod_usage(ctx(), pod)
    # cpu: the largest init container (300m) is above the containers' sum (200m).
    assert usage["requests.cpu"] == pytest.approx(0.3)
    assert usage["cpu"] == pytest.approx(0.3)
    # memory: the containers' sum (100Mi) is above the largest init container (64Mi).
    assert usage["requests.memory"] == pytest.approx(100 * M)
    assert usage["memory"] == pytest.approx(100 * M)
    assert "limits.cpu" not in usage


def test_init_containers_do_not_make_a_false_quota_exceeded() -> None:
    """A pod whose init containers run one at a time fits a quota their sum would not."""
    tenant = ctx(quota={"requests.cpu": 0.3}, quota_text={"requests.cpu": "300m"})
    pod = {
        "initContainers": [ctr("i1", {"cpu": "200m"}), ctr("i2", {"cpu": "300m"})],
        "containers": [ctr("app", {"cpu": "250m"})],
    }
    assert quota.quota_overflows(tenant, [("k", deployment(pod))]) == []
    pod["containers"].append(ctr("second", {"cpu": "100m"}))  # 350m > 300m: really over
    ((key, issue),) = quota.quota_overflows(tenant, [("k", deployment(pod))])
    assert key == "k" and issue.rule == F.QUOTA_EXCEEDED
    assert issue.message == (
        "requests.cpu: the tenant's objects need 350m (counting up to Deployment 'web'), "
        "over the ResourceQuota's 300m"
    )


def test_pod_usage_sums_containers_and_counts_limits() -> None:
    pod = {
        "containers": [
            ctr("a", {"cpu": "100m"}, {"cpu": "200m", "memory": "1Gi"}),
            ctr("b", {"cpu": "50m"}, {"cpu": "300m", "ephemeral-storage": "1Gi"}),
        ],
        "ephemeralContainers": [ctr("debug", {"cpu": "5"})],
    }
    usage = quota.pod_usage(ctx(), pod)
    assert usage["requests.cpu"] == pytest.approx(0.15)
    assert usage["limits.cpu"] == pytest.approx(0.5)
    assert usage["limits.memory"] == pytest.approx(Gi)
    # a limit without a request sets the request (API defaulting)
    assert usage["requests.memory"] == pytest.approx(Gi)
    assert usage["requests.ephemeral-storage"] == pytest.approx(Gi)
    assert usage["ephemeral-storage"] == pytest.approx(Gi)


# -- effective resources -----------------------------------------------------------------------


def test_effective_resources_defaulting_order() -> None:
    tenant = ctx(
        default={"cpu": 0.5, "memory": 512 * M},
        default_request={"cpu": 0.05, "memory": 128 * M},
    )
    requests, limits = quota.effective_resources(
        tenant, ctr("a", {"memory": "64Mi", "cpu": "lots"}, {"cpu": "2"})
    )
    # explicit limit 2 → request 2 (API defaulting before the LimitRange's defaultRequest)
    assert requests == {"memory": 64 * M, "cpu": 2.0}
    assert limits == {"cpu": 2.0, "memory": 512 * M}
    requests, limits = quota.effective_resources(tenant, {"name": "bare"})
    assert requests == {"cpu": 0.05, "memory": 128 * M}
    assert limits == {"cpu": 0.5, "memory": 512 * M}


def test_effective_resources_ignores_unparseable_quantities() -> None:
    requests, limits = quota.effective_resources(ctx(), ctr("a", {"cpu": "x"}, {"memory": None}))  # type: ignore[dict-item]
    assert requests == {} and limits == {}


# -- check_resources ---------------------------------------------------------------------------


def test_requests_and_limits_the_quota_requires() -> None:
    tenant = ctx(quota={"requests.cpu": 1.0, "memory": Gi, "limits.memory": 2 * Gi})
    pod = {"containers": [ctr("app")], "ephemeralContainers": [ctr("dbg")]}
    issues = quota.check_resources(tenant, pod, ("spec",))
    assert [(i.rule, i.path) for i in issues] == [
        (F.QUOTA_REQUESTS, ("spec", "containers", 0, "resources")),
        (F.QUOTA_REQUESTS, ("spec", "containers", 0, "resources")),
        (F.QUOTA_LIMITS, ("spec", "containers", 0, "resources")),
    ]
    assert issues[0].message == (
        "container 'app' has no cpu request, the quota requires one and no LimitRange "
        "default supplies it"
    )
    assert "no memory request" in issues[1].message
    assert issues[2].message == (
        "container 'app' has no memory limit, the quota requires one and no LimitRange "
        "default supplies it"
    )
    ok = {"containers": [ctr("app", {"cpu": "1", "memory": "1Gi"}, {"memory": "1Gi"})]}
    assert quota.check_resources(tenant, ok, ("spec",)) == []


def test_limitrange_defaults_satisfy_the_quota() -> None:
    tenant = ctx(
        quota={"requests.cpu": 1.0, "limits.cpu": 2.0},
        default={"cpu": 0.5},
        default_request={"cpu": 0.1},
    )
    assert quota.check_resources(tenant, {"containers": [{"name": "a"}]}, ()) == []


def test_limitrange_max_one_issue_per_resource() -> None:
    tenant = ctx(max={"cpu": 1.0, "memory": Gi, "ephemeral-storage": 2 * Gi})
    pod = {
        "containers": [
            ctr("a", {"cpu": "2"}, {"cpu": "3"}),  # limit and request over: reported once
            ctr("b", {"memory": "2Gi"}, {"memory": "1Gi"}),  # only the request is over
            ctr("c", {"cpu": "1"}, {"cpu": "1", "ephemeral-storage": "3Gi"}),  # cpu at max: fine
        ]
    }
    issues = quota.check_resources(tenant, pod, ("spec",))
    assert [i.message for i in issues] == [
        "container 'a' cpu limit 3000m is above the LimitRange max 1000m",
        "container 'b' memory request 2048Mi is above the LimitRange max 1024Mi",
        "container 'c' ephemeral-storage limit 3072Mi is above the LimitRange max 2048Mi",
    ]
    assert {i.rule for i in issues} == {F.LIMITS_OVER_MAX}
    assert issues[0].path == ("spec", "containers", 0, "resources")


def test_unnamed_container_is_named_by_index() -> None:
    tenant = ctx(max={"cpu": 1.0})
    (issue,) = quota.check_resources(
        tenant, {"initContainers": [{"resources": {"limits": {"cpu": "2"}}}]}, ()
    )
    assert issue.message.startswith("container 0 cpu limit")
    assert issue.path == ("initContainers", 0, "resources")


# -- replicas and object usage -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "n"),
    [
        ({"kind": "Deployment", "spec": {"replicas": 3}}, 3),
        ({"kind": "Deployment", "spec": {}}, 1),
        ({"kind": "StatefulSet", "spec": {"replicas": 0}}, 0),
        ({"kind": "ReplicaSet", "spec": {"replicas": 2}}, 2),
        ({"kind": "ReplicationController", "spec": {"replicas": 4}}, 4),
        ({"kind": "Job", "spec": {"parallelism": 5, "replicas": 9}}, 5),
        ({"kind": "Job", "spec": {}}, 1),
        ({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"parallelism": 6}}}}, 6),
        ({"kind": "CronJob", "spec": {}}, 1),
        ({"kind": "DaemonSet", "spec": {"replicas": 7}}, 1),
        ({"kind": "Pod", "spec": {}}, 1),
        ({"kind": "Deployment", "spec": {"replicas": -1}}, 1),
        ({"kind": "Deployment", "spec": {"replicas": "3"}}, 1),
        ({"kind": "Deployment", "spec": "junk"}, 1),
    ],
)
def test_replicas(obj: dict[str, Any], n: int) -> None:
    assert quota.replicas(obj) == n


def test_object_usage_counts_and_services() -> None:
    tenant = ctx()
    assert quota.object_usage(tenant, {"apiVersion": "v1", "kind": "Service", "spec": {}}) == {
        "count/services": 1.0,
        "services": 1.0,
    }
    assert quota.object_usage(
        tenant, {"apiVersion": "v1", "kind": "Service", "spec": {"type": "NodePort"}}
    ) == {"count/services": 1.0, "services": 1.0, "services.nodeports": 1.0}
    assert quota.object_usage(
        tenant, {"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}}
    ) == {
        "count/services": 1.0,
        "services": 1.0,
        "services.nodeports": 1.0,
        "services.loadbalancers": 1.0,
    }
    assert quota.object_usage(tenant, {"apiVersion": "v1", "kind": "Secret"}) == {
        "count/secrets": 1.0,
        "secrets": 1.0,
    }
    assert quota.object_usage(tenant, {"apiVersion": "batch/v1", "kind": "CronJob"}) == {
        "count/cronjobs.batch": 1.0
    }
    # a kind of another group with a core name counts only under its own group
    assert quota.object_usage(tenant, {"apiVersion": "example.com/v1", "kind": "Service"}) == {
        "count/services.example.com": 1.0
    }
    assert quota.object_usage(tenant, {"apiVersion": "v1", "kind": "Widget"}) == {}


def test_object_usage_storage() -> None:
    tenant = ctx()
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "spec": {"resources": {"requests": {"storage": "2Gi"}}},
    }
    assert quota.object_usage(tenant, pvc) == {
        "count/persistentvolumeclaims": 1.0,
        "persistentvolumeclaims": 1.0,
        "requests.storage": 2 * Gi,
    }
    assert quota.object_usage(tenant, {**pvc, "spec": {}})["requests.storage"] == 0.0
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [ctr("db", {"cpu": "100m"})]}},
            "volumeClaimTemplates": [
                {"spec": {"resources": {"requests": {"storage": "1Gi"}}}},
                {"spec": {}},
            ],
        },
    }
    usage = quota.object_usage(tenant, sts)
    assert usage["requests.storage"] == 3 * Gi  # the claim without a size adds nothing
    assert usage["persistentvolumeclaims"] == 6.0
    assert usage["pods"] == 3.0
    assert usage["requests.cpu"] == pytest.approx(0.3)
    assert usage["count/statefulsets.apps"] == 1.0


def test_cronjob_pods_do_not_count_against_the_steady_state() -> None:
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "spec": {
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [ctr("c", {"cpu": "9"})]}}}
            }
        },
    }
    assert quota.object_usage(ctx(), cron) == {"count/cronjobs.batch": 1.0}


def test_replicas_multiply_pod_usage() -> None:
    dep = deployment({"containers": [ctr("a", {"cpu": "100m"}, {"memory": "1Gi"})]}, replicas=3)
    usage = quota.object_usage(ctx(), dep)
    assert usage["requests.cpu"] == pytest.approx(0.3)
    assert usage["limits.memory"] == pytest.approx(3 * Gi)
    assert usage["pods"] == 3.0
    assert usage["count/deployments.apps"] == 1.0


# -- the tenant's totals -----------------------------------------------------------------------


def test_quota_overflows_refuses_every_object_that_does_not_fit_what_is_left() -> None:
    """As the API server: objects in order, a refused one uses nothing, every later one is
    judged against what the admitted ones left (the differential test, docs/validation.md)."""
    tenant = ctx(quota={"pods": 2.0, "requests.cpu": 1.0}, quota_text={"pods": "2"})
    objs = [
        (1, deployment({"containers": [ctr("a", {"cpu": "500m"})]}, name="a")),
        (2, deployment({"containers": [ctr("b", {"cpu": "500m"})]}, name="b")),  # at the quota
        (3, deployment({"containers": [ctr("c", {"cpu": "1m"})]}, name="c")),  # over both
        (4, deployment({"containers": [ctr("d", {"cpu": "1"})]}, name="d")),  # over both too
    ]
    found = quota.quota_overflows(tenant, objs)
    assert [(k, i.rule, i.path, i.message.split(":")[0]) for k, i in found] == [
        (3, F.QUOTA_EXCEEDED, ("spec",), "pods"),
        (3, F.QUOTA_EXCEEDED, ("spec",), "requests.cpu"),
        (4, F.QUOTA_EXCEEDED, ("spec",), "pods"),
        (4, F.QUOTA_EXCEEDED, ("spec",), "requests.cpu"),
    ]
    by_res = {i.message.split(":")[0]: i.message for k, i in found if k == 3}
    assert by_res["pods"] == (
        "pods: the tenant's objects need 3 (counting up to Deployment 'c'), over the "
        "ResourceQuota's 2"
    )
    assert by_res["requests.cpu"] == (
        "requests.cpu: the tenant's objects need 1001m (counting up to Deployment 'c'), over "
        "the ResourceQuota's 1000m"
    )
    # c was refused and uses nothing: d needs what a and b use plus its own.
    assert found[3][1].message.startswith("requests.cpu: the tenant's objects need 2000m")


def test_a_refused_object_uses_nothing_of_the_quota() -> None:
    tenant = ctx(quota={"persistentvolumeclaims": 2.0, "requests.storage": 5 * Gi})

    def pvc(name: str, size: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name},
            "spec": {"resources": {"requests": {"storage": size}}},
        }

    found = quota.quota_overflows(
        tenant, [(1, pvc("data", "3Gi")), (2, pvc("logs", "3Gi")), (3, pvc("cache", "1Gi"))]
    )
    assert [(k, i.message.split(":")[0]) for k, i in found] == [(2, "requests.storage")]


def test_pods_that_fit_stay_and_use_the_quota() -> None:
    """Two of a's three replicas are made; b fits in what is left, c does not."""
    tenant = ctx(quota={"requests.cpu": 1.0}, quota_text={"requests.cpu": "1"})
    objs = [
        (1, deployment({"containers": [ctr("a", {"cpu": "400m"})]}, replicas=3, name="a")),
        (2, deployment({"containers": [ctr("b", {"cpu": "100m"})]}, name="b")),
        (3, deployment({"containers": [ctr("c", {"cpu": "200m"})]}, name="c")),
    ]
    found = quota.quota_overflows(tenant, objs)
    assert [(k, i.message) for k, i in found] == [
        (
            1,
            "requests.cpu: the tenant's objects need 1200m (counting up to Deployment 'a'; "
            "2 of its 3 pods fit), over the ResourceQuota's 1",
        ),
        (
            3,
            "requests.cpu: the tenant's objects need 1100m (counting up to Deployment 'c'), "
            "over the ResourceQuota's 1",
        ),
    ]


def test_pods_the_limitrange_refuses_use_no_quota() -> None:
    tenant = ctx(quota={"requests.cpu": 1.0}, max={"cpu": 1.0})
    big = ctr("big", {"cpu": "2"})
    objs = [
        (1, {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [big]}}),
        (2, deployment({"containers": [big]}, replicas=2, name="d")),
        (3, deployment({"containers": [ctr("w", {"cpu": "1"})]}, name="w")),
    ]
    assert quota.quota_overflows(tenant, objs) == []


def test_node_ports_refuse_a_service_without_a_quota_finding() -> None:
    tenant = ctx(quota={"services": 1.0, "services.nodeports": 0.0})
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    node = {**svc, "spec": {"type": "NodePort"}}
    # the NodePort Service is refused (quota.nodeport says so) and takes no services count
    assert quota.quota_overflows(tenant, [(1, node), (2, svc)]) == []


def test_quota_overflows_counts_the_namespace_builtin_configmap() -> None:
    tenant = ctx(quota={"configmaps": 2.0}, quota_text={"configmaps": "2"})
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert quota.quota_overflows(tenant, [(1, cm)]) == []  # 1 built in + 1
    ((key, issue),) = quota.quota_overflows(tenant, [(1, cm), (2, cm)])
    assert key == 2 and "configmaps: the tenant's objects need 3" in issue.message


def test_nodeports_and_loadbalancers_are_left_to_their_own_rules() -> None:
    tenant = ctx(quota={"services.nodeports": 0.0, "services.loadbalancers": 0.0})
    lb = {"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}}
    assert quota.quota_overflows(tenant, [(1, lb)]) == []


def test_storage_totals_show_in_mebibytes() -> None:
    tenant = ctx(quota={"requests.storage": Gi})
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"resources": {"requests": {"storage": "2Gi"}}},
    }
    ((_, issue),) = quota.quota_overflows(tenant, [(1, pvc)])
    assert issue.message == (
        "requests.storage: the tenant's objects need 2048Mi (counting up to "
        "PersistentVolumeClaim 'data'), over the ResourceQuota's 1024Mi"
    )


def test_init_containers_largest_whatever_their_order() -> None:
    pod = {
        "initContainers": [ctr("big", {"cpu": "300m"}), ctr("small", {"cpu": "150m"})],
        "containers": [ctr("app", {"cpu": "100m"})],
    }
    assert quota.pod_usage(ctx(), pod)["requests.cpu"] == pytest.approx(0.3)


def test_what_only_init_containers_request_counts_too() -> None:
    pod = {
        "initContainers": [ctr("i", {"cpu": "200m", "ephemeral-storage": "1Gi"})],
        "containers": [ctr("app", {"memory": "64Mi"})],
    }
    usage = quota.pod_usage(ctx(), pod)
    assert usage["requests.cpu"] == pytest.approx(0.2)
    assert usage["requests.ephemeral-storage"] == Gi
    assert usage["requests.memory"] == 64 * M


def test_no_request_is_not_over_a_small_max() -> None:
    tenant = ctx(max={"cpu": 0.5})
    assert quota.check_resources(tenant, {"containers": [ctr("a", {"memory": "1Gi"})]}, ()) == []


def test_services_of_other_groups_use_no_node_ports() -> None:
    svc = {"apiVersion": "example.com/v1", "kind": "Service", "spec": {"type": "NodePort"}}
    assert quota.object_usage(ctx(), svc) == {"count/services.example.com": 1.0}


def test_memory_totals_show_in_mebibytes_and_the_quota_as_written() -> None:
    tenant = ctx(quota={"requests.memory": Gi}, quota_text={"requests.memory": "1Gi"})
    dep = deployment({"containers": [ctr("a", {"memory": "768Mi"})]}, replicas=2)
    ((_, issue),) = quota.quota_overflows(tenant, [(1, dep)])
    assert issue.message == (
        "requests.memory: the tenant's objects need 1536Mi (counting up to Deployment 'web'; "
        "1 of its 2 pods fit), over the ResourceQuota's 1Gi"
    )


# -- found by the differential test against the API server (tests/cluster) --------------------


def test_sidecars_run_next_to_the_app_containers_and_add_up() -> None:
    """An init container with restartPolicy Always keeps running: the pod uses the sum."""
    sidecar = {**ctr("proxy", {"cpu": "300m"}, {"cpu": "300m"}), "restartPolicy": "Always"}
    pod = {"initContainers": [sidecar], "containers": [ctr("web", {"cpu": "300m"})]}
    usage = quota.pod_usage(ctx(), pod)
    assert usage["requests.cpu"] == pytest.approx(0.6)
    assert usage["limits.cpu"] == pytest.approx(0.3)
    tenant = ctx(quota={"requests.cpu": 1.0}, quota_text={"requests.cpu": "1"})
    ((_, issue),) = quota.quota_overflows(tenant, [("k", deployment(pod, replicas=2))])
    assert issue.message == (
        "requests.cpu: the tenant's objects need 1200m (counting up to Deployment 'web'; "
        "1 of its 2 pods fit), over the ResourceQuota's 1"
    )


def test_an_init_step_runs_next_to_the_sidecars_started_before_it() -> None:
    sidecar = {**ctr("proxy", {"cpu": "200m"}), "restartPolicy": "Always"}
    pod = {
        "initContainers": [ctr("early", {"cpu": "500m"}), sidecar, ctr("late", {"cpu": "500m"})],
        "containers": [ctr("web", {"cpu": "100m"})],
    }
    # app 100m + sidecar 200m = 300m; "late" runs with the sidecar: 700m; "early" alone: 500m
    assert quota.pod_usage(ctx(), pod)["requests.cpu"] == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("spec", "n"),
    [
        ({"parallelism": 5, "completions": 2}, 2),
        ({"parallelism": 2, "completions": 4}, 2),
        ({"parallelism": 3}, 3),
        ({"completions": 0}, 0),
        ({"parallelism": 4, "suspend": True}, 0),
        ({"parallelism": 4, "completions": "2"}, 4),
    ],
)
def test_a_job_runs_no_more_pods_than_completions_and_none_suspended(
    spec: dict[str, Any], n: int
) -> None:
    assert quota.replicas({"kind": "Job", "spec": spec}) == n
    cron = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": spec}}}
    assert quota.replicas(cron) == n


def test_a_request_above_the_limit_is_refused() -> None:
    tenant = ctx(default={"cpu": 0.5}, default_request={"cpu": 0.05})
    pod = {
        "containers": [
            ctr("own", {"cpu": "800m"}, {"cpu": "400m"}),
            ctr("defaulted", {"cpu": "800m"}),  # the LimitRange's default limit is 500m
            ctr("equal", {"cpu": "500m"}),
        ]
    }
    issues = quota.check_resources(tenant, pod, ("spec",))
    # Above its own limit is the schema check's (test_schema_apirules); here the default only.
    assert [(i.rule, i.path, i.message) for i in issues] == [
        (
            F.LIMITS_REQUEST_OVER_LIMIT,
            ("spec", "containers", 1, "resources"),
            "container 'defaulted' cpu request 800m is above the LimitRange default limit 500m",
        ),
    ]


def test_a_quota_on_ephemeral_storage_requires_no_value() -> None:
    """Only cpu and memory must be stated; a container without ephemeral-storage uses none."""
    tenant = ctx(
        quota={
            "requests.ephemeral-storage": 2 * Gi,
            "limits.ephemeral-storage": 4 * Gi,
            "requests.memory": Gi,
        }
    )
    pod = {"containers": [ctr("app", {"cpu": "100m"}, {"cpu": "100m"})]}
    assert [(i.rule, i.message) for i in quota.check_resources(tenant, pod, ())] == [
        (
            F.QUOTA_REQUESTS,
            "container 'app' has no memory request, the quota requires one and no LimitRange "
            "default supplies it",
        )
    ]
    assert "requests.ephemeral-storage" not in quota.pod_usage(tenant, pod)


# -- scoped quotas ---------------------------------------------------------------------------------


def system_quota(**hard: float) -> ScopedQuota:
    values = ("system-cluster-critical", "system-node-critical")
    return ScopedQuota(
        "kuploy-no-system-priority",
        hard or {"pods": 0.0},
        {k: f"{v:g}" for k, v in (hard or {"pods": 0.0}).items()},
        (("PriorityClass", "In", values),),
    )


def with_class(klass: str | None, **pod: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [ctr("app", {"cpu": "10m", "memory": "16Mi"})], **pod}
    if klass is not None:
        spec["priorityClassName"] = klass
    return spec


def test_a_system_priority_pod_is_over_the_scoped_quota() -> None:
    tenant = ctx(quota={"pods": 10.0}, quota_text={"pods": "10"}, scoped_quotas=[system_quota()])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sys"}}
    objs = [
        (1, {**pod, "spec": with_class("system-node-critical")}),
        (2, {**pod, "metadata": {"name": "plain"}, "spec": with_class(None)}),
        (3, deployment(with_class("system-cluster-critical"), replicas=2, name="crit")),
        (4, deployment(with_class("kuploy-tenant"), replicas=3, name="tenant")),
    ]
    found = quota.quota_overflows(tenant, objs)
    assert [(k, i.rule, i.message.split(":")[0]) for k, i in found] == [
        (1, F.QUOTA_EXCEEDED, "pods"),
        (3, F.QUOTA_EXCEEDED, "pods"),
    ]
    assert found[0][1].message == (
        "pods: the tenant's objects need 1 (counting up to Pod 'sys'), over 0 of ResourceQuota "
        "'kuploy-no-system-priority' (pods whose priorityClassName is one of "
        "system-cluster-critical, system-node-critical)"
    )
    assert "0 of its 2 pods fit" in found[1][1].message


def test_pods_a_scoped_quota_refuses_use_none_of_the_tenants_quota() -> None:
    tenant = ctx(quota={"pods": 2.0}, quota_text={"pods": "2"}, scoped_quotas=[system_quota()])
    objs = [
        (1, deployment(with_class("system-node-critical"), replicas=2, name="crit")),
        (2, deployment(with_class(None), replicas=2, name="plain")),
    ]
    assert [k for k, _ in quota.quota_overflows(tenant, objs)] == [1]


def test_a_scoped_quota_counts_only_matching_pods_against_its_own_caps() -> None:
    tenant = ctx(scoped_quotas=[system_quota(pods=1.0)])
    crit = with_class("system-node-critical")
    objs = [(i, deployment(crit, name=f"c{i}")) for i in (1, 2)]
    objs.insert(1, (9, deployment(with_class(None), replicas=5, name="plain")))
    assert [k for k, _ in quota.quota_overflows(tenant, objs)] == [2]


@pytest.mark.parametrize(
    ("requirement", "klass", "matches"),
    [
        (("PriorityClass", "In", ("a", "b")), "b", True),
        (("PriorityClass", "In", ("a", "b")), None, False),
        (("PriorityClass", "NotIn", ("a",)), "b", True),
        (("PriorityClass", "NotIn", ("a",)), None, True),
        (("PriorityClass", "NotIn", ("a",)), "a", False),
        (("PriorityClass", "Exists", ()), "a", True),
        (("PriorityClass", "Exists", ()), None, False),
        (("PriorityClass", "DoesNotExist", ()), None, True),
        (("PriorityClass", "DoesNotExist", ()), "a", False),
        (("PriorityClass", "Bogus", ()), "a", False),
        (("VolumeAttributesClass", "Exists", ()), "a", False),  # not a pod scope
    ],
)
def test_priority_class_scope_has_label_selector_semantics(
    requirement: tuple[str, str, tuple[str, ...]], klass: str | None, matches: bool
) -> None:
    scoped = ScopedQuota("q", {"pods": 0.0}, {"pods": "0"}, (requirement,))
    assert quota.scope_matches(ctx(), scoped, with_class(klass)) is matches


def test_other_pod_scopes() -> None:
    def scoped(name: str, op: str = "Exists") -> ScopedQuota:
        return ScopedQuota("q", {"pods": 0.0}, {"pods": "0"}, ((name, op, ()),))

    bare = {"containers": [ctr("app")]}
    sized = with_class(None)
    deadline = {**sized, "activeDeadlineSeconds": 60}
    affinity = {
        **sized,
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "podAffinityTerm": {"namespaceSelector": {}, "topologyKey": "x"}}
                ]
            }
        },
    }
    tenant = ctx()
    assert quota.scope_matches(tenant, scoped("BestEffort"), bare)
    assert not quota.scope_matches(tenant, scoped("BestEffort"), sized)
    assert quota.scope_matches(tenant, scoped("NotBestEffort"), sized)
    # The LimitRange's defaults make a bare pod Burstable before the quota sees it.
    defaulted = ctx(default_request={"cpu": 0.05})
    assert not quota.scope_matches(defaulted, scoped("BestEffort"), bare)
    assert quota.scope_matches(tenant, scoped("Terminating"), deadline)
    assert not quota.scope_matches(tenant, scoped("Terminating"), sized)
    assert quota.scope_matches(tenant, scoped("NotTerminating"), sized)
    assert quota.scope_matches(tenant, scoped("Terminating", "DoesNotExist"), sized)
    assert quota.scope_matches(tenant, scoped("CrossNamespacePodAffinity"), affinity)
    assert not quota.scope_matches(tenant, scoped("CrossNamespacePodAffinity"), sized)
    both = ScopedQuota(
        "q",
        {"pods": 0.0},
        {"pods": "0"},
        (("NotBestEffort", "Exists", ()), ("Terminating", "Exists", ())),
    )
    assert quota.scope_matches(tenant, both, deadline)
    assert not quota.scope_matches(tenant, both, sized)


def test_a_matching_scoped_quota_requires_the_values_it_caps() -> None:
    capped = ScopedQuota(
        "q", {"requests.cpu": 1.0}, {"requests.cpu": "1"}, (("PriorityClass", "Exists", ()),)
    )
    tenant = ctx(scoped_quotas=[capped])
    bare = {"containers": [ctr("app")]}
    assert quota.check_resources(tenant, bare, ()) == []  # not counted by the quota
    (issue,) = quota.check_resources(tenant, {**bare, "priorityClassName": "x"}, ())
    assert issue.rule == F.QUOTA_REQUESTS and "no cpu request" in issue.message


def test_quota_caps_and_requests_are_read_with_the_same_grammar() -> None:
    """``1e0``, ``.6`` and JSON numbers are quantities to the API server, caps and requests alike
    (the caps were once read with a narrower parser, and such a cap was no cap at all)."""
    guards = [
        {
            "kind": "ResourceQuota",
            "metadata": {"name": "q"},
            "spec": {"hard": {"requests.cpu": "1e0", "requests.memory": 1073741824}},
        }
    ]
    tenant = context.build(config.parse_config(config.default_config_data()), "kim", None, guards)
    assert tenant.quota == {"requests.cpu": 1.0, "requests.memory": 1.0 * Gi}
    pod = {"containers": [ctr("a", {"cpu": ".6", "memory": "0.25Gi"})]}
    ((key, issue),) = quota.quota_overflows(tenant, [("k", deployment(pod, replicas=2))])
    assert key == "k" and issue.message.startswith("requests.cpu: the tenant's objects need 1200m")
    # A negative request is invalid (the schema check says so): it frees nothing of the quota.
    pod["containers"].append(ctr("b", {"cpu": "-1", "memory": "-1Gi"}))
    assert quota.pod_usage(tenant, pod)["requests.cpu"] == pytest.approx(0.6)
