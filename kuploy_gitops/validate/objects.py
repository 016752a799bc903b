"""Reading manifests safely: the few accessors every check uses on untrusted objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Path_ = tuple[str | int, ...]
"""A key path inside an object (``("spec", "template", 0)``): where a finding points."""

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "PriorityClass",
        "RuntimeClass",
        "IngressClass",
        "APIService",
        "CertificateSigningRequest",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "PodSecurityPolicy",
        "ComponentStatus",
        "IPAddress",
        "ServiceCIDR",
        "DeviceClass",
        "ResourceSlice",
        "VolumeAttributesClass",
        "ClusterTrustBundle",
        "StorageVersionMigration",
        "ClusterIssuer",
        "ClusterImageCatalog",
    }
)


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (manifests are untrusted input)."""
    return value if isinstance(value, Mapping) else {}


def group_of(obj: Mapping[str, Any]) -> str:
    """The API group of an object (``""`` for the core group)."""
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``metadata`` as a mapping (empty when missing)."""
    return as_map(obj.get("metadata"))
