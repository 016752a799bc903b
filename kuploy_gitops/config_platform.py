"""kuploy.yaml's bare-metal sections: ``load_balancer``, ``tls`` and ``storage``.

What a cluster of lab PCs lacks that a cloud gives: addresses for LoadBalancer Services
(MetalLB, layer 2), certificates (cert-manager: one wildcard certificate that Traefik serves for
every app, or one certificate per host through ACME HTTP-01), and a default StorageClass whose
volumes live off the lab PCs (NFS). Each section is optional: a kuploy.yaml without it renders
nothing for it (platforms made before these keys).
:mod:`.config` calls :func:`parse_sections`; :mod:`.baremetal_manifests` builds the objects.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kuploy_gitops.config_fields import Reader
from kuploy_gitops.names import DNS_LABEL, LABEL_VALUE

# The add-on (by its key under ``addons``) that serves each section: its namespace is where the
# section's objects live, and a section without its add-on would render objects nobody serves.
METALLB_ADDON = "metallb"
CERT_MANAGER_ADDON = "cert-manager"
NFS_ADDON = "csi-driver-nfs"

# cert-manager's HTTP-01 solver pod (its pkg/issuer/acme/http/pod.go): the image its chart
# passes (quay.io/jetstack, tagged with the chart's version) and the port it listens on.
ACME_SOLVER_IMAGE = "quay.io/jetstack/cert-manager-acmesolver"
ACME_SOLVER_PORT = 8089

ISSUERS = ("ca", "dns01", "http01", "none")
# The issuers that make one wildcard certificate (http01 makes one per Ingress host instead).
WILDCARD_ISSUERS = ("ca", "dns01")
ACME_ISSUERS = ("dns01", "http01")
DNS01_PROVIDERS = ("cloudflare", "rfc2136")
STORAGE_KINDS = ("nfs", "none")
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class LoadBalancer:
    """MetalLB's address pool (layer 2) and the node pool that announces it."""

    addresses: tuple[str, ...] = ()  # CIDRs or first-last ranges, IPv4; empty: no MetalLB
    announce_pool: str = "core"  # kuploy.io/pool value of the nodes that answer ARP


@dataclass(frozen=True)
class Certificates:
    """How apps' certificates are issued (``tls:``): ``*.<base_domain>`` or one per host."""

    # ca | dns01: one wildcard certificate; http01: one per app host (ACME HTTP-01 through the
    # ingress controller); none: the admin makes ingress.tls_secret
    issuer: str = "none"
    ca_secret: str = ""  # ca: '' = cert-manager makes its own CA; else the admin's CA Secret
    acme_email: str = ""
    acme_server: str = LETS_ENCRYPT  # LETS_ENCRYPT_STAGING while trying the platform out
    dns01_provider: str = "cloudflare"
    dns01_secret: str = ""  # the Secret (in cert-manager's namespace) with the credential
    dns01_nameserver: str = ""  # rfc2136: host:port of the DNS server taking updates
    dns01_tsig_key: str = ""  # rfc2136: the TSIG key's name

    @property
    def per_host(self) -> bool:
        """Whether each app's Ingress asks cert-manager for its own certificate (http01)."""
        return self.issuer == "http01"


@dataclass(frozen=True)
class Storage:
    """The default StorageClass: where tenants' PersistentVolumeClaims live."""

    kind: str = "none"  # nfs | none (the admin brings a default StorageClass)
    class_name: str = "kuploy-nfs"
    nfs_server: str = ""
    nfs_path: str = ""


@dataclass(frozen=True)
class Sections:
    """The three sections, parsed."""

    load_balancer: LoadBalancer = LoadBalancer()
    tls: Certificates = Certificates()
    storage: Storage = Storage()


def parse_sections(
    r: Reader,
    root: Mapping[str, Any],
    *,
    cluster_cidrs: Sequence[str],
    addons: Sequence[str],
    host_pattern: str,
) -> Sections:
    """Parse ``load_balancer``, ``tls`` and ``storage`` (each optional) with their checks.

    ``cluster_cidrs`` are the pod and service CIDRs (a pool may not overlap them), ``addons``
    the add-on keys (each section needs the add-on that serves it), ``host_pattern`` the
    ingress host pattern (the wildcard certificate must cover its hosts).
    """
    out = Sections(
        load_balancer=_load_balancer(r, root, cluster_cidrs),
        tls=_certificates(r, root, host_pattern),
        storage=_storage(r, root),
    )
    needs = (
        ("load_balancer", bool(out.load_balancer.addresses), METALLB_ADDON),
        ("tls", out.tls.issuer != "none", CERT_MANAGER_ADDON),
        ("storage", out.storage.kind == "nfs", NFS_ADDON),
    )
    for key, used, addon in needs:
        if used and addon not in addons:
            raise r.fail(
                key,
                f"needs the add-on addons.{addon} (its pinned chart), which is missing",
                hint=f"copy addons.{addon} from a new `kuploy-gitops init`'s kuploy.yaml",
            )
    return out


def _section(r: Reader, root: Mapping[str, Any], key: str, allowed: Sequence[str]) -> Any:
    data = root.get(key)
    if data is None:
        return None
    data = r.mapping(data, key)
    r.known_keys(data, allowed, key)
    return data


def _text(r: Reader, data: Mapping[str, Any], key: str, path: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise r.fail(f"{path}.{key}", f"expected a string, got {value!r}")
    return value


def _choice(r: Reader, value: str, choices: Sequence[str], key: str, what: str) -> str:
    if value not in choices:
        raise r.fail(
            key, f"{value!r} is not a known {what}", hint=f"use one of {', '.join(choices)}"
        )
    return value


def address_block(text: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The first and last address of ``a.b.c.d/n`` or ``a.b.c.d-e.f.g.h`` (ValueError if bad).

    MetalLB takes both spellings; only IPv4 is accepted (the lab LAN, layer 2 announcements).
    """
    if "-" in text:
        first_text, _, last_text = text.partition("-")
        first = ipaddress.ip_address(first_text.strip())
        last = ipaddress.ip_address(last_text.strip())
        if not isinstance(first, ipaddress.IPv4Address) or not isinstance(
            last, ipaddress.IPv4Address
        ):
            raise ValueError("not an IPv4 range")
        if last < first:
            raise ValueError("the range ends before it starts")
        return first, last
    net = ipaddress.ip_network(text.strip())  # strict: host bits must be zero
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError("not an IPv4 CIDR")
    return net[0], net[-1]


def _load_balancer(r: Reader, root: Mapping[str, Any], cidrs: Sequence[str]) -> LoadBalancer:
    data = _section(r, root, "load_balancer", ("addresses", "announce_pool"))
    if data is None:
        return LoadBalancer()
    value = data.get("addresses") or []
    if not isinstance(value, list):
        raise r.fail("load_balancer.addresses", f"expected a list, got {value!r}")
    blocks: list[tuple[str, ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for item in value:
        text = str(item)
        try:
            first, last = address_block(text)
        except ValueError as exc:
            raise r.fail(
                "load_balancer.addresses",
                f"{text!r} is not an IPv4 CIDR or range ({exc})",
                hint="write free addresses of the lab LAN like 192.168.10.240-192.168.10.250 "
                "or 192.168.10.240/28",
            ) from exc
        for cidr in cidrs:
            net = ipaddress.ip_network(cidr)
            if isinstance(net, ipaddress.IPv4Network) and first <= net[-1] and net[0] <= last:
                raise r.fail(
                    "load_balancer.addresses",
                    f"{text!r} overlaps the cluster's {cidr} (cluster.pod_cidr/service_cidr)",
                    hint="pick free addresses of the lab LAN, outside its DHCP range",
                )
        for other, o_first, o_last in blocks:
            if first <= o_last and o_first <= last:
                raise r.fail("load_balancer.addresses", f"{text!r} overlaps {other!r}")
        blocks.append((text, first, last))
    pool = _text(r, data, "announce_pool", "load_balancer", "core")
    if not pool or not LABEL_VALUE.match(pool):
        raise r.fail(
            "load_balancer.announce_pool",
            f"{pool!r} is not a label value (the kuploy.io/pool of the always-on nodes, e.g. core)",
        )
    return LoadBalancer(tuple(b[0] for b in blocks), pool)


def _secret_name(r: Reader, value: str, key: str) -> str:
    if value and not DNS_LABEL.match(value):
        raise r.fail(key, f"{value!r} is not a Secret name", hint="name it like my-dns-token")
    return value


def _certificates(r: Reader, root: Mapping[str, Any], host_pattern: str) -> Certificates:
    allowed = tuple(Certificates().__dict__)
    data = _section(r, root, "tls", allowed)
    if data is None:
        return Certificates()
    values = {k: _text(r, data, k, "tls", str(v)) for k, v in Certificates().__dict__.items()}
    issuer = values["issuer"]
    _choice(r, issuer, ISSUERS, "tls.issuer", "issuer")
    cert = Certificates(**values)
    _secret_name(r, cert.ca_secret, "tls.ca_secret")
    _secret_name(r, cert.dns01_secret, "tls.dns01_secret")
    if issuer in WILDCARD_ISSUERS and not _covered_by_wildcard(host_pattern):
        raise r.fail(
            "ingress.host_pattern",
            f"{host_pattern!r} makes hosts the wildcard certificate *.{{domain}} cannot cover "
            "(it covers one label under the domain)",
            hint="use '{app}-{student}.{domain}', or tls.issuer: http01 (one certificate per "
            "host), or none with your own certificate",
        )
    if issuer in ACME_ISSUERS:
        _acme_account(r, cert)
    if issuer == "dns01":
        _choice(r, cert.dns01_provider, DNS01_PROVIDERS, "tls.dns01_provider", "DNS-01 provider")
        if not cert.dns01_secret:
            raise r.fail(
                "tls.dns01_secret",
                "missing: name the Secret that holds the DNS provider's credential",
                hint="create it in cert-manager's namespace (never in git) and put its name here",
            )
        if cert.dns01_provider == "rfc2136" and not (cert.dns01_nameserver and cert.dns01_tsig_key):
            raise r.fail(
                "tls",
                "dns01_provider rfc2136 needs dns01_nameserver (host:port) and dns01_tsig_key",
            )
    return cert


def _acme_account(r: Reader, cert: Certificates) -> None:
    """The ACME account's email and directory URL (dns01 and http01)."""
    if not _EMAIL.match(cert.acme_email):
        raise r.fail(
            "tls.acme_email",
            f"{cert.acme_email!r} is not an email address (ACME needs one for expiry notices)",
            hint="set the admins' address, e.g. kuploy-admin@example.ac.kr",
        )
    hint = f"use {LETS_ENCRYPT} (or {LETS_ENCRYPT_STAGING} while trying things out)"
    try:
        url = urlsplit(cert.acme_server)
    except ValueError:
        url = urlsplit("")
    if "@" in url.netloc:
        # Never echoed: what comes before the '@' may be a password.
        raise r.fail("tls.acme_server", "holds credentials (user@ or user:password@)", hint=hint)
    if url.scheme != "https" or not url.hostname or url.query or url.fragment:
        raise r.fail(
            "tls.acme_server",
            f"{cert.acme_server!r} is not an https:// URL of an ACME directory",
            hint=hint,
        )


# An app's part of a host when {app} and {student} share a DNS label ({app}-{student}): no '-'.
# Otherwise student "jun" could claim "web-lee-jun" (app "web-lee"), the host of student
# "lee-jun"'s app "web"; without a '-' in the app part the split of every host is unique.
APP_IN_SHARED_LABEL = r"^[a-z0-9]+$"


def app_label_regex(host_pattern: str, dns_label: str) -> str:
    """The grammar of the ``{app}`` part of a host: ``dns_label``, or no '-' in a shared label."""
    (label,) = [part for part in host_pattern.split(".") if "{app}" in part]
    return APP_IN_SHARED_LABEL if "{student}" in label else dns_label


def _covered_by_wildcard(host_pattern: str) -> bool:
    """Whether every host of the pattern is one DNS label under ``{domain}``."""
    head, dot, tail = host_pattern.rpartition(".")
    return bool(dot) and tail == "{domain}" and "." not in head


def _storage(r: Reader, root: Mapping[str, Any]) -> Storage:
    allowed = ("kind", "class", "nfs_server", "nfs_path")
    data = _section(r, root, "storage", allowed)
    if data is None:
        return Storage()
    kind = _choice(
        r, _text(r, data, "kind", "storage", "none"), STORAGE_KINDS, "storage.kind", "storage kind"
    )
    if kind == "none":
        return Storage()
    class_name = _text(r, data, "class", "storage", Storage().class_name)
    if not DNS_LABEL.match(class_name):
        raise r.fail("storage.class", f"{class_name!r} is not a StorageClass name")
    server = _text(r, data, "nfs_server", "storage")
    path = _text(r, data, "nfs_path", "storage")
    if not server or not _HOST.match(server.lower()):
        raise r.fail(
            "storage.nfs_server",
            f"{server!r} is not a host name or IPv4 address",
            hint="the always-on machine (or NAS) exporting the volumes, e.g. 192.168.10.11",
        )
    if not path.startswith("/") or any(c.isspace() or c == "," for c in path):
        raise r.fail(
            "storage.nfs_path",
            f"{path!r} is not an absolute export path",
            hint="the exported folder, e.g. /srv/kuploy-volumes",
        )
    return Storage(kind, class_name, server, path)
