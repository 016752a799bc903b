"""The catalogue of every rule `validate` can report (id, severity, what, why, fix).

Rule ids are stable: CI configurations, docs/validation.md and the broken-manifest corpus
name them. Add new ids; never rename one.
The result types (Rule, Finding, Issue) live in ``finding_types.py`` and are re-exported here, as
are the rules of the tenant boundary's admission policies (``findings_boundary.py``), of Pod
Security (``findings_pss.py``) and of rendering Helm charts and jsonnet (``findings_render.py``).
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops.validate.finding_types import CATALOGUE, rule
from kuploy_gitops.validate.finding_types import ERROR as ERROR
from kuploy_gitops.validate.finding_types import PLATFORM as PLATFORM
from kuploy_gitops.validate.finding_types import WARNING as WARNING
from kuploy_gitops.validate.finding_types import Finding as Finding
from kuploy_gitops.validate.finding_types import Issue as Issue
from kuploy_gitops.validate.finding_types import Rule as Rule
from kuploy_gitops.validate.findings_boundary import ISO_KIND as ISO_KIND
from kuploy_gitops.validate.findings_boundary import POD_DEPLOYER_ACCOUNT as POD_DEPLOYER_ACCOUNT
from kuploy_gitops.validate.findings_boundary import POD_NODE_NAME as POD_NODE_NAME
from kuploy_gitops.validate.findings_boundary import POD_NODE_SELECTOR as POD_NODE_SELECTOR
from kuploy_gitops.validate.findings_boundary import POD_PRIORITY_CLASS as POD_PRIORITY_CLASS
from kuploy_gitops.validate.findings_boundary import POD_TOLERATION as POD_TOLERATION
from kuploy_gitops.validate.findings_boundary import SERVICE_EXTERNAL_IPS as SERVICE_EXTERNAL_IPS
from kuploy_gitops.validate.findings_boundary import SERVICE_NO_SELECTOR as SERVICE_NO_SELECTOR
from kuploy_gitops.validate.findings_boundary import SERVICE_TYPE as SERVICE_TYPE
from kuploy_gitops.validate.findings_pss import PSS_APPARMOR as PSS_APPARMOR
from kuploy_gitops.validate.findings_pss import (
    PSS_CAPABILITIES_BASELINE as PSS_CAPABILITIES_BASELINE,
)
from kuploy_gitops.validate.findings_pss import (
    PSS_CAPABILITIES_RESTRICTED as PSS_CAPABILITIES_RESTRICTED,
)
from kuploy_gitops.validate.findings_pss import PSS_HOST_NAMESPACES as PSS_HOST_NAMESPACES
from kuploy_gitops.validate.findings_pss import PSS_HOST_PATH as PSS_HOST_PATH
from kuploy_gitops.validate.findings_pss import PSS_HOST_PORTS as PSS_HOST_PORTS
from kuploy_gitops.validate.findings_pss import PSS_HOST_PROCESS as PSS_HOST_PROCESS
from kuploy_gitops.validate.findings_pss import PSS_PRIV_ESCALATION as PSS_PRIV_ESCALATION
from kuploy_gitops.validate.findings_pss import PSS_PRIVILEGED as PSS_PRIVILEGED
from kuploy_gitops.validate.findings_pss import PSS_PROBE_HOST as PSS_PROBE_HOST
from kuploy_gitops.validate.findings_pss import PSS_PROC_MOUNT as PSS_PROC_MOUNT
from kuploy_gitops.validate.findings_pss import (
    PSS_PROC_MOUNT_RESTRICTED as PSS_PROC_MOUNT_RESTRICTED,
)
from kuploy_gitops.validate.findings_pss import PSS_RUN_AS_NON_ROOT as PSS_RUN_AS_NON_ROOT
from kuploy_gitops.validate.findings_pss import PSS_RUN_AS_USER as PSS_RUN_AS_USER
from kuploy_gitops.validate.findings_pss import PSS_SECCOMP_BASELINE as PSS_SECCOMP_BASELINE
from kuploy_gitops.validate.findings_pss import PSS_SECCOMP_RESTRICTED as PSS_SECCOMP_RESTRICTED
from kuploy_gitops.validate.findings_pss import PSS_SELINUX as PSS_SELINUX
from kuploy_gitops.validate.findings_pss import PSS_SYSCTLS as PSS_SYSCTLS
from kuploy_gitops.validate.findings_pss import PSS_VOLUME_TYPES as PSS_VOLUME_TYPES
from kuploy_gitops.validate.findings_render import (
    RENDER_HELM_FAILED as RENDER_HELM_FAILED,
)
from kuploy_gitops.validate.findings_render import (
    RENDER_HELM_UNAVAILABLE as RENDER_HELM_UNAVAILABLE,
)
from kuploy_gitops.validate.findings_render import (
    RENDER_JSONNET_FAILED as RENDER_JSONNET_FAILED,
)

_RULES = CATALOGUE
_rule = rule


# -- files and objects ----------------------------------------------------------------------
YAML_SYNTAX = _rule(
    "yaml.syntax",
    ERROR,
    "The file is not valid YAML/JSON.",
    "Argo CD cannot parse the directory and the whole Application fails to sync.",
    "Fix the indentation or quoting at the reported line.",
)
FILE_UNREADABLE = _rule(
    "file.unreadable",
    ERROR,
    "A symlink out of the folder or to nothing, a FIFO or device, over 4 MiB, or not UTF-8.",
    "Argo CD refuses out-of-bounds symlinks and reads only UTF-8; the rest would hang or "
    "exhaust the CI run.",
    "Replace it with a plain UTF-8 YAML file inside the folder.",
)
MALFORMED = _rule(
    "manifest.malformed",
    ERROR,
    "A document is not a Kubernetes object (no mapping, apiVersion, kind or metadata.name).",
    "The API server rejects it; Argo CD reports a ComparisonError.",
    "Give every document apiVersion, kind and metadata.name.",
)
NAME_INVALID = _rule(
    "manifest.name-invalid",
    ERROR,
    "metadata.name is not a valid DNS-1123 name for the kind.",
    "The API server refuses invalid names (lowercase letters, digits, '-', '.').",
    "Use lowercase letters, digits and '-', starting and ending with a letter or digit.",
)
DUPLICATE = _rule(
    "manifest.duplicate",
    ERROR,
    "The same object (kind, namespace, name) is defined twice.",
    "Argo CD refuses to sync an Application with duplicate resources.",
    "Delete or rename one of the two definitions.",
)
# -- schemas --------------------------------------------------------------------------------
UNKNOWN_FIELD = _rule(
    "schema.unknown-field",
    ERROR,
    "A field the schema does not know (a typo such as `replica:` or a wrong nesting level).",
    "kubectl/Argo CD drop or refuse unknown fields, so the setting silently does nothing.",
    "Correct the field name or move it to the right level (see `kubectl explain`).",
)
SCHEMA_INVALID = _rule(
    "schema.invalid",
    ERROR,
    "A value has the wrong type, is not one of the allowed values (case matters), is not a "
    "quantity, or a required field is missing or null; or no Kubernetes serves the "
    "apiVersion/kind.",
    "The API server refuses the object.",
    "Fix the value at the reported path (the message names what is allowed).",
)
UNKNOWN_KIND = _rule(
    "schema.unknown-kind",
    WARNING,
    "No schema for this apiVersion/kind of a group that may be a CRD of the cluster.",
    "It cannot be checked here; the cluster refuses kinds it does not serve.",
    "Check the apiVersion and kind, or add the CRD to --crd-dir.",
)
API_REMOVED = _rule(
    "api.removed",
    ERROR,
    "The apiVersion was removed from Kubernetes (e.g. extensions/v1beta1).",
    "The API server no longer serves it; the object cannot be created.",
    "Use the replacement apiVersion named in the message and adapt the fields.",
)
# -- quota and limits ------------------------------------------------------------------------
QUOTA_REQUESTS = _rule(
    "quota.requests-missing",
    ERROR,
    "A container has no cpu/memory request and the LimitRange supplies no default.",
    "With a quota on requests, the quota admission refuses such pods (FailedCreate).",
    "Set resources.requests on the container.",
)
QUOTA_LIMITS = _rule(
    "quota.limits-missing",
    ERROR,
    "A container has no cpu/memory limit and the LimitRange supplies no default.",
    "With a quota on limits, the quota admission refuses such pods (FailedCreate).",
    "Set resources.limits on the container.",
)
QUOTA_EXCEEDED = _rule(
    "quota.exceeded",
    ERROR,
    "The tenant's workloads together (replicas x requests/limits, object counts) exceed its "
    "ResourceQuota, or a pod is counted by a quota that allows none (a system priority class).",
    "Pods beyond the quota are refused; the ReplicaSet logs FailedCreate.",
    "Lower replicas or resources, or ask the admin for a larger tier; name no system "
    "priorityClassName.",
)
QUOTA_NODEPORT = _rule(
    "quota.nodeport",
    ERROR,
    "A Service of type NodePort where the quota allows none.",
    "The quota admission refuses the Service.",
    "Use type: ClusterIP and an Ingress to publish the app.",
)
QUOTA_LOADBALANCER = _rule(
    "quota.loadbalancer",
    ERROR,
    "A Service of type LoadBalancer where the quota allows none.",
    "The quota admission refuses the Service.",
    "Use type: ClusterIP and an Ingress to publish the app.",
)
LIMITS_OVER_MAX = _rule(
    "limits.over-max",
    ERROR,
    "A container's limit (or request) is above the LimitRange max.",
    "The LimitRanger admission refuses the pod.",
    "Lower the value to the tier's maximum.",
)
LIMITS_REQUEST_OVER_LIMIT = _rule(
    "limits.request-over-limit",
    ERROR,
    "A container that sets no limit has a request above the LimitRange default limit it gets.",
    "The API server refuses the pod (a request must be less than or equal to the limit).",
    "Lower the request, or set a limit at least as large (within the LimitRange max).",
)
# -- tenant isolation ------------------------------------------------------------------------
ISO_NAMESPACE = _rule(
    "isolation.namespace",
    ERROR,
    "An object of a student's app targets another namespace.",
    "The AppProject only allows the student's namespace; Argo CD refuses the sync.",
    "Remove metadata.namespace or set it to the student's namespace.",
)
ISO_CLUSTER_SCOPED = _rule(
    "isolation.cluster-scoped",
    ERROR,
    "A cluster-scoped kind (Namespace, ClusterRole, ...).",
    "The student's AppProject whitelists no cluster-scoped kinds.",
    "Remove the object; ask the admin if the platform should provide it.",
)
ISO_GUARD_KIND = _rule(
    "isolation.guard-kind",
    ERROR,
    "A guard kind (ResourceQuota, LimitRange, NetworkPolicy, Role, RoleBinding): not in the "
    "AppProject's whitelist.",
    "These are the admin's guards of the tenant; Argo CD refuses to sync them.",
    "Remove the object; the platform already provides the tenant's guards.",
)
ISO_PROJECT_DEFAULT = _rule(
    "isolation.project-default",
    ERROR,
    "An Application uses `project: default`.",
    "The default project allows every repo, namespace and kind.",
    "Use the student's own project (the student name).",
)
ISO_PROJECT_MISMATCH = _rule(
    "isolation.project-mismatch",
    ERROR,
    "An Application in a student's folder names another student's project.",
    "It would deploy with someone else's permissions.",
    "Use the student's own project.",
)
ISO_DESTINATION = _rule(
    "isolation.destination",
    ERROR,
    "An Application's destination is not the student's namespace on the in-cluster server.",
    "The AppProject refuses other destinations.",
    "Set destination.server to the in-cluster server and namespace to the student's.",
)
ISO_SOURCE_REPO = _rule(
    "isolation.source-repo",
    ERROR,
    "An Application's source repo is not in the AppProject.",
    "Argo CD refuses sources outside the project's sourceRepos.",
    "Use one of the repos the student's AppProject allows (`kuploy-gitops app add --repo`).",
)
ISO_SOURCE_PATH = _rule(
    "isolation.source-path",
    ERROR,
    "An Application reads the platform repo outside the student's own workload folder.",
    "It would deploy another tenant's or the admin's manifests in this tenant's name.",
    "Point source.path at the student's folder under apps/workloads/.",
)
ISO_REMOTE_BASE = _rule(
    "isolation.remote-base",
    ERROR,
    "A kustomization lists a remote base, resource or component (a URL or git reference).",
    "Argo CD fetches it with whatever credential matches its URL, bypassing the project's "
    "sourceRepos: it could read another student's repo.",
    "Copy the files into this repo (vendor them) and list them by relative path.",
)
ISO_HELM_DEPENDENCY = _rule(
    "isolation.helm-dependency",
    ERROR,
    "A Helm chart dependency (or kustomize helmCharts) from a repository not allowed.",
    "Helm fetches dependencies itself, bypassing the project's sourceRepos.",
    "Vendor the chart under charts/ or use an allowed repository.",
)
ISO_PROJECT_OPEN = _rule(
    "isolation.project-open",
    ERROR,
    "A student's AppProject allows any repo/namespace, cluster-scoped kinds or kinds outside "
    "the tenant table, or does not sync as the tenant's deployer.",
    "Then nothing stops the student from reaching other tenants or the cluster.",
    "Re-render the tenant (`kuploy-gitops render`) instead of editing the AppProject.",
)
ISO_TENANT_NAME = _rule(
    "isolation.tenant-name",
    ERROR,
    "A tenant (spec or folder) named like a system or add-on namespace (reserved, kuploy.yaml "
    "reserved_namespaces) or not a namespace name.",
    "Its Application would adopt that namespace: relabel it, deny its traffic, delete it later.",
    "Remove the tenant's folders and spec; onboard the student under another name.",
)
RBAC_BROAD = _rule(
    "rbac.broad-role",
    ERROR,
    "A RoleBinding grants cluster-admin/admin/edit or any ClusterRole to a student.",
    "admin/edit let the student change the tenant's own guards or read every Secret.",
    "Bind the tenant's kuploy-student Role only.",
)
NETWORK_INGRESS_PORT = _rule(
    "network.ingress-port",
    WARNING,
    "An Ingress backend's Service targets a pod port the tenant's allow-from-ingress-controller "
    "NetworkPolicy does not admit (it admits the apps' ports: the spec's, and the name http).",
    "The API server accepts it, but the ingress controller cannot connect: the host times out.",
    "Name the container port `http` and set the Service's targetPort to http.",
)
# -- ingress ---------------------------------------------------------------------------------
INGRESS_DOMAIN = _rule(
    "ingress.host-domain",
    ERROR,
    "An Ingress host outside the platform's base domain.",
    "The platform's DNS and TLS only cover its domain; foreign hosts can hijack traffic.",
    "Use the host `kuploy-gitops` assigned (by default <app>-<student>.<domain>).",
)
INGRESS_PATTERN = _rule(
    "ingress.host-pattern",
    ERROR,
    "An Ingress host under the domain but not in the student's own host pattern.",
    "A student may only claim hosts under their own name.",
    "Use the configured ingress.host_pattern (by default <app>-<student>.<domain>).",
)
INGRESS_DUPLICATE = _rule(
    "ingress.host-duplicate",
    ERROR,
    "The same host (and path) is claimed by two Ingresses, across all tenants.",
    "The ingress controller merges or picks one at random: one app steals another's traffic.",
    "Use a unique host (one per app).",
)
INGRESS_CLASS = _rule(
    "ingress.class",
    ERROR,
    "ingressClassName is not the platform's ingress class.",
    "No controller serves other classes; the app is unreachable.",
    "Set spec.ingressClassName to the platform's class, or leave it out.",
)
INGRESS_NO_HOST = _rule(
    "ingress.no-host",
    ERROR,
    "An Ingress rule without host, or a defaultBackend.",
    "A host-less rule catches every host on the controller, other tenants' included.",
    "Give every rule the app's host; remove spec.defaultBackend.",
)
INGRESS_ISSUER = _rule(
    "ingress.issuer",
    ERROR,
    "A cert-manager annotation other than the platform's cluster-issuer (tls.issuer http01).",
    "cert-manager would issue what the annotation asks for: another issuer (the platform's "
    "self-signed one), another common name, a CA.",
    "Remove the cert-manager.io/ annotations; under tls.issuer http01 keep only "
    "cert-manager.io/cluster-issuer: kuploy.",
)
# -- images ----------------------------------------------------------------------------------
IMAGE_REGISTRY = _rule(
    "image.registry",
    ERROR,
    "An image from a registry outside the platform's allow-list.",
    "Unknown registries are an easy way to run unreviewed code on the lab PCs.",
    "Push the image to an allowed registry (see `registries` in kuploy.yaml).",
)
IMAGE_LATEST = _rule(
    "image.latest",
    WARNING,
    "An image tagged :latest.",
    "The running version changes without a commit; rollbacks are impossible.",
    "Pin a version tag or a digest.",
)
IMAGE_NO_TAG = _rule(
    "image.no-tag",
    WARNING,
    "An image without tag or digest (means :latest).",
    "The running version changes without a commit; rollbacks are impossible.",
    "Pin a version tag or a digest.",
)
# -- secrets ---------------------------------------------------------------------------------
SECRET_DATA = _rule(
    "secret.committed-data",
    ERROR,
    "A Secret with data/stringData committed to git.",
    "Everyone who can read the repo can read the secret; git never forgets it.",
    "Remove the Secret and rotate the value; seal it instead: `kuploy-gitops secret set STUDENT "
    "APP NAME=-` (platform-managed apps) or `kubeseal --cert <cert> --scope strict` into a "
    "SealedSecret (KUPLOY.md, 'Secrets').",
)
SECRET_PLAINTEXT = _rule(
    "secret.plaintext",
    ERROR,
    "A credential (API key or token, private key, URL with a password) in a ConfigMap, a "
    "container's env value or its command/args, or a SealedSecret's unencrypted template data.",
    "Everyone who can read the repo (or the namespace's ConfigMaps and pod specs) can read it; "
    "git never forgets it.",
    "Rotate the credential and seal it: `kuploy-gitops secret set STUDENT APP NAME=-` "
    "(platform-managed apps get it as an env variable) or `kubeseal --cert <cert> --scope "
    'strict` into a SealedSecret (docs/student-loop.md, "Secrets"), read with envFrom or '
    "valueFrom.secretKeyRef.",
)
SECRET_SEALED_SCOPE = _rule(
    "secret.sealed-scope",
    WARNING,
    "A SealedSecret sealed namespace-wide or cluster-wide (its sealedsecrets.bitnami.com/"
    "namespace-wide or cluster-wide annotation), not strict.",
    "Its ciphertext is not bound to its name (namespace-wide) or to anything (cluster-wide): "
    "copied from this repo into another SealedSecret, or into another student's tenant "
    "(cluster-wide), the controller opens it there.",
    "Seal it again with `kubeseal --cert <cert> --scope strict` (or `kuploy-gitops secret set`) "
    "and drop the annotation.",
)
# -- workloads -------------------------------------------------------------------------------
SELECTOR_MISMATCH = _rule(
    "workload.selector-mismatch",
    ERROR,
    "spec.selector does not match the pod template's labels.",
    "The API server refuses the workload (`selector does not match template labels`).",
    "Make spec.selector.matchLabels a subset of spec.template.metadata.labels.",
)
SERVICE_UNMATCHED = _rule(
    "service.selector-unmatched",
    WARNING,
    "A Service whose selector matches no pod template of the tenant.",
    "The Service has no endpoints; the Ingress answers 503/404.",
    "Make the Service selector equal the pod template labels.",
)
# -- kustomize, specs, drift -----------------------------------------------------------------
KUSTOMIZE_FAILED = _rule(
    "kustomize.build-failed",
    ERROR,
    "`kubectl kustomize` fails on the folder.",
    "Argo CD's repo-server fails the same way: the Application shows ComparisonError.",
    "Run `kubectl kustomize <dir>` and fix the error it prints.",
)
SPEC_INVALID = _rule(
    "spec.invalid",
    ERROR,
    "A tenant spec (tenants/<student>.yaml) does not validate.",
    "The tenant cannot be rendered.",
    "Correct the key or value the message names (by hand, or with kuploy-gitops onboard / app "
    "add), commit, then run kuploy-gitops render.",
)
LOGIN_DUPLICATE = _rule(
    "spec.login-duplicate",
    ERROR,
    "Two tenant specs bind the same GitHub login (logins ignore case).",
    "One GitHub account would be the student of two tenants: both projects' roles and repos.",
    "Correct the github key of one spec (a login belongs to one tenant), commit, then run "
    "kuploy-gitops render.",
)
DRIFT = _rule(
    "drift.out-of-date",
    ERROR,
    "A rendered file differs from what the specs render to (edited by hand, or not re-rendered).",
    "The repo no longer matches its source of truth; the next render silently reverts it.",
    "Run `kuploy-gitops render` and commit, or move the change into the spec.",
)

RULES: dict[str, Rule] = {r.id: r for r in _RULES}
"""Every rule by id, in catalogue order."""


def make(
    rule: str,
    message: str,
    *,
    file: str,
    line: int = 1,
    tenant: str = "",
    obj: dict[str, Any] | None = None,
    fix: str = "",
    severity: str = "",
) -> Finding:
    """Build a finding; the fix and severity default to the rule's."""
    from kuploy_gitops.validate.credentials import mask  # the catalogue imports no checks

    spec = RULES[rule]
    message = mask(message)  # a value quoted by any rule may be a credential: CI logs show it
    o: dict[str, Any] = obj if isinstance(obj, dict) else {}
    meta = o["metadata"] if isinstance(o.get("metadata"), dict) else {}
    return Finding(
        tenant=tenant,
        file=file,
        line=line,
        rule=rule,
        message=message,
        fix=fix or spec.fix,
        severity=severity or spec.severity,
        kind=str(o.get("kind") or ""),
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
    )
