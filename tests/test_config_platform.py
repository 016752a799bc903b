"""kuploy.yaml's load_balancer, tls and storage: what each renders, and each bad value's error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import DATA_DIR
from test_manifests_valid import CRD_KINDS, argo_validator

from kuploy_gitops import baremetal_manifests, config
from kuploy_gitops.errors import ConfigError


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
    ({"tls": {"issuer": "http01"}}, "http01 cannot issue the wildcard"),
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


@pytest.mark.parametrize(
    "tls",
    [
        {"issuer": "ca"},
        {"issuer": "ca", "ca_secret": "campus-ca"},
        _tls(dns01_provider="cloudflare"),
        _tls(
            dns01_provider="rfc2136",
            dns01_nameserver="10.0.0.53:53",
            dns01_tsig_key="kuploy-acme",
        ),
    ],
    ids=["ca", "ca-secret", "dns01-cloudflare", "dns01-rfc2136"],
)
def test_every_issuer_matches_cert_managers_crds(tls: dict[str, str]) -> None:
    # The vendored CRDs of the pinned cert-manager (tests/data/cert-manager), made strict.
    objects = baremetal_manifests.certificates(config.parse_config(data(tls=tls)))
    assert {o["kind"] for o in objects} == {"ClusterIssuer", "Certificate"}
    for obj in objects:
        assert obj["apiVersion"] == "cert-manager.io/" + CRD_KINDS[obj["kind"]][2]
        errors = sorted(argo_validator(DATA_DIR, obj["kind"]).iter_errors(obj), key=str)
        assert not errors, (
            f"{obj['metadata']['name']}: {errors[0].message} at {list(errors[0].path)}"
        )
