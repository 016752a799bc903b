"""validate's Ingress rule on cert-manager annotations (tls.issuer http01 and the others)."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import TenantContext, host_pattern
from kuploy_gitops.validate.ingress import check_ingress


def _cfg(issuer: str) -> config.PlatformConfig:
    data = config.default_config_data()
    data["tls"] = {**data["tls"], "issuer": issuer, "acme_email": "a@b.example"}
    data["tls"]["dns01_secret"] = "dns-token"
    return config.parse_config(data)


def _ingress(cfg: config.PlatformConfig, annotations: dict[str, str]) -> dict[str, Any]:
    host = cfg.host("kim", "web")
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "annotations": annotations},
        "spec": {
            "ingressClassName": "traefik",
            "tls": [{"hosts": [host], "secretName": "web-tls"}],
            "rules": [{"host": host}],
        },
    }


def _rules(issuer: str, annotations: dict[str, str]) -> list[str]:
    cfg = _cfg(issuer)
    pattern = host_pattern(cfg, "kim")
    ctx = TenantContext(student="kim", namespace="kim", enforce="", warn="", audit="")
    ctx.host_re = pattern
    return [i.rule for i in check_ingress(ctx, cfg, _ingress(cfg, annotations))]


ISSUER = "cert-manager.io/cluster-issuer"


@pytest.mark.parametrize(
    ("issuer", "annotations", "found"),
    [
        ("http01", {ISSUER: "kuploy"}, []),  # what kuploy renders: no false finding
        ("http01", {"traefik.ingress.kubernetes.io/router.middlewares": "x"}, []),
        ("http01", {ISSUER: "kuploy-selfsigned"}, [F.INGRESS_ISSUER]),
        (
            "http01",
            {ISSUER: "kuploy", "cert-manager.io/common-name": "argocd.x"},
            [F.INGRESS_ISSUER],
        ),
        ("http01", {"cert-manager.io/issuer": "mine"}, [F.INGRESS_ISSUER]),
        ("ca", {}, []),
        ("ca", {ISSUER: "kuploy"}, [F.INGRESS_ISSUER]),
        ("dns01", {ISSUER: "kuploy"}, [F.INGRESS_ISSUER]),
    ],
)
def test_cert_manager_annotations(
    issuer: str, annotations: dict[str, str], found: list[str]
) -> None:
    assert _rules(issuer, annotations) == found
