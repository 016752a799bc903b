"""The Pod Security and priority objects of podsecurity.py, and where render puts them."""

from __future__ import annotations

from dataclasses import replace

from kuploy_gitops import app_manifests, config, layout, podsecurity, render, yamlio
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

CFG = config.parse_config(config.default_config_data())
WEB = AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/web:1", port=8080)
KIM = TenantSpec(student="kim", tier="small", apps=(WEB,))


def test_tenant_priority_class_is_low_and_never_preempts() -> None:
    pc = podsecurity.tenant_priority_class()
    assert pc["apiVersion"] == "scheduling.k8s.io/v1" and pc["kind"] == "PriorityClass"
    assert pc["metadata"]["name"] == layout.TENANT_PRIORITY_CLASS == "kuploy-tenant"
    # Below the 0 of pods without a class (the platform's): students' pods go first.
    assert pc["value"] < 0
    assert pc["globalDefault"] is False
    assert pc["preemptionPolicy"] == "Never"
    assert layout.LABEL_OWNER not in pc["metadata"]["labels"]


def test_system_priority_quota_allows_no_pod_of_a_system_class() -> None:
    quota = podsecurity.system_priority_quota(CFG, KIM)
    assert quota["kind"] == "ResourceQuota"
    assert quota["metadata"]["name"] == "kuploy-no-system-priority"
    assert quota["metadata"]["namespace"] == "kim"
    assert quota["metadata"]["labels"][layout.LABEL_OWNER] == "kim"
    # The guards' wave: before the student's Applications make pods.
    assert quota["metadata"]["annotations"][layout.ANNOTATION_SYNC_WAVE] == layout.WAVE_GUARDS
    assert quota["spec"] == {
        "hard": {"pods": "0"},
        "scopeSelector": {
            "matchExpressions": [
                {
                    "scopeName": "PriorityClass",
                    "operator": "In",
                    "values": ["system-cluster-critical", "system-node-critical"],
                }
            ]
        },
    }


def test_the_quota_does_not_follow_the_tier() -> None:
    large = podsecurity.system_priority_quota(CFG, replace(KIM, tier="large"))
    assert large["spec"] == podsecurity.system_priority_quota(CFG, KIM)["spec"]


def test_rendered_workload_passes_restricted_as_the_configured_id() -> None:
    cfg = replace(CFG, pss_run_as_user=4242)
    objects = app_manifests.app_objects(cfg, KIM, WEB)
    pod = objects["deployment.yaml"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 4242,
        "runAsGroup": 4242,
        "fsGroup": 4242,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["priorityClassName"] == "kuploy-tenant"
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]] == {"name": "tmp", "emptyDir": {}}


def test_render_puts_the_quota_with_the_guards_and_the_class_in_the_platform() -> None:
    tenant = render.render_tenant(CFG, KIM)
    (quota,) = yamlio.load_all(tenant[layout.tenant_file("kim", "priorityquota.yaml")])
    assert quota == podsecurity.system_priority_quota(CFG, KIM)
    platform = render.render_platform(CFG)
    (pc,) = yamlio.load_all(platform[layout.platform_file("priority-class")])
    assert pc == podsecurity.tenant_priority_class()
    # Synced before the ApplicationSet that makes the tenants' Applications.
    wave = int(pc["metadata"]["annotations"][layout.ANNOTATION_SYNC_WAVE])
    assert wave < int(layout.WAVE_TENANTS_APPSET)
