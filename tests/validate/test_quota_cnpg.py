"""A CloudNativePG Cluster counted by the quota (validate/quota_cnpg.py): instances x resources,
and one volume (two with walStorage) per instance; its pods under the LimitRange."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config, db_manifests
from kuploy_gitops.db_spec import DatabaseSpec
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import policies, quota
from kuploy_gitops.validate.context import TenantContext

M = 1024.0**2
Gi = 1024.0**3


def ctx(**kw: Any) -> TenantContext:
    return TenantContext(
        student="kim", namespace="kim", enforce="restricted", warn="restricted", audit="restricted",
        **kw,
    )  # fmt: skip


def cluster(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "pg"},
        "spec": {"instances": 3, "storage": {"size": "2Gi"}, **spec},
    }


RESOURCES = {
    "requests": {"cpu": "200m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}


def test_instances_times_resources_and_volumes() -> None:
    usage = quota.object_usage(ctx(), cluster(resources=RESOURCES))
    assert usage == pytest.approx(
        {
            "pods": 3.0,
            "persistentvolumeclaims": 3.0,
            "requests.storage": 6 * Gi,
            "requests.cpu": 0.6,
            "cpu": 0.6,
            "requests.memory": 768 * M,
            "memory": 768 * M,
            "limits.cpu": 3.0,
            "limits.memory": 3 * Gi,
            # What the operator makes besides: 3 Services, 4 Secrets, its monitoring ConfigMap.
            "services": 3.0,
            "count/services": 3.0,
            "secrets": 4.0,
            "count/secrets": 4.0,
            "configmaps": 1.0,
            "count/configmaps": 1.0,
        }
    )


def test_wal_storage_is_a_second_claim_per_instance_and_pvc_templates_count() -> None:
    obj = cluster(
        instances=2,
        storage={"pvcTemplate": {"resources": {"requests": {"storage": "1Gi"}}}},
        walStorage={"size": "512Mi"},
    )
    usage = quota.object_usage(ctx(), obj)
    assert usage["persistentvolumeclaims"] == 4.0
    assert usage["requests.storage"] == 2 * (Gi + 512 * M)


def test_without_resources_the_limitrange_defaults_apply() -> None:
    tenant = ctx(default={"cpu": 0.5, "memory": 512 * M}, default_request={"cpu": 0.05})
    usage = quota.object_usage(tenant, cluster(instances=1))
    assert (usage["requests.cpu"], usage["limits.cpu"], usage["limits.memory"]) == (
        0.05,
        0.5,
        512 * M,
    )


def test_a_cluster_over_the_tier_is_refused_with_what_it_needs() -> None:
    tenant = ctx(
        quota={"requests.cpu": 1.0, "persistentvolumeclaims": 2.0, "requests.storage": 5 * Gi},
        quota_text={"persistentvolumeclaims": "2", "requests.storage": "5Gi"},
    )
    found = quota.quota_overflows(tenant, [(1, cluster(resources=RESOURCES))])
    assert {i.message.split(":")[0] for _, i in found} == {
        "persistentvolumeclaims",
        "requests.storage",
    }
    assert all(i.rule == F.QUOTA_EXCEEDED for _, i in found)
    # Two of three instances fit: one is over, as the API server would refuse the third pod.
    assert "2 of its 3 pods fit" in found[0][1].message
    ok = cluster(instances=1, resources=RESOURCES)
    assert quota.quota_overflows(tenant, [(1, ok)]) == []


def test_instance_resources_over_the_limitrange_max_point_at_spec_resources() -> None:
    tenant = ctx(max={"cpu": 0.5}, quota={"requests.memory": Gi, "limits.memory": Gi})
    issues = policies._check_cluster(tenant, cluster(resources={"limits": {"cpu": "1"}}))
    assert [(i.rule, i.path) for i in issues] == [
        (F.LIMITS_OVER_MAX, ("spec", "resources")),  # cpu
        (F.QUOTA_REQUESTS, ("spec", "resources")),  # memory: the quota caps it, nothing sets it
        (F.QUOTA_LIMITS, ("spec", "resources")),
    ]
    assert issues[0].message == (
        "CloudNativePG instances: container 'postgres' cpu limit 1000m is above the LimitRange "
        "max 500m; set spec.resources of the Cluster"
    )
    within = {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    }
    assert policies._check_cluster(tenant, cluster(resources=within)) == []


def test_the_rendered_cluster_fits_the_default_tier_with_its_backup() -> None:
    cfg = config.parse_config(config.default_config_data())
    spec = TenantSpec(student="kim", tier="small", databases=(DatabaseSpec(name="db"),))
    tier = cfg.tiers["small"]
    tenant = ctx(
        quota={k: quota.kube_quantity(v) or 0.0 for k, v in tier.quota.items()},
        quota_text=dict(tier.quota),
    )
    objs = db_manifests.database_objects(cfg, spec, spec.databases[0])
    assert [o["kind"] for o in objs] == ["Cluster", "PersistentVolumeClaim", "CronJob"]
    assert quota.quota_overflows(tenant, list(enumerate(objs))) == []
    assert policies._check_cluster(tenant, objs[0]) == []
    used = quota.object_usage(tenant, objs[0])
    assert (used["pods"], used["requests.storage"]) == (1.0, Gi)
