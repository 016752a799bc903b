"""kuploy.yaml's load_balancer, tls and storage: what each renders, and each bad value's error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import DATA_DIR
from test_manifests_valid import CRD_KINDS, argo_validator

from kuploy_gitops import app_manifests, baremetal_manifests, config
from kuploy_gitops.config_platform import DNS01_PROVIDERS, ISSUERS
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec


def data(**sections: Any) -> dict[str, Any]:
    """The default kuploy.yaml with whole sections replaced (None removes one)."""
    out = config.default_config_data()
    for key, value in sections.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def test_defaults_render_a_pool_a_ca_and_an_nfs_class() -> None:
    cfg = config.parse_config(data())
    pool, adv = baremetal_manifests.load_balancer(cfg)
    assert pool["spec"]["addresses"] == ["192.168.10.240-192.168.10.250"]
    assert pool["metadata"]["namespace"] == "metallb-system"
    assert adv["spec"]["nodeSelectors"] == [{"matchLabels": {"kuploy.io/pool": "core"}}]
    kinds = [(o["kind"], o["metadata"]["name"]) for o in baremetal_manifests.certificates(cfg)]
    assert kinds == [
        ("ClusterIssuer", "kuploy-selfsigned"),
        ("Certificate", "kuploy-ca"),
        ("ClusterIssuer", "kuploy"),
        ("Certificate", "kuploy-wildcard"),
    ]
    wildcard = baremetal_manifests.certificates(cfg)[-1]
    assert wildcard["metadata"]["namespace"] == cfg.ingress_namespace
    assert wildcard["spec"]["secretName"] == cfg.tls_secret
    assert wildcard["spec"]["dnsNames"] == ["*.apps.konkuk.example"]
    (sc,) = baremetal_manifests.storage_classes(cfg)
    assert sc["parameters"]["server"] == "192.168.10.11"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_missing_sections_render_nothing() -> None:
    cfg = config.parse_config(
        {**data(load_balancer=None, tls=None, storage=None), "addons": {}}
        | {"ingress": {**data()["ingress"], "host_pattern": "{app}.{student}.{domain}"}}
    )
    assert baremetal_manifests.load_balancer(cfg) == []
    assert baremetal_manifests.certificates(cfg) == []
    assert baremetal_manifests.storage_classes(cfg) == []


def test_dns01_references_the_secret_by_name_only() -> None:
    tls = {
        "issuer": "dns01",
        "acme_email": "admin@example.ac.kr",
        "dns01_provider": "cloudflare",
        "dns01_secret": "cf-token",
    }
    cfg = config.parse_config(data(tls=tls))
    issuer = baremetal_manifests.certificates(cfg)[0]
    (solver,) = issuer["spec"]["acme"]["solvers"]
    ref = solver["dns01"]["cloudflare"]["apiTokenSecretRef"]
    assert ref == {"name": "cf-token", "key": "api-token"}
    assert issuer["spec"]["acme"]["email"] == "admin@example.ac.kr"


def test_ca_secret_of_the_admin_replaces_the_generated_ca() -> None:
    cfg = config.parse_config(data(tls={"issuer": "ca", "ca_secret": "campus-ca"}))
    objs = baremetal_manifests.certificates(cfg)
    assert [o["metadata"]["name"] for o in objs] == ["kuploy", "kuploy-wildcard"]
    assert objs[0]["spec"] == {"ca": {"secretName": "campus-ca"}}


def _tls(**kw: str) -> dict[str, str]:
    return {"issuer": "dns01", "acme_email": "a@b.example", "dns01_secret": "tok", **kw}


def _http01(**kw: str) -> dict[str, str]:
    return {"issuer": "http01", "acme_email": "a@b.example", **kw}


def test_http01_is_an_acme_issuer_solving_through_the_ingress_class_without_a_wildcard() -> None:
    cfg = config.parse_config(data(tls=_http01()))
    assert cfg.baremetal.tls.per_host
    (issuer,) = baremetal_manifests.certificates(cfg)  # no wildcard Certificate: one per host
    assert (issuer["kind"], issuer["metadata"]["name"]) == ("ClusterIssuer", "kuploy")
    acme = issuer["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"  # production
    assert acme["email"] == "a@b.example"
    assert acme["privateKeySecretRef"] == {"name": "kuploy-acme-account"}
    (solver,) = acme["solvers"]
    ingress = solver["http01"]["ingress"]
    assert ingress["ingressClassName"] == cfg.ingress_class == "traefik"
    assert "class" not in ingress  # the annotation form, superseded since cert-manager 1.12
    # NodePort (cert-manager's default) is refused in tenant namespaces; the pod runs at the
    # tenants' priority.
    assert ingress["serviceType"] == "ClusterIP"
    assert ingress["podTemplate"]["spec"] == {"priorityClassName": "kuploy-tenant"}
    assert baremetal_manifests.acme_solver_image(cfg) == (
        "quay.io/jetstack/cert-manager-acmesolver:" + data()["addons"]["cert-manager"]["version"]
    )
    assert baremetal_manifests.acme_solver_image(config.parse_config(data())) == ""


def test_http01_takes_the_staging_directory_and_hosts_of_any_depth() -> None:
    staging = "https://acme-staging-v02.api.letsencrypt.org/directory"
    deep = {**data()["ingress"], "host_pattern": "{app}.{student}.{domain}"}
    cfg = config.parse_config(data(tls=_http01(acme_server=staging), ingress=deep))
    (issuer,) = baremetal_manifests.certificates(cfg)
    assert issuer["spec"]["acme"]["server"] == staging
    assert cfg.host("kim", "web") == "web.kim.apps.konkuk.example"


def test_acme_server_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        config.parse_config(
            data(tls=_http01(acme_server="https://me:s3cret@acme.example/dir")), "kuploy.yaml"
        )
    assert "tls.acme_server: holds credentials" in str(info.value)
    assert "s3cret" not in str(info.value) + str(info.value.hint)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"load_balancer": {"addresses": ["192.168.10.300-192.168.10.310"]}}, "is not an IPv4 CIDR"),
    ({"load_balancer": {"addresses": ["192.168.10.5/24"]}}, "host bits set"),
    ({"load_balancer": {"addresses": ["fd00::/120"]}}, "not an IPv4 CIDR"),
    ({"load_balancer": {"addresses": ["10.0.0.9-10.0.0.1"]}}, "ends before it starts"),
    ({"load_balancer": {"addresses": ["10.244.3.0/28"]}}, "overlaps the cluster's 10.244.0.0/16"),
    ({"load_balancer": {"addresses": ["10.96.0.10-10.96.0.20"]}}, "overlaps the cluster's"),
    (
        {"load_balancer": {"addresses": ["192.168.10.240/28", "192.168.10.250-192.168.10.251"]}},
        "overlaps '192.168.10.240/28'",
    ),
    ({"load_balancer": {"addresses": "192.168.10.240/28"}}, "expected a list"),
    ({"load_balancer": {"addresses": [], "pool": "core"}}, "unknown key"),
    ({"load_balancer": {"announce_pool": "core pcs"}}, "is not a label value"),
    ({"tls": {"issuer": "letsencrypt"}}, "'letsencrypt' is not a known issuer"),
    ({"tls": {"issuer": "http01"}}, "tls.acme_email: '' is not an email address"),
    ({"tls": _http01(acme_server="http://acme.example/dir")}, "is not an https:// URL"),
    ({"tls": _http01(acme_server="https:///directory")}, "is not an https:// URL"),
    ({"tls": _http01(acme_server="https://acme.example/dir?x=1")}, "is not an https:// URL"),
    ({"tls": _http01(acme_server="https://[::1/dir")}, "is not an https:// URL"),
    ({"tls": _tls(acme_email="")}, "tls.acme_email: '' is not an email address"),
    ({"tls": _tls(dns01_secret="")}, "tls.dns01_secret: missing"),
    ({"tls": _tls(dns01_secret="Not_A_Name")}, "is not a Secret name"),
    ({"tls": _tls(dns01_provider="godaddy")}, "'godaddy' is not a known DNS-01 provider"),
    ({"tls": _tls(dns01_provider="rfc2136")}, "rfc2136 needs dns01_nameserver"),
    ({"tls": _tls(acme_server="http://acme.example")}, "is not an https:// URL"),
    ({"tls": {"issuer": "ca", "token": "x"}}, "tls.token: unknown key"),
    ({"storage": {"kind": "local-path"}}, "'local-path' is not a known storage kind"),
    ({"storage": {"kind": "nfs", "nfs_server": "", "nfs_path": "/x"}}, "storage.nfs_server"),
    ({"storage": {"kind": "nfs", "nfs_server": "nas", "nfs_path": "srv"}}, "not an absolute"),
    ({"storage": {"kind": "nfs", "class": "NFS", "nfs_server": "n", "nfs_path": "/x"}}, "class"),
    ({"addons": {}}, "needs the add-on addons.metallb"),
    (
        {"ingress": {**data()["ingress"], "host_pattern": "{app}.{student}.{domain}"}},
        "the wildcard certificate *.{domain} cannot cover",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_values_are_one_line_naming_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse_config(data(**change), "kuploy.yaml")
    text = str(info.value)
    assert message in text
    assert text.startswith("kuploy.yaml: ") and "\n" not in text
    assert info.value.hint  # and says what to do (or names the key to fix)


@pytest.mark.parametrize(
    ("pattern", "app", "ok"),
    [
        ("{app}-{student}.{domain}", "web", True),
        ("{app}-{student}.{domain}", "lee-web", False),  # would be another student's host
        ("{app}.{student}.{domain}", "lee-web", True),  # its own label: no ambiguity
    ],
)
def test_app_part_of_hosts(pattern: str, app: str, ok: bool) -> None:
    cfg = config.parse_config(
        data(ingress={**data()["ingress"], "host_pattern": pattern}, tls={"issuer": "none"})
    )
    assert (re.fullmatch(cfg.app_label, app) is not None) is ok


# Every tls.issuer variant (and every dns01 provider): also admitted by the real API server with
# cert-manager's CRDs (tests/cluster/test_admitted.py).
ISSUER_VARIANTS: dict[str, dict[str, str]] = {
    "ca": {"issuer": "ca"},
    "ca-secret": {"issuer": "ca", "ca_secret": "campus-ca"},
    "dns01-cloudflare": _tls(dns01_provider="cloudflare"),
    "dns01-rfc2136": _tls(
        dns01_provider="rfc2136", dns01_nameserver="10.0.0.53:53", dns01_tsig_key="kuploy-acme"
    ),
    "http01": _http01(),
}


def test_the_variants_cover_every_issuer_and_dns01_provider() -> None:
    variants = ISSUER_VARIANTS.values()
    assert {v["issuer"] for v in variants} == set(ISSUERS) - {"none"}
    assert {v["dns01_provider"] for v in variants if v["issuer"] == "dns01"} == set(DNS01_PROVIDERS)


@pytest.mark.parametrize("variant", sorted(ISSUER_VARIANTS))
def test_every_issuer_matches_cert_managers_crds(variant: str) -> None:
    # The vendored CRDs of the pinned cert-manager (tests/data/cert-manager), made strict.
    tls = ISSUER_VARIANTS[variant]
    objects = baremetal_manifests.certificates(config.parse_config(data(tls=tls)))
    wildcard = {"Certificate"} if tls["issuer"] != "http01" else set()
    assert {o["kind"] for o in objects} == {"ClusterIssuer", *wildcard}
    for obj in objects:
        assert obj["apiVersion"] == "cert-manager.io/" + CRD_KINDS[obj["kind"]][2]
        errors = sorted(argo_validator(DATA_DIR, obj["kind"]).iter_errors(obj), key=str)
        assert not errors, (
            f"{obj['metadata']['name']}: {errors[0].message} at {list(errors[0].path)}"
        )


@pytest.mark.parametrize("issuer", ["http01", "ca"])
def test_an_apps_ingress_asks_for_its_own_certificate_only_under_http01(issuer: str) -> None:
    cfg = config.parse_config(data(tls=_http01() if issuer == "http01" else {"issuer": issuer}))
    spec = TenantSpec(student="kim", tier="small")
    app = AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/web:1", port=8080)
    ingress = app_manifests.app_objects(cfg, spec, app)["ingress.yaml"]
    host = "web-kim.apps.konkuk.example"
    (tls,) = ingress["spec"]["tls"]
    if issuer == "http01":
        # cert-manager's ingress-shim makes the Certificate of this host, into web-tls in the
        # tenant's namespace; the ACME server proves the host through HTTP-01.
        assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "kuploy"}
        assert tls == {"hosts": [host], "secretName": "web-tls"}
    else:
        # The ingress controller's default (wildcard) certificate serves it: no key in the tenant.
        assert "annotations" not in ingress["metadata"]
        assert tls == {"hosts": [host]}
