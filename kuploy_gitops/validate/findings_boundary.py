"""Rules of the tenant boundary: what the AppProject whitelist and our admission policies refuse.

Each mirrors one check the cluster makes (kuploy_gitops/tenant_kinds.py, admission.py and the
API server's admission plugins), so a student's CI run predicts the sync. Registered in the
catalogue of :mod:`.findings`, which re-exports these names.
"""

from __future__ import annotations

from kuploy_gitops.validate.finding_types import ERROR
from kuploy_gitops.validate.finding_types import rule as _rule

ISO_KIND = _rule(
    "isolation.kind-not-allowed",
    ERROR,
    "A kind the tenant's AppProject does not whitelist (Endpoints, EndpointSlice, ingress "
    "controller or CNI CRDs such as IngressRoute or a Calico NetworkPolicy, ...).",
    "Argo CD refuses kinds outside the whitelist, and the ServiceAccount it syncs as may not "
    "create them either: they act beyond the tenant (routing, network policy, endpoints).",
    "Use the kinds a student app may hold (docs/admin-guide.md, AppProject: Deployment, "
    "Service, Ingress, ConfigMap, Secret, ...); ask the admin for anything else.",
)
SERVICE_TYPE = _rule(
    "service.type",
    ERROR,
    "A Service of type NodePort, LoadBalancer or ExternalName.",
    "The tenant Services admission policy allows only ClusterIP: apps are published through "
    "their Ingress.",
    "Remove spec.type (ClusterIP) and expose the app with an Ingress.",
)
SERVICE_EXTERNAL_IPS = _rule(
    "service.external-ips",
    ERROR,
    "A Service sets spec.externalIPs.",
    "It would capture traffic to those addresses cluster-wide (CVE-2020-8554); the API server "
    "refuses it (DenyServiceExternalIPs and the tenant Services policy).",
    "Remove spec.externalIPs.",
)
SERVICE_NO_SELECTOR = _rule(
    "service.no-selector",
    ERROR,
    "A Service without a selector.",
    "A selector-less Service can be pointed at any address through hand-made endpoints "
    "(CVE-2021-25740); the tenant Services policy refuses it.",
    "Give the Service a selector matching the pod labels of your workload.",
)
POD_NODE_NAME = _rule(
    "pod.node-name",
    ERROR,
    "A pod sets spec.nodeName.",
    "It bypasses the scheduler and the node pools (a student pod on the control plane); the "
    "tenant pods policy refuses it.",
    "Remove nodeName; the scheduler places pods on the tenant's node pool.",
)
POD_PRIORITY_CLASS = _rule(
    "pod.priority-class",
    ERROR,
    "A pod names a priority class other than the tenant class.",
    "System priority classes would evict other students' and the platform's pods; the tenant "
    "pods policy and the tenant quota refuse them.",
    "Remove priorityClassName (or use the tenant class kuploy-tenant).",
)
POD_TOLERATION = _rule(
    "pod.toleration",
    ERROR,
    "A pod tolerates a taint other than the lab pool's.",
    "Tolerations would put it on the control plane or reserved nodes; the tenant pods policy "
    "refuses them.",
    "Remove the tolerations: the namespace already grants the lab pool's.",
)
POD_NODE_SELECTOR = _rule(
    "pod.node-selector",
    ERROR,
    "A pod selects a node pool other than the tenant's.",
    "The namespace's node selector (PodNodeSelector admission plugin) conflicts with it and the "
    "API server refuses the pod.",
    "Remove the kuploy.io/pool node selector; the namespace sets it.",
)
POD_DEPLOYER_ACCOUNT = _rule(
    "pod.deployer-account",
    ERROR,
    "A pod runs as the tenant's deployer ServiceAccount (kuploy-deployer).",
    "That account is what Argo CD syncs the tenant's apps as; the tenant pods policy refuses it.",
    "Use the default ServiceAccount or one of your own.",
)
