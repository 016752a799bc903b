"""A managed app's sealed secret: the ``SealedSecret`` object and the Deployment's ``envFrom``.

``kuploy-gitops secret set`` keeps the sealed values in the tenant spec (``apps.<app>.secrets``);
the render copies them into ``apps/workloads/<student>/<app>/sealedsecret.yaml`` byte for byte
(sealing is random, so the render never seals: it is a pure function of the spec). In the
cluster the Sealed Secrets controller opens it into the Secret ``<app>-secrets`` of the
student's namespace, and the app's container takes every key as an env variable.
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops import layout
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

Obj = dict[str, Any]
API_VERSION = "bitnami.com/v1alpha1"


def sealed_secret(spec: TenantSpec, app: AppSpec, labels: dict[str, str]) -> Obj | None:
    """The app's SealedSecret (strict scope: opens only as its name in its namespace), if any.

    The template names the Secret the controller makes (same name and namespace, the app's
    labels, type Opaque), as ``kubeseal`` writes it; no scope annotation, so the strict scope.
    """
    if not app.secrets:
        return None
    meta: Obj = {
        "name": layout.app_secret_name(app.name),
        "namespace": layout.namespace_name(spec.student),
        "labels": dict(labels),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "SealedSecret",
        "metadata": meta,
        "spec": {
            "encryptedData": dict(app.secrets),
            "template": {"metadata": dict(meta, labels=dict(labels)), "type": "Opaque"},
        },
    }


def env_from(app: AppSpec) -> list[Obj]:
    """The container's ``envFrom`` for the app's sealed secret (empty when it has none)."""
    if not app.secrets:
        return []
    return [{"secretRef": {"name": layout.app_secret_name(app.name)}}]
