"""Argo CD hooks in the quota (validate/hooks.py, quota.quota_overflows): groups, not sums.

Hooks of one phase and wave run together, next to the steady state; hooks of different groups
never run at the same time; Skip hooks are never applied; a Job that stays after it completes
keeps counting as an object (``count/jobs.batch``) but not its finished pods.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from test_quota import ctx

from kuploy_gitops.quantity import kube_quantities
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import hooks, quota
from kuploy_gitops.validate.context import TenantContext


def tenant(values: dict[str, str]) -> TenantContext:
    """A tenant whose quota is ``values`` (as written: '1', '500m', '2Gi')."""
    return ctx(quota=kube_quantities(values), quota_text=values)


JOB = """
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  annotations: {annotations}
spec:
  parallelism: {parallelism}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: ghcr.io/kim/tool:1.0
        resources:
          requests: {{cpu: {cpu}, memory: 64Mi}}
          limits: {{cpu: {cpu}, memory: 64Mi}}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: ghcr.io/kim/web:1.0
        resources:
          requests: {{cpu: 200m, memory: 64Mi}}
          limits: {{cpu: 200m, memory: 64Mi}}
"""


def job(name: str, cpu: str = "400m", parallelism: int = 1, **annotations: str) -> dict[str, Any]:
    notes = {k.replace("__", "/").replace("_", "-"): v for k, v in annotations.items()}
    text = JOB.format(
        name=name, annotations=yaml.safe_dump(notes, default_flow_style=True).strip(), cpu=cpu,
        parallelism=parallelism,
    )  # fmt: skip
    obj = yaml.safe_load(text)
    assert isinstance(obj, dict)
    return obj


def post_sync(name: str, wave: str, cpu: str = "400m", **more: str) -> dict[str, Any]:
    return job(
        name,
        cpu,
        **{"argocd.argoproj.io__hook": "PostSync", "argocd.argoproj.io__sync_wave": wave},
        **more,
    )


def web(replicas: int) -> dict[str, Any]:
    obj = yaml.safe_load(DEPLOYMENT.format(replicas=replicas))
    assert isinstance(obj, dict)
    return obj


def overflows(ctx: TenantContext, *objs: dict[str, Any]) -> list[tuple[str, str]]:
    """(object name, message) of every quota.exceeded finding."""
    out = quota.quota_overflows(ctx, ((o["metadata"]["name"], o) for o in objs))
    assert all(issue.rule == F.QUOTA_EXCEEDED for _, issue in out)
    return [(key, issue.message) for key, issue in out]


def test_the_annotations_as_argo_cd_reads_them() -> None:
    assert hooks.hook_of(web(1)) is None
    assert hooks.hook_of(post_sync("a", "2")) == hooks.Hook(("PostSync",), 2, False)
    both = job("b", **{"argocd.argoproj.io__hook": "PreSync,PostSync"})
    assert hooks.hook_of(both) == hooks.Hook(("PreSync", "PostSync"), 0, False)
    # Skip alone is never applied; a Helm hook Argo CD does not run (test) neither.
    assert hooks.hook_of(job("c", **{"argocd.argoproj.io__hook": "Skip"})) == hooks.Hook(
        (), 0, False
    )
    assert hooks.hook_of(job("d", **{"helm.sh__hook": "test"})) == hooks.Hook((), 0, False)
    # Helm hooks: pre-* run as PreSync, post-* as PostSync, the weight is the wave.
    helm = job(
        "e",
        **{
            "helm.sh__hook": "pre-install,pre-upgrade",
            "helm.sh__hook_weight": "-5",
            "helm.sh__hook_delete_policy": "hook-succeeded",
        },
    )
    assert hooks.hook_of(helm) == hooks.Hook(("PreSync",), -5, True)
    # Argo CD's own annotation wins over Helm's; crd-install is no hook at all.
    argo = job("f", **{"argocd.argoproj.io__hook": "Sync", "helm.sh__hook": "post-install"})
    assert hooks.hook_of(argo) == hooks.Hook(("Sync",), 0, False)
    assert hooks.hook_of(job("g", **{"helm.sh__hook": "crd-install"})) is None


def test_two_post_sync_jobs_in_different_waves_each_fitting_fit_together() -> None:
    ctx = tenant({"requests.cpu": "1"})
    # 200m of steady state + 800m of one hook at a time: never more than 1 cpu.
    assert (
        overflows(ctx, web(1), post_sync("migrate", "1", "800m"), post_sync("smoke", "2", "800m"))
        == []
    )


def test_two_jobs_in_the_same_wave_that_together_exceed_are_refused() -> None:
    ctx = tenant({"requests.cpu": "1"})
    got = overflows(ctx, web(1), post_sync("migrate", "1", "500m"), post_sync("smoke", "1", "500m"))
    assert got == [
        (
            "smoke",
            "requests.cpu: the tenant's objects need 1200m (counting up to Job 'smoke', while "
            "the PostSync hooks of wave 1 run), over the ResourceQuota's 1",
        )
    ]


def test_hooks_on_top_of_the_steady_state_over_the_limit_are_refused() -> None:
    ctx = tenant({"requests.cpu": "1"})
    # 4 replicas use 800m: the 400m hook does not fit next to them.
    ((key, message),) = overflows(ctx, web(4), post_sync("migrate", "0"))
    assert key == "migrate" and "need 1200m" in message and "PostSync hooks of wave 0" in message
    # The steady state alone fits: no finding names the Deployment.
    assert overflows(ctx, web(4)) == []


def test_a_hook_job_runs_its_parallelism_at_once() -> None:
    ctx = tenant({"requests.cpu": "1"})
    wide = job("load", "300m", parallelism=3, **{"argocd.argoproj.io__hook": "PostSync"})
    ((key, message),) = overflows(ctx, web(1), wide)
    assert key == "load" and "2 of its 3 pods fit" in message


def test_a_skip_hook_is_never_applied() -> None:
    ctx = tenant({"requests.cpu": "1", "count/jobs.batch": "0"})
    skipped = job("never", "900m", **{"argocd.argoproj.io__hook": "Skip"})
    assert overflows(ctx, web(1), skipped) == []


def test_helm_hooks_run_in_the_phase_argo_cd_maps_them_to() -> None:
    ctx = tenant({"requests.cpu": "1"})
    pre = job("pre", "800m", **{"helm.sh__hook": "pre-install"})
    post = job("post", "800m", **{"helm.sh__hook": "post-upgrade"})
    assert overflows(ctx, web(1), pre, post) == []
    twin = job("pre-two", "800m", **{"helm.sh__hook": "pre-upgrade"})
    assert [key for key, _ in overflows(ctx, web(1), pre, twin)] == ["pre-two"]


@pytest.mark.parametrize(
    ("policy", "refused"),
    [
        # Both Jobs stay after they complete: two Jobs exist when the second is created.
        ({}, ["smoke"]),
        ({"argocd.argoproj.io__hook_delete_policy": "BeforeHookCreation"}, ["smoke"]),
        # Deleted as soon as they succeed: never more than one Job at a time.
        ({"argocd.argoproj.io__hook_delete_policy": "HookSucceeded"}, []),
        ({"helm.sh__hook_delete_policy": "hook-succeeded"}, []),
    ],
)
def test_object_counts_keep_the_hook_jobs_that_stay(
    policy: dict[str, str], refused: list[str]
) -> None:
    ctx = tenant({"count/jobs.batch": "1"})
    objs = [post_sync("migrate", "1", **policy), post_sync("smoke", "2", **policy)]
    got = overflows(ctx, *objs)
    assert [key for key, _ in got] == refused
    for _, message in got:
        assert message.startswith("count/jobs.batch: the tenant's objects need 2")


def test_finished_hook_pods_use_no_pods_quota() -> None:
    ctx = tenant({"pods": "2"})
    # One web pod + one hook pod at a time: the hooks' pods finish before the next group.
    objs = [web(1), post_sync("migrate", "1"), post_sync("smoke", "2"), post_sync("last", "3")]
    assert overflows(ctx, *objs) == []
