"""Ingress admission: hosts under the platform domain and the student's pattern, the class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kuploy_gitops import layout
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map, meta


def ingress_hosts(obj: Mapping[str, Any]) -> list[tuple[str, str, Path_]]:
    """(host, path, key path) of every rule path of an Ingress."""
    out: list[tuple[str, str, Path_]] = []
    for i, rule in enumerate(as_map(obj.get("spec")).get("rules") or []):
        r = as_map(rule)
        host = r.get("host")
        if not isinstance(host, str) or not host:
            continue
        paths = as_map(r.get("http")).get("paths") or [{}]
        for p in paths:
            rule_path = str(as_map(p).get("path") or "/")
            out.append((host.lower(), rule_path, ("spec", "rules", i, "host")))
    return out


def allowed_cert_manager_annotations(cfg: PlatformConfig) -> dict[str, str]:
    """The cert-manager annotations a tenant Ingress may carry, with their one allowed value.

    Under tls.issuer http01 the platform's ClusterIssuer (what kuploy renders); otherwise none:
    the ingress controller serves the wildcard certificate.
    """
    if not cfg.baremetal.tls.per_host:
        return {}
    return {layout.ANNOTATION_CLUSTER_ISSUER: layout.CLUSTER_ISSUER}


def _issuer_annotations(cfg: PlatformConfig, annotations: Mapping[str, Any]) -> list[Issue]:
    allowed = allowed_cert_manager_annotations(cfg)
    out: list[Issue] = []
    for key, value in annotations.items():
        if not str(key).startswith(layout.CERT_MANAGER_ANNOTATION_PREFIX):
            continue
        if allowed.get(key) == value:
            continue
        want = (
            f"only {layout.ANNOTATION_CLUSTER_ISSUER}: {layout.CLUSTER_ISSUER}"
            if allowed
            else "none (tls.issuer is not http01: the ingress controller serves the certificate)"
        )
        out.append(
            Issue(
                F.INGRESS_ISSUER,
                f"annotation {key}: {value!r} is not allowed on a tenant Ingress; {want}",
                ("metadata", "annotations", key),
            )
        )
    return out


def check_ingress(ctx: TenantContext, cfg: PlatformConfig, obj: Mapping[str, Any]) -> list[Issue]:
    """Host under the domain and the student's pattern, no catch-all rules, allowed class.

    And no cert-manager annotation but the platform's issuer (tls.issuer http01).
    """
    out: list[Issue] = []
    spec = as_map(obj.get("spec"))
    if spec.get("defaultBackend") or spec.get("backend"):
        out.append(
            Issue(
                F.INGRESS_NO_HOST,
                "Ingress sets a default backend (catches every host)",
                ("spec", "defaultBackend"),
            )
        )
    hosts: list[tuple[str, Path_]] = []
    for i, rule in enumerate(spec.get("rules") or []):
        host = as_map(rule).get("host")
        if not host:
            out.append(
                Issue(
                    F.INGRESS_NO_HOST,
                    f"rule {i} has no host (catches every host)",
                    ("spec", "rules", i),
                )
            )
        else:
            hosts.append((str(host), ("spec", "rules", i, "host")))
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(as_map(tls).get("hosts") or []):
            hosts.append((str(host), ("spec", "tls", i, "hosts", j)))
    seen: set[str] = set()
    for host, path in hosts:
        if host in seen:
            continue
        seen.add(host)
        domain = cfg.base_domain.lower()
        if not host.lower().endswith("." + domain):
            out.append(
                Issue(
                    F.INGRESS_DOMAIN,
                    f"host {host!r} is not under the platform domain {domain!r}",
                    path,
                )
            )
        elif ctx.host_re is not None and not ctx.host_re.match(host.lower()):
            example = cfg.host(ctx.student, "<app>")
            out.append(
                Issue(
                    F.INGRESS_PATTERN,
                    f"host {host!r} is not one of the hosts of {ctx.student!r} "
                    f"(expected {example})",
                    path,
                )
            )
    cls = spec.get("ingressClassName")
    annotated = meta(obj).get("annotations", {}) or {}
    out += _issuer_annotations(cfg, as_map(annotated))
    legacy = as_map(annotated).get("kubernetes.io/ingress.class")
    for value, path in ((cls, ("spec", "ingressClassName")), (legacy, ("metadata", "annotations"))):
        if value is not None and value != cfg.ingress_class:
            out.append(
                Issue(
                    F.INGRESS_CLASS,
                    f"ingress class {value!r} is not the platform's {cfg.ingress_class!r}",
                    path,
                )
            )
    return out
