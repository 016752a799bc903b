"""Builders for a platform-managed app's objects: its kustomization, Deployment, Service, Ingress.

The same objects make the ``deploy/`` folder scaffolded into a student's repo (theirs to edit
afterwards). Pure functions of the platform config, the tenant spec and the app, as in
:mod:`kuploy_gitops.manifests`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuploy_gitops import db_manifests, layout, podsecurity, secret_manifests, stacks
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.sizes import SIZES
from kuploy_gitops.stacks import Stack
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

Obj = dict[str, Any]


@dataclass(frozen=True)
class ImageRef:
    """An image reference split the way kustomize's ``images:`` wants it."""

    ref: str
    name: str
    tag: str
    digest: str


def parse_image(ref: str) -> ImageRef:
    """Split ``registry/repo:tag@digest``; a missing tag is ``latest`` as for the runtime."""
    name, _, digest = ref.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    if not tag and not digest:
        tag = "latest"
    return ImageRef(ref=ref, name=name, tag=tag, digest=digest)


def app_labels(spec: TenantSpec, app: AppSpec) -> tuple[dict[str, str], dict[str, str]]:
    """(all labels, selector labels) of a platform-managed app's objects."""
    selector = {
        layout.LABEL_NAME: app.name,
        layout.LABEL_INSTANCE: layout.application_name(spec.student, app.name),
    }
    labels = {**selector, layout.LABEL_PART_OF: layout.PART_OF, layout.LABEL_OWNER: spec.student}
    return dict(sorted(labels.items())), selector


def with_sealed_secret(files: dict[str, Obj], spec: TenantSpec, app: AppSpec) -> dict[str, Obj]:
    """:func:`app_objects`' ``files`` plus the app's SealedSecret, when it has sealed values.

    The SealedSecret is listed in the kustomization; the Deployment's ``envFrom`` (set by
    :func:`app_objects` for the same apps) names the Secret the controller makes from it.
    """
    sealed = secret_manifests.sealed_secret(spec, app, app_labels(spec, app)[0])
    if sealed is None:
        return files
    kustomization = dict(files["kustomization.yaml"])
    kustomization["resources"] = [*kustomization["resources"], layout.SEALED_SECRET_FILE]
    return {**files, "kustomization.yaml": kustomization, layout.SEALED_SECRET_FILE: sealed}


def app_objects(
    cfg: PlatformConfig,
    spec: TenantSpec,
    app: AppSpec,
    *,
    pull_secret: str = "",
    stack: Stack | None = None,
) -> dict[str, Obj]:
    """The kustomization of one app: ``{file name: object}``, the kustomization first.

    The Deployment runs under Pod Security "restricted" as the platform's non-root id (no
    privilege escalation, no capabilities, RuntimeDefault seccomp, read-only root file system
    with a writable ``/tmp``: :mod:`kuploy_gitops.podsecurity`), in the tenant priority class,
    with the size's requests and limits; it names ``pull_secret`` as its imagePullSecret only
    when one is given, and probes that suit ``stack`` (:func:`kuploy_gitops.stacks.probes`).
    The Ingress's TLS section is :func:`ingress_tls`'s.
    """
    ns = layout.namespace_name(spec.student)
    labels, selector = app_labels(spec, app)
    image = parse_image(app.image)
    size = SIZES[app.size]

    def meta() -> Obj:
        return {"name": app.name, "namespace": ns, "labels": dict(labels)}

    images: Obj = {"name": image.name}
    if image.digest:
        images["digest"] = image.digest
    else:
        images["newTag"] = image.tag
    kustomization: Obj = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": ns,
        "resources": ["deployment.yaml", "service.yaml", "ingress.yaml"],
        "images": [images],
    }
    container: Obj = {
        "name": "app",
        "image": image.ref,
        "ports": [{"name": "http", "containerPort": app.port, "protocol": "TCP"}],
    }
    env = [{"name": k, "value": v} for k, v in app.env] + db_manifests.database_env(spec, app)
    if env:
        container["env"] = env
    if app.secrets:
        container["envFrom"] = secret_manifests.env_from(app)
    container.update(stacks.probes(stack, app.health_path, cfg.host(spec.student, app.name)))
    container["resources"] = {
        "requests": {"cpu": size.requests_cpu, "memory": size.requests_memory},
        "limits": {"cpu": size.limits_cpu, "memory": size.limits_memory},
    }
    container["securityContext"] = podsecurity.container_security_context()
    tmp_volume, tmp_mount = podsecurity.tmp_volume()
    container["volumeMounts"] = [tmp_mount]
    pod: Obj = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "priorityClassName": layout.TENANT_PRIORITY_CLASS,
        "securityContext": podsecurity.pod_security_context(cfg),
    }
    if pull_secret:
        pod["imagePullSecrets"] = [{"name": pull_secret}]
    pod["containers"] = [container]
    pod["volumes"] = [tmp_volume]
    deployment: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(),
        "spec": {
            # A suspended tenant runs nothing; its spec keeps the replicas for `resume`.
            "replicas": 0 if spec.suspended else app.replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": dict(selector)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        },
    }
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    host = cfg.host(spec.student, app.name)
    backend = {"service": {"name": app.name, "port": {"name": "http"}}}
    ingress: Obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {**meta(), **ingress_tls_annotations(cfg)},
        "spec": {
            "ingressClassName": cfg.ingress_class,
            "tls": [ingress_tls(cfg, host, app.name)],
            "rules": [
                {
                    "host": host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }
    return {
        "kustomization.yaml": kustomization,
        "deployment.yaml": deployment,
        "service.yaml": service,
        "ingress.yaml": ingress,
    }


def ingress_tls_annotations(cfg: PlatformConfig) -> Obj:
    """Metadata an app's Ingress adds for its certificate: ``{"annotations": ...}`` or nothing.

    Under tls.issuer http01 it names the platform's ClusterIssuer, and cert-manager's
    ingress-shim makes the Certificate of the Ingress's TLS hosts in the tenant namespace.
    """
    if not cfg.baremetal.tls.per_host:
        return {}
    return {"annotations": {layout.ANNOTATION_CLUSTER_ISSUER: layout.CLUSTER_ISSUER}}


def ingress_tls(cfg: PlatformConfig, host: str, app: str) -> Obj:
    """The TLS entry of an app's Ingress for ``host``.

    One wildcard certificate (tls.issuer ca, dns01, none): no ``secretName``, so the ingress
    controller serves its default certificate (ingress.tls_secret in its own namespace); that
    key copied into every tenant namespace would be readable by every pod there. Per host
    (http01): the Secret cert-manager writes this host's certificate to, in the app's namespace.
    """
    if not cfg.baremetal.tls.per_host:
        return {"hosts": [host]}
    return {"hosts": [host], "secretName": layout.app_tls_secret(app)}
