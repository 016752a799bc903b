"""What validate knows of a tenant (validate/context.py): guards first, then config and spec."""

from __future__ import annotations

from typing import Any

from kuploy_gitops import config
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate import context

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
