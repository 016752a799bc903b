"""Pod Security and scheduling priority of tenant pods, as plain data.

- :func:`pod_security_context` and :func:`container_security_context`: what every workload we
  render or scaffold runs with, so that it passes Pod Security ``restricted`` whatever USER its
  image sets (the platform's non-root id, ``pod_security.run_as_user``), with a read-only root
  file system and a writable ``emptyDir`` at ``/tmp`` (:func:`tmp_volume`).
- :func:`tenant_priority_class`: the low PriorityClass tenant pods run with (a platform object).
- :func:`system_priority_quota`: a second ResourceQuota per tenant that allows no pod of the
  system priority classes (the admission policy refuses them too; the quota is the check Kubernetes
  documents for it, and it holds even where the policies are not installed).
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops import layout, manifests
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.tenant_spec import TenantSpec

Obj = dict[str, Any]

# The built-in classes whose pods the scheduler places first and preempts others for.
SYSTEM_PRIORITY_CLASSES = ("system-cluster-critical", "system-node-critical")
SYSTEM_PRIORITY_QUOTA = "kuploy-no-system-priority"
# Below the default priority (0) that pods without a class get: when nodes are full, the
# scheduler evicts students' pods before any platform pod (Argo CD, Traefik, add-ons).
TENANT_PRIORITY = -10
TMP_VOLUME = "tmp"
TMP_PATH = "/tmp"


def pod_security_context(cfg: PlatformConfig) -> Obj:
    """The pod-level securityContext: the platform's non-root ids and RuntimeDefault seccomp.

    ``runAsUser`` is set, not only ``runAsNonRoot``: the kubelet then never needs the image's
    USER (an image that names its user, or sets none, runs as the platform's id), and files
    the pod writes belong to that id (``fsGroup`` makes mounted volumes writable for it).
    """
    uid = cfg.pss_run_as_user
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> Obj:
    """The container-level securityContext: no escalation, no capabilities, read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }


def tmp_volume() -> tuple[Obj, Obj]:
    """(volume, volumeMount): an ``emptyDir`` at ``/tmp``, the one writable path of the app.

    It lives as long as the pod and counts against the container's ephemeral-storage limit.
    """
    return {"name": TMP_VOLUME, "emptyDir": {}}, {"name": TMP_VOLUME, "mountPath": TMP_PATH}


def tenant_priority_class() -> Obj:
    """The PriorityClass of tenant pods: low, and never preempting anyone's pods.

    Rendered into the platform folder before the tenants' ApplicationSet, so it exists before
    any tenant pod names it (the Priority admission refuses a pod naming a missing class).
    """
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {
            "name": layout.TENANT_PRIORITY_CLASS,
            "labels": {layout.LABEL_MANAGED_BY: layout.MANAGED_BY, layout.LABEL_PART_OF: "kuploy"},
            "annotations": {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_ADMISSION},
        },
        "value": TENANT_PRIORITY,
        "globalDefault": False,
        # A student's pod waits for room instead of evicting another student's pods.
        "preemptionPolicy": "Never",
        "description": "kuploy tenant pods: below the platform's, never preempting",
    }


def system_priority_quota(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """A ResourceQuota of the tenant that allows no pod of a system priority class.

    A scoped quota counts only the pods its scope matches (here: ``priorityClassName`` one of
    :data:`SYSTEM_PRIORITY_CLASSES`), so ``pods: 0`` refuses exactly those. Same labels and sync
    wave as the tenant's main quota (:func:`manifests.resource_quota`).
    """
    quota = manifests.resource_quota(cfg, spec)
    quota["metadata"]["name"] = SYSTEM_PRIORITY_QUOTA
    quota["spec"] = system_priority_quota_spec()
    return quota


def system_priority_quota_spec() -> Obj:
    """The ``spec`` of :func:`system_priority_quota`.

    ``validate`` assumes it where no quota is committed (a student's CI).
    """
    return {
        "hard": {"pods": "0"},
        "scopeSelector": {
            "matchExpressions": [
                {
                    "scopeName": "PriorityClass",
                    "operator": "In",
                    "values": list(SYSTEM_PRIORITY_CLASSES),
                }
            ]
        },
    }
