"""The admission policies that keep students inside their tenants, enforced by the cluster.

A student controls every file of their app (and the CI that runs ``validate``), so what keeps an
app inside its tenant must be refused by the API server itself. These are
``ValidatingAdmissionPolicy`` objects (built into Kubernetes since 1.30: no controller to run)
and their bindings, rendered into ``apps/cluster/platform/admission-policies.yaml`` from
kuploy.yaml. Each binding selects the namespaces that carry the tenant owner label, which only
the platform repo sets (students cannot write Namespaces). ``validate`` checks the same rules, so a
student learns early; docs/admin-guide.md lists them.
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops import layout
from kuploy_gitops.baremetal_manifests import acme_solver_image
from kuploy_gitops.config import PlatformConfig

Obj = dict[str, Any]

API_VERSION = "admissionregistration.k8s.io/v1"
# Added by admission plugins before validation runs: DefaultTolerationSeconds (not-ready,
# unreachable, to every pod) and PodTolerationRestriction (memory-pressure, to every pod that
# is not BestEffort).
DEFAULT_TOLERATION_KEYS = (
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
)


def cel_string(value: str) -> str:
    """``value`` as a CEL string literal (any text: quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _concat(template: str, namespace_marker: str) -> str:
    """A CEL expression for ``template`` with ``request.namespace`` at every marker."""
    parts = template.split(namespace_marker)
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if part:
            pieces.append(cel_string(part))
        if i < len(parts) - 1:
            pieces.append("request.namespace")
    return " + ".join(pieces) if pieces else '""'


def host_affixes(cfg: PlatformConfig) -> tuple[str, str]:
    """CEL expressions of the prefix and suffix around ``{app}`` in a tenant's host names.

    The split validate's host check uses (:meth:`PlatformConfig.host_affixes`), with the
    student's name taken from the request's namespace (a tenant's namespace is its name).
    """
    student = "\x01"
    prefix, suffix = cfg.host_affixes(student)
    return _concat(prefix, student), _concat(suffix, student)


def policy(name: str, resources: list[str], group: str, operations: list[str], spec: Obj) -> Obj:
    """A ValidatingAdmissionPolicy of the platform (failing closed) on ``resources``."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(name),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [group],
                        "apiVersions": ["*"],
                        "operations": operations,
                        "resources": resources,
                    }
                ]
            },
            **spec,
        },
    }


def binding(name: str, *, tenants_only: bool = True) -> Obj:
    """The Deny binding of policy ``name``: in the tenants' namespaces, or everywhere."""
    spec: Obj = {"policyName": name, "validationActions": ["Deny"]}
    if tenants_only:
        spec["matchResources"] = {
            "namespaceSelector": {
                "matchExpressions": [{"key": layout.LABEL_OWNER, "operator": "Exists"}]
            }
        }
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(name),
        "spec": spec,
    }


def _meta(name: str) -> Obj:
    return {
        "name": name,
        "labels": {layout.LABEL_MANAGED_BY: layout.MANAGED_BY, layout.LABEL_PART_OF: "kuploy"},
        # Before the tenants' ApplicationSet, so no tenant app syncs without them.
        "annotations": {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_ADMISSION},
    }


def rule(expression: str, message: str, reason: str = "Forbidden") -> Obj:
    """One validation of a policy."""
    return {"expression": expression, "message": message, "reason": reason}


def services_policy() -> Obj:
    """Services only of type ClusterIP, with a selector, without externalIPs."""
    return policy(
        "kuploy-tenant-services",
        ["services"],
        "",
        ["CREATE", "UPDATE"],
        {
            "validations": [
                rule(
                    "!has(object.spec.type) || object.spec.type == 'ClusterIP'",
                    "tenant Services must be of type ClusterIP: publish an app through its "
                    "Ingress (NodePort, LoadBalancer and ExternalName are the platform's)",
                ),
                rule(
                    "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
                    "tenant Services may not set externalIPs (they would capture traffic "
                    "to those addresses cluster-wide, CVE-2020-8554)",
                ),
                rule(
                    "has(object.spec.selector) && size(object.spec.selector) > 0",
                    "tenant Services need a selector (a Service without one can be pointed at any "
                    "address through hand-made Endpoints, CVE-2021-25740)",
                ),
            ]
        },
    )


def ingresses_policy(cfg: PlatformConfig) -> Obj:
    """Ingress hosts only the tenant's, the platform's class, no default backend."""
    prefix, suffix = host_affixes(cfg)
    klass = cel_string(cfg.ingress_class)

    def own(h: str) -> str:
        return (
            f"{h}.startsWith(variables.prefix) && {h}.endsWith(variables.suffix) && "
            f"size({h}) > size(variables.prefix) + size(variables.suffix) && "
            f"{h}.substring(size(variables.prefix), size({h}) - size(variables.suffix))"
            f".matches({cel_string(cfg.app_label)})"
        )

    example = cfg.host("<student>", "<app>")
    return policy(
        "kuploy-tenant-ingresses",
        ["ingresses"],
        "networking.k8s.io",
        ["CREATE", "UPDATE"],
        {
            "variables": [
                {"name": "prefix", "expression": prefix},
                {"name": "suffix", "expression": suffix},
            ],
            "validations": [
                rule(
                    "!has(object.spec.defaultBackend)",
                    "tenant Ingresses may not set a default backend (it catches every host)",
                ),
                rule(
                    "!has(object.spec.rules) || object.spec.rules.all(r, has(r.host) && "
                    f"{own('r.host')})",
                    f"every rule of a tenant Ingress needs one of the tenant's hosts ({example}); "
                    "a rule without a host catches every host",
                ),
                rule(
                    "!has(object.spec.tls) || object.spec.tls.all(t, !has(t.hosts) || "
                    f"t.hosts.all(h, {own('h')}))",
                    f"every TLS host of a tenant Ingress must be one of the tenant's ({example})",
                ),
                rule(
                    "!has(object.spec.ingressClassName) || "
                    f"object.spec.ingressClassName == {klass}",
                    f"tenant Ingresses use the platform's ingress class {cfg.ingress_class!r}",
                ),
                rule(
                    "!has(object.metadata.annotations) || "
                    "!('kubernetes.io/ingress.class' in object.metadata.annotations) || "
                    f"object.metadata.annotations['kubernetes.io/ingress.class'] == {klass}",
                    f"tenant Ingresses use the platform's ingress class {cfg.ingress_class!r}",
                ),
                issuer_annotations_rule(cfg),
            ],
        },
    )


def issuer_annotations_rule(cfg: PlatformConfig) -> Obj:
    """No ``cert-manager.io/`` annotation on a tenant Ingress but the platform's ClusterIssuer.

    cert-manager's ingress-shim issues what an Ingress's annotations ask: another issuer (the
    generated CA's self-signed one), another common name, a CA certificate. Under tls.issuer
    http01 the one annotation kuploy renders is allowed (its hosts are the Ingress's TLS hosts,
    which the rule above keeps the tenant's); otherwise the ingress controller serves the
    wildcard certificate and none is.
    """
    prefix = cel_string(layout.CERT_MANAGER_ANNOTATION_PREFIX)
    if cfg.baremetal.tls.per_host:
        key, value = layout.ANNOTATION_CLUSTER_ISSUER, layout.CLUSTER_ISSUER
        allowed = (
            f"(k == {cel_string(key)} && object.metadata.annotations[k] == {cel_string(value)})"
        )
        message = f"tenant Ingresses may carry no cert-manager.io/ annotation but {key}: {value}"
    else:
        allowed = "false"
        message = (
            "tenant Ingresses may carry no cert-manager.io/ annotation (the ingress controller "
            "serves the platform's certificate)"
        )
    return rule(
        "!has(object.metadata.annotations) || object.metadata.annotations.all(k, "
        f"!k.startsWith({prefix}) || {allowed})",
        message,
    )


def pods_policy() -> Obj:
    """Pods placed by the scheduler: no nodeName, only the tenant priority class and tolerations."""
    allowed = (
        "[" + ", ".join(cel_string(k) for k in (*DEFAULT_TOLERATION_KEYS, layout.POOL_LABEL)) + "]"
    )
    return policy(
        "kuploy-tenant-pods",
        ["pods"],
        "",
        # CREATE only: the scheduler's binding later sets nodeName (through pods/binding), and
        # updates of a bound pod would otherwise be refused.
        ["CREATE"],
        {
            "validations": [
                rule(
                    "!has(object.spec.nodeName) || object.spec.nodeName == ''",
                    "tenant pods may not set nodeName (it bypasses the scheduler and the node "
                    "pools); the scheduler places them",
                ),
                rule(
                    "!has(object.spec.priorityClassName) || object.spec.priorityClassName in "
                    f"['', {cel_string(layout.TENANT_PRIORITY_CLASS)}]",
                    "tenant pods may only use the priority class "
                    f"{layout.TENANT_PRIORITY_CLASS!r} (system classes would evict other "
                    "students' pods)",
                ),
                rule(
                    "!has(object.spec.serviceAccountName) || "
                    f"object.spec.serviceAccountName != {cel_string(layout.DEPLOYER_SA)}",
                    f"tenant pods may not run as {layout.DEPLOYER_SA!r} (the ServiceAccount "
                    "Argo CD syncs the tenant's apps as)",
                ),
                rule(
                    "!has(object.spec.tolerations) || object.spec.tolerations.all(t, "
                    f"has(t.key) && t.key in {allowed})",
                    "tenant pods may only tolerate the lab pool taint "
                    f"({layout.POOL_LABEL}); other tolerations would put them on the "
                    "control plane or reserved nodes",
                ),
            ]
        },
    )


def normalised_image(ref: str) -> str:
    """A CEL expression: image reference ``ref`` (a CEL string) with its registry spelled out.

    The rule of ``validate``'s ``normalise_image``: ``nginx`` is ``docker.io/library/nginx``,
    ``me/app`` and ``docker.io/me/app`` are ``docker.io/me/app``; a first part with a dot, a
    colon or ``localhost`` is a registry host.
    """
    first = f"{ref}.substring(0, {ref}.indexOf('/'))"
    rest = f"{ref}.substring({ref}.indexOf('/') + 1)"
    return (
        f"!{ref}.contains('/') ? 'docker.io/library/' + {ref} : "
        f"({first} == 'docker.io' || {first} == 'index.docker.io') ? "
        f"({rest}.contains('/') ? 'docker.io/' + {rest} : 'docker.io/library/' + {rest}) : "
        f"({first}.contains('.') || {first}.contains(':') || {first} == 'localhost') ? {ref} : "
        f"'docker.io/' + {ref}"
    )


def images_policy(cfg: PlatformConfig) -> Obj:
    """Every container image of a tenant pod from one of the platform's registries."""
    # Under tls.issuer http01 cert-manager runs its solver pod in the tenant's namespace.
    solver = acme_solver_image(cfg)
    allowed = [*cfg.registries, *([solver] if solver else [])]
    prefixes = "[" + ", ".join(cel_string(r) for r in allowed) + "]"
    containers = (
        "object.spec.containers.map(c, c.image)"
        " + (has(object.spec.initContainers) ? object.spec.initContainers.map(c, c.image) : [])"
        " + (has(object.spec.ephemeralContainers) ? "
        "object.spec.ephemeralContainers.map(c, c.image) : [])"
    )
    return policy(
        "kuploy-tenant-images",
        ["pods", "pods/ephemeralcontainers"],
        "",
        # Images of a running pod can be changed by an update.
        ["CREATE", "UPDATE"],
        {
            "variables": [
                {"name": "images", "expression": containers},
                {"name": "full", "expression": f"variables.images.map(i, {normalised_image('i')})"},
            ],
            "validations": [
                rule(
                    f"variables.full.all(i, {prefixes}.exists(p, i.startsWith(p)))",
                    "tenant images must come from the platform's registries: "
                    + ", ".join(cfg.registries)
                    + (f" (and cert-manager's solver {solver})" if solver else ""),
                )
            ],
        },
    )


def namespaces_policy() -> Obj:
    """A namespace kuploy did not create is never adopted, nor a tenant's owner changed.

    A tenant named after an existing namespace (``metallb-system``, ``monitoring``) would
    otherwise be relabelled by its Application: Pod Security changed, default-deny applied, and
    the namespace deleted at offboarding.
    """
    owner = cel_string(layout.LABEL_OWNER)

    def has_owner(o: str) -> str:
        return f"(has({o}.metadata.labels) && {owner} in {o}.metadata.labels)"

    return policy(
        "kuploy-namespace-adoption",
        ["namespaces"],
        "",
        ["UPDATE"],
        {
            "validations": [
                rule(
                    f"{has_owner('oldObject')} || !{has_owner('object')}",
                    f"namespace exists without the {layout.LABEL_OWNER} label: kuploy never adopts "
                    "a namespace it did not create (choose another tenant name)",
                ),
                rule(
                    f"!{has_owner('oldObject')} || ({has_owner('object')} && "
                    f"object.metadata.labels[{owner}] == oldObject.metadata.labels[{owner}])",
                    f"the {layout.LABEL_OWNER} label of a tenant namespace never changes",
                ),
            ]
        },
    )


def admission_policies(cfg: PlatformConfig) -> list[Obj]:
    """Every admission policy, each followed by its binding.

    The tenant policies bind to namespaces with the owner label; the namespace policy to every
    namespace (the object it guards is the one that may lack the label).
    """
    out: list[Obj] = []
    for policy in (services_policy(), ingresses_policy(cfg), pods_policy(), images_policy(cfg)):
        out += [policy, binding(policy["metadata"]["name"])]
    policy = namespaces_policy()
    out += [policy, binding(policy["metadata"]["name"], tenants_only=False)]
    return out
