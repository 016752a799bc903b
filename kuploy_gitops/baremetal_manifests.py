"""Builders for what bare metal lacks, as data: MetalLB's pool, cert-manager's issuers, storage.

Pure functions of the platform config (``load_balancer``, ``tls`` and ``storage`` of
kuploy.yaml, parsed by :mod:`.config_platform`); :mod:`.render` dumps each list into one file of
``apps/cluster/platform/``, which the root syncs after the add-on Applications that serve them.
An empty list means the section is off (nothing rendered for it).
"""

from __future__ import annotations

from kuploy_gitops import layout
from kuploy_gitops.config import Addon, PlatformConfig
from kuploy_gitops.config_platform import ACME_SOLVER_IMAGE, CERT_MANAGER_ADDON, METALLB_ADDON
from kuploy_gitops.manifests import Obj

METALLB_API = "metallb.io/v1beta1"
CERT_MANAGER_API = "cert-manager.io/v1"
NFS_PROVISIONER = "nfs.csi.k8s.io"  # csi-driver-nfs's CSIDriver


def acme_solver_image(cfg: PlatformConfig) -> str:
    """The solver image cert-manager runs in tenant namespaces (tls.issuer http01), else ''.

    The pinned chart's version is its tag: tenants' admission lets exactly this one in.
    """
    if not cfg.baremetal.tls.per_host:
        return ""
    return f"{ACME_SOLVER_IMAGE}:{_addon(cfg, CERT_MANAGER_ADDON).version}"


def _addon(cfg: PlatformConfig, name: str) -> Addon:
    """Add-on ``name`` (config checked that it exists when used)."""
    return next(a for a in cfg.addons if a.name == name)


def _addon_namespace(cfg: PlatformConfig, name: str) -> str:
    return _addon(cfg, name).namespace


def _meta(name: str, namespace: str | None, *, crd: bool = True) -> Obj:
    """Metadata of an add-on's object: platform labels and the add-on config wave.

    A custom resource also skips its dry run while its CRD is still being installed by the
    add-on's Application (the sync's retries apply it once the CRD exists).
    """
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {layout.LABEL_MANAGED_BY: layout.MANAGED_BY, layout.LABEL_PART_OF: "kuploy"}
    annotations = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_ADDON_CONFIG}
    if crd:
        annotations[layout.ANNOTATION_SYNC_OPTIONS] = layout.SKIP_DRY_RUN_ON_MISSING
    meta["annotations"] = annotations
    return meta


def load_balancer(cfg: PlatformConfig) -> list[Obj]:
    """MetalLB's address pool and its layer-2 announcement from the always-on nodes only.

    A lab PC that announced an address would take it away with it when switched off (clients
    keep its MAC address until their ARP caches expire); the core machines stay on.
    """
    lb = cfg.baremetal.load_balancer
    if not lb.addresses:
        return []
    ns = _addon_namespace(cfg, METALLB_ADDON)
    pool = {
        "apiVersion": METALLB_API,
        "kind": "IPAddressPool",
        "metadata": _meta(layout.LB_POOL, ns),
        "spec": {"addresses": list(lb.addresses), "autoAssign": True},
    }
    advertisement = {
        "apiVersion": METALLB_API,
        "kind": "L2Advertisement",
        "metadata": _meta(layout.LB_POOL, ns),
        "spec": {
            "ipAddressPools": [layout.LB_POOL],
            "nodeSelectors": [{"matchLabels": {layout.POOL_LABEL: lb.announce_pool}}],
        },
    }
    return [pool, advertisement]


def _issuer_ref(name: str) -> Obj:
    return {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": name}


def _cluster_issuer(name: str, spec: Obj) -> Obj:
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "ClusterIssuer",
        "metadata": _meta(name, None),
        "spec": spec,
    }


def _dns01_solver(cfg: PlatformConfig) -> Obj:
    """The ACME DNS-01 solver: the credential is a Secret referenced by name, never a value."""
    tls = cfg.baremetal.tls
    ref = {"name": tls.dns01_secret, "key": layout.DNS01_SECRET_KEYS[tls.dns01_provider]}
    if tls.dns01_provider == "cloudflare":
        provider: Obj = {"cloudflare": {"apiTokenSecretRef": ref}}
    else:
        provider = {
            "rfc2136": {
                "nameserver": tls.dns01_nameserver,
                "tsigKeyName": tls.dns01_tsig_key,
                "tsigAlgorithm": "HMACSHA256",
                "tsigSecretSecretRef": ref,
            }
        }
    return {"dns01": provider, "selector": {"dnsZones": [cfg.base_domain]}}


def _http01_solver(cfg: PlatformConfig) -> Obj:
    """The ACME HTTP-01 solver, reached through the platform's ingress class.

    cert-manager makes its solver pod, Service and Ingress in the namespace of the app's Ingress.

    The Service is ClusterIP (cert-manager's default, NodePort, is refused in tenant namespaces
    and has no quota) and the pod runs in the tenants' priority class, as their own pods do.
    """
    return {
        "http01": {
            "ingress": {
                "ingressClassName": cfg.ingress_class,
                "serviceType": "ClusterIP",
                "podTemplate": {"spec": {"priorityClassName": layout.TENANT_PRIORITY_CLASS}},
            }
        }
    }


def certificates(cfg: PlatformConfig) -> list[Obj]:
    """The ClusterIssuer and the wildcard Certificate Traefik serves (``ingress.tls_secret``).

    ``ca`` without ``ca_secret``: a self-signed issuer signs a CA certificate (cert-manager's
    namespace, where a ClusterIssuer reads its Secret), and the ``kuploy`` ClusterIssuer signs
    with that CA. ``dns01``: Let's Encrypt, the zone proved through the DNS provider.
    ``http01``: the ACME issuer alone; no wildcard (ACME issues wildcards only through DNS-01):
    each app's Ingress asks for its host's certificate (:mod:`.app_manifests`).
    """
    tls = cfg.baremetal.tls
    if tls.issuer == "none":
        return []
    out: list[Obj] = []
    if tls.issuer == "ca":
        secret = tls.ca_secret or layout.CA_CERTIFICATE
        if not tls.ca_secret:
            out.append(_cluster_issuer(layout.SELF_SIGNED_ISSUER, {"selfSigned": {}}))
            out.append(
                {
                    "apiVersion": CERT_MANAGER_API,
                    "kind": "Certificate",
                    "metadata": _meta(
                        layout.CA_CERTIFICATE, _addon_namespace(cfg, CERT_MANAGER_ADDON)
                    ),
                    "spec": {
                        "isCA": True,
                        "commonName": f"{cfg.cluster_name} kuploy CA",
                        "secretName": layout.CA_CERTIFICATE,
                        "duration": "87600h",  # ten years: browsers trust it once
                        "privateKey": {"algorithm": "ECDSA", "size": 256},
                        "issuerRef": _issuer_ref(layout.SELF_SIGNED_ISSUER),
                    },
                }
            )
        out.append(_cluster_issuer(layout.CLUSTER_ISSUER, {"ca": {"secretName": secret}}))
    else:
        acme = {
            "email": tls.acme_email,
            "server": tls.acme_server,
            "privateKeySecretRef": {"name": layout.ACME_ACCOUNT_SECRET},
            "solvers": [_http01_solver(cfg) if tls.per_host else _dns01_solver(cfg)],
        }
        out.append(_cluster_issuer(layout.CLUSTER_ISSUER, {"acme": acme}))
        if tls.per_host:
            return out
    out.append(
        {
            "apiVersion": CERT_MANAGER_API,
            "kind": "Certificate",
            "metadata": _meta(layout.WILDCARD_CERTIFICATE, cfg.ingress_namespace),
            "spec": {
                "secretName": cfg.tls_secret,
                "dnsNames": [f"*.{cfg.base_domain}"],
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": _issuer_ref(layout.CLUSTER_ISSUER),
            },
        }
    )
    return out


def storage_classes(cfg: PlatformConfig) -> list[Obj]:
    """The default StorageClass: one folder per volume on the NFS export.

    A PVC that names no class gets this one (the API server's DefaultStorageClass admission),
    so a student's claim lands on the NFS server, not on the lab PC its pod happens to run on.
    """
    st = cfg.baremetal.storage
    if st.kind != "nfs":
        return []
    meta = _meta(st.class_name, None, crd=False)
    meta["annotations"]["storageclass.kubernetes.io/is-default-class"] = "true"
    return [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": meta,
            "provisioner": NFS_PROVISIONER,
            "parameters": {
                "server": st.nfs_server,
                "share": st.nfs_path,
                # Named after the claim, so an admin can tell whose folder it is.
                "subDir": "${pvc.metadata.namespace}-${pvc.metadata.name}-${pv.metadata.name}",
            },
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
            "mountOptions": ["nfsvers=4.1", "hard"],
        }
    ]
