"""A CloudNativePG ``Cluster`` as the quota sees it: the pods and volumes the operator makes.

A Cluster has no pod template, but the operator makes ``spec.instances`` pods from it, each
with one container whose resources are ``spec.resources`` (its init container has the same),
and one volume per instance of ``spec.storage.size`` (and ``spec.walStorage.size`` when set).
The quota admits or refuses those pods and claims exactly as its own, so ``validate`` counts a
Cluster as the equivalent pod template times its instances, like a StatefulSet, plus the
Services, Secrets and ConfigMap the operator makes for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kuploy_gitops.db_spec import CNPG_GROUP, OPERATOR_OBJECTS
from kuploy_gitops.quantity import kube_quantity
from kuploy_gitops.validate.objects import as_map, group_of

INSTANCE_CONTAINER = "postgres"


def is_cluster(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a CloudNativePG Cluster."""
    return obj.get("kind") == "Cluster" and group_of(obj) == CNPG_GROUP


def instance_pod(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The pod spec the operator makes for each instance, as far as the quota reads it."""
    spec = as_map(obj.get("spec"))
    container: dict[str, Any] = {"name": INSTANCE_CONTAINER}
    if "resources" in spec:
        container["resources"] = spec["resources"]
    pod: dict[str, Any] = {"containers": [container]}
    if isinstance(spec.get("priorityClassName"), str):
        pod["priorityClassName"] = spec["priorityClassName"]
    return pod


def instances(obj: Mapping[str, Any]) -> int:
    """``spec.instances`` (the CRD's default is 1)."""
    value = as_map(obj.get("spec")).get("instances", 1)
    return value if isinstance(value, int) and value >= 0 else 1


def instance_volumes(obj: Mapping[str, Any]) -> tuple[int, float]:
    """(claims, storage bytes) of one instance: its data volume and its WAL volume if any."""
    spec = as_map(obj.get("spec"))
    claims, size = 0, 0.0
    for key in ("storage", "walStorage"):
        section = spec.get(key)
        if not isinstance(section, Mapping):
            continue
        claims += 1
        template = as_map(section.get("pvcTemplate"))
        requested = as_map(as_map(template.get("resources")).get("requests")).get("storage")
        value = kube_quantity(section.get("size", requested))
        size += value if value is not None and value >= 0 else 0.0
    return claims, size


def operator_objects() -> dict[str, float]:
    """What the operator makes in the namespace for a Cluster besides its pods and claims."""
    return {**OPERATOR_OBJECTS, **{f"count/{k}": v for k, v in OPERATOR_OBJECTS.items()}}
