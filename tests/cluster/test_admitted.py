"""Proof 1: everything kuploy-gitops renders is admitted by the real API server, without a warning.

The demo platform repo, a repo with several tenants of different tiers and both app modes, and
every scaffolded ``deploy/`` folder are applied as Argo CD syncs them (Namespaces first, then wave
by wave; server-side apply, strict field validation): each batch first with ``--dry-run=server``,
then for real. Any error, and any warning (Pod Security's ``would violate`` included), fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiserver_harness import Cluster
from helpers import isolated_env
from rendered import (
    Applied,
    apply_guards,
    apply_in_waves,
    cli,
    delete_and_wait,
    folder_objects,
    install_addon_crds,
    install_argocd_crds,
    remove_policies,
    repo_objects,
    wait_for_pods,
)
from test_config_platform import ISSUER_VARIANTS

from kuploy_gitops import admission, baremetal_manifests, config, layout, podsecurity, render
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec


def _assert_clean(answers: list[Applied]) -> None:
    problems = [f"{a.what}:\n{a.stderr}" for a in answers if not a.ok or a.warnings]
    assert not problems, "\n".join(problems)
    assert answers, "nothing was applied"


def _assert_admitted(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """Applied without error or warning, and every workload's pods admitted (quota, limits)."""
    _assert_clean(apply_in_waves(cluster, objects))
    wait_for_pods(cluster, objects)


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Iterator[None]:
    install_argocd_crds(cluster)
    addons = config.parse_config(config.default_config_data()).addons
    install_addon_crds(cluster, tuple(a.namespace for a in addons if a.namespace != "kube-system"))
    yield
    # The rendered admission policies stay in force until the module ends.
    remove_policies(cluster)


@pytest.fixture(scope="module")
def multi_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several tenants (tiers, GitHub logins, expiry) with managed and student-repo apps."""
    base = tmp_path_factory.mktemp("multi")
    repo = base / "platform"
    ghcr = "ghcr.io/konkuk-kuploy"
    commands = [
        "onboard choi-yuna --github yuna-c --tier large --course cs201",
        "onboard jung-hoon --tier small --expires 2027-02-28",
        f"app add choi-yuna web --image {ghcr}/web:1.2.3 --port 8080",
        f"app add choi-yuna api --image {ghcr}/api:2.0 --port 3000 --env MODE=prod "
        "--health-path /healthz --replicas 2 --size tiny",
        "app add choi-yuna worker --image docker.io/library/nginx:1.27 --port 80",
        f"app add jung-hoon site --image {ghcr}/site:0.1 --port 5000",
        "db add choi-yuna --instances 2 --version 16 --app web",
    ]
    with isolated_env(base):
        cli("init", str(repo), "--domain", "apps.lab.example.ac.kr")
        for command in commands:
            cli("-C", str(repo), *command.split())
        # Values with YAML's special characters and Hangul must stay plain strings.
        cli("-C", str(repo), "onboard", "han-sol", "--github", "hansol", "--name", "한솔 Han: #1")
        greeting = "GREETING=안녕: {x} # y"
        board = f"app add jung-hoon board --image {ghcr}/board:1 --port 8000 --env".split()
        cli("-C", str(repo), *board, greeting)
        shop = "https://github.com/konkuk-kuploy/han-sol-shop.git"
        cli("-C", str(repo), "app", "add", "han-sol", "shop", "--repo", shop)
        # A sealed secret: the SealedSecret against its CRD, and the Deployment's envFrom.
        from sealing_keys import install_cert

        install_cert(repo)
        cli("-C", str(repo), "secret", "set", "choi-yuna", "api", "API_KEY=k-81Zq", "TOKEN=t-2")
        # After its apps: the database takes what the small tier leaves (2 claims of 2).
        cli("-C", str(repo), "db", "add", "jung-hoon", "shopdb")
    return repo


def test_demo_repo_is_admitted(cluster: Cluster, crds: None, demo_repo: Path) -> None:
    objects = repo_objects(demo_repo)
    # The demo's tenants enforce Pod Security restricted (a new platform's default), and its
    # pods are made there (wait_for_pods): they pass restricted, as the platform's non-root id,
    # in the tenant priority class.
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    assert namespaces
    for ns in namespaces:
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    assert deployments
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        assert pod["priorityClassName"] == layout.TENANT_PRIORITY_CLASS
        assert pod["securityContext"]["runAsUser"] == config.DEFAULT_RUN_AS_USER
    _assert_admitted(cluster, objects)


def test_multi_tenant_repo_is_admitted(cluster: Cluster, crds: None, multi_repo: Path) -> None:
    objects = repo_objects(multi_repo)
    kinds = {o["kind"] for o in objects}
    # Every kind the platform renders is in this repo (so a new kind cannot slip past the proof).
    assert kinds >= {
        "Application",
        "AppProject",
        "ApplicationSet",
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "Ingress",
        "PriorityClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "SealedSecret",
        "Cluster",
        "CronJob",
        "PersistentVolumeClaim",
    }, kinds
    _assert_admitted(cluster, objects)
    _assert_database_pods_admitted(cluster, objects)


def _instance_pod(db: dict[str, Any], n: int) -> dict[str, Any]:
    """The pod CloudNativePG 1.27 makes for instance ``n`` of a Cluster, as admission sees it:
    uid 26, its security contexts (pkg/specs: CreatePodSecurityContext and
    CreateContainerSecurityContext), spec.resources on the bootstrap init container and on
    postgres, the Cluster's priority class, the instance's claim."""
    spec = db["spec"]
    name = f"{db['metadata']['name']}-{n}"
    security = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }

    def container(cname: str, image: str) -> dict[str, Any]:
        return {
            "name": cname,
            "image": image,
            "resources": spec["resources"],
            "securityContext": security,
        }

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": db["metadata"]["namespace"],
            "labels": {"cnpg.io/cluster": db["metadata"]["name"], "cnpg.io/podRole": "instance"},
        },
        "spec": {
            "priorityClassName": spec["priorityClassName"],
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 26,
                "runAsGroup": 26,
                "fsGroup": 26,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "initContainers": [
                container("bootstrap-controller", "ghcr.io/cloudnative-pg/cloudnative-pg:1.27.0")
            ],
            "containers": [container("postgres", spec["imageName"])],
            "volumes": [{"name": "pgdata", "persistentVolumeClaim": {"claimName": name}}],
        },
    }


def _instance_claim(db: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": f"{db['metadata']['name']}-{n}",
            "namespace": db["metadata"]["namespace"],
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": db["spec"]["storage"]["storageClass"],
            "resources": {"requests": {"storage": db["spec"]["storage"]["size"]}},
        },
    }


def _operator_objects(db: dict[str, Any], suffix: str = "") -> list[dict[str, Any]]:
    """The Services and Secrets the operator makes for a Cluster (db_spec.OPERATOR_OBJECTS;
    the Secrets empty here), and its monitoring ConfigMap."""
    name, ns = db["metadata"]["name"], db["metadata"]["namespace"]

    def meta(n: str) -> dict[str, str]:
        return {"name": f"{n}{suffix}", "namespace": ns}

    services = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(f"{name}-{role}"),
            "spec": {
                "selector": {"cnpg.io/cluster": name},
                "ports": [{"name": "postgres", "port": 5432, "targetPort": 5432}],
            },
        }
        for role in ("rw", "ro", "r")
    ]
    secrets = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta(f"{name}-{kind}")}
        for kind in ("app", "ca", "server", "replication")
    ]
    monitoring = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(f"cnpg-default-monitoring-{name}"),
    }
    return [*services, *secrets, monitoring]


def _assert_database_pods_admitted(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """What the operator and the CronJob would make of each rendered database is admitted in
    its namespace, on top of the tenant's apps (Pod Security restricted, LimitRange, quota):
    every instance's claim and pod, the operator's Services and Secrets, and a backup run's pod;
    one claim or Service more is refused."""
    made: list[dict[str, Any]] = []
    dbs = [o for o in objects if o["kind"] == "Cluster"]
    assert len(dbs) == 2
    for db in dbs:
        ns = db["metadata"]["namespace"]
        for n in range(1, db["spec"]["instances"] + 1):
            made += [_instance_claim(db, n), _instance_pod(db, n)]
        made += _operator_objects(db)
        job = next(
            o for o in objects if o["kind"] == "CronJob" and o["metadata"]["namespace"] == ns
        )
        template = job["spec"]["jobTemplate"]["spec"]["template"]
        made.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{job['metadata']['name']}-run", "namespace": ns},
                "spec": template["spec"],
            }
        )
    for obj in made:
        r = cluster.create(obj)
        assert r.ok and not r.warnings, f"{obj['kind']} {obj['metadata']['name']}: {r.stderr}"
    # The small tier's two claims are taken (instance and backup), and its five Services (two
    # apps', the operator's three): the quota counts them, as db add did.
    small = next(d for d in dbs if d["metadata"]["namespace"] == "jung-hoon")
    for extra in (_instance_claim(small, 9), _operator_objects(small, "x")[0]):
        refused = cluster.create(extra)
        assert not refused.ok and "exceeded quota" in refused.stderr, refused.stderr
    for obj in made:
        kind = obj["kind"].lower()
        ns = obj["metadata"]["namespace"]
        cluster.kubectl("delete", kind, obj["metadata"]["name"], "-n", ns, "--wait=false")


@pytest.mark.parametrize(
    "options",
    [
        (),
        # Stacks: Django's probes send a Host header, Spring's add a startupProbe.
        ("--public", "--stack", "django"),
        ("--private", "--stack", "node", "--size", "tiny", "--replicas", "2"),
        ("--size", "medium", "--stack", "spring", "--health-path", "/healthz"),
    ],
    ids=["default", "public-django", "private-node-tiny-2", "medium-spring"],
)
def test_scaffolded_deploy_folder_is_admitted(
    cluster: Cluster, crds: None, multi_repo: Path, tmp_path: Path, options: tuple[str, ...]
) -> None:
    # The tenant must exist (its namespace, quota and limits decide admission of its pods).
    tenant = folder_objects(multi_repo / "apps" / "cluster" / "tenants" / "han-sol")
    # And the PriorityClass its pods name (the Priority admission refuses a missing one).
    platform = folder_objects(multi_repo / "apps" / "cluster" / "platform")
    priority = [o for o in platform if o["kind"] == "PriorityClass"]
    _assert_clean(apply_in_waves(cluster, priority + tenant))
    app = "shop" if not options else f"app{len(options)}"
    out = tmp_path / "student-repo"
    cli("-C", str(multi_repo), "scaffold", "han-sol", app, "--out", str(out), *options)
    objects: list[dict[str, Any]] = folder_objects(out / "deploy")
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "Ingress"}
    for o in objects:
        assert o["metadata"].get("namespace", "han-sol") == "han-sol", o["metadata"]
    try:
        _assert_admitted(cluster, objects)
    finally:
        # Each scaffold is judged against the tenant's whole quota, not what the last one left.
        delete_and_wait(cluster, objects)


def test_platform_addon_resources_are_admitted_and_pvcs_get_the_default_class(
    cluster: Cluster, crds: None, demo_repo: Path
) -> None:
    """MetalLB's pool, cert-manager's issuers and certificates, the StorageClass: admitted with
    the vendored CRDs; then a tenant's claim without a class gets the platform's NFS class."""
    platform = folder_objects(demo_repo / "apps" / "cluster" / "platform")
    kinds = {"IPAddressPool", "L2Advertisement", "ClusterIssuer", "Certificate", "StorageClass"}
    objects = [o for o in platform if o["kind"] in kinds]
    assert {o["kind"] for o in objects} == kinds
    _assert_clean(apply_in_waves(cluster, objects))
    # A strict server-side dry run of a misspelt field is refused: the CRDs judge the objects.
    pool = next(o for o in objects if o["kind"] == "IPAddressPool")
    bad = {**pool, "spec": {**pool["spec"], "adresses": ["10.0.0.1/32"]}}
    assert not cluster.apply([bad], dry_run=True).ok
    student = "kim-minji"
    tenant = folder_objects(demo_repo / "apps" / "cluster" / "tenants" / student)
    _assert_clean(apply_in_waves(cluster, [o for o in tenant if o["kind"] == "Namespace"]))
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": student},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    r = cluster.create(claim)
    assert r.ok, r.stderr
    got = cluster.get("pvc", "data", "-n", student)
    (sc,) = [o for o in objects if o["kind"] == "StorageClass"]
    assert got["spec"]["storageClassName"] == sc["metadata"]["name"] == "kuploy-nfs"
    cluster.kubectl("delete", "pvc", "data", "-n", student, check=True)


def test_object_storage_backups_are_admitted(cluster: Cluster, crds: None) -> None:
    """kuploy.yaml's databases.backup: s3: the Cluster's barmanObjectStore section and the
    ScheduledBackup are admitted by the vendored CRDs (strict), with the database's policy."""
    from kuploy_gitops import db_manifests, netpol
    from kuploy_gitops.db_spec import DatabaseSpec
    from kuploy_gitops.tenant_spec import TenantSpec

    data = config.default_config_data()
    data["databases"] = {
        "backup": "s3",
        "s3_endpoint": "https://s3.lab.example.ac.kr:9000",
        "s3_bucket": "kuploy-db",
        "s3_cidrs": ["192.0.2.10/32"],
    }
    cfg = config.parse_config(data)
    db = DatabaseSpec(name="db", instances=2)
    spec = TenantSpec(student="s3-backup", tier="small", databases=(db,))
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": spec.student}},
        *db_manifests.database_objects(cfg, spec, db),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": netpol.database_policy_name("db"), "namespace": spec.student},
            "spec": netpol.database_policy(cfg, db),
        },
    ]
    assert {o["kind"] for o in objects} >= {"Cluster", "ScheduledBackup", "NetworkPolicy"}
    _assert_clean(apply_in_waves(cluster, objects))


@pytest.mark.parametrize("variant", sorted(ISSUER_VARIANTS))
def test_every_issuer_variant_is_admitted(cluster: Cluster, crds: None, variant: str) -> None:
    """Each tls.issuer (each dns01 provider) renders issuers and certificates the API server
    admits with cert-manager's CRDs, strictly and without a warning."""
    data = config.default_config_data()
    data["tls"] = {**data["tls"], **ISSUER_VARIANTS[variant]}
    objects = baremetal_manifests.certificates(config.parse_config(data))
    assert any(o["kind"] == "ClusterIssuer" for o in objects)
    try:
        _assert_clean(apply_in_waves(cluster, objects))
    finally:
        delete_and_wait(cluster, objects)


def _solver_objects(issuer: dict[str, Any], namespace: str, host: str) -> list[dict[str, Any]]:
    """What cert-manager v1.21.1 makes in the Ingress's namespace for one HTTP-01 challenge
    (pkg/issuer/acme/http: pod.go, service.go, ingress.go), with the rendered solver's
    settings merged in as cert-manager merges them."""
    solver = issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]
    labels = {
        "acme.cert-manager.io/http-domain": "1234567",
        "acme.cert-manager.io/http-token": "7654321",
        "acme.cert-manager.io/http01-solver": "true",
    }
    meta = {"name": "cm-acme-http-solver-abcde", "namespace": namespace, "labels": labels}
    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "restartPolicy": "OnFailure",
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "acmesolver",
                "image": baremetal_manifests.acme_solver_image(config.parse_config(_http01_data())),
                "imagePullPolicy": "IfNotPresent",
                "args": ["--listen-port=8089", f"--domain={host}", "--token=t0k", "--key=k3y"],
                "resources": {
                    "requests": {"cpu": "10m", "memory": "64Mi"},
                    "limits": {"cpu": "100m", "memory": "64Mi"},
                },
                "ports": [{"name": "http", "containerPort": 8089}],
                "securityContext": {
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }
    pod_spec.update(solver["podTemplate"]["spec"])
    annotations = {
        "sidecar.istio.io/inject": "false",
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
    }
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "annotations": annotations}}
    pod["spec"] = pod_spec
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {**meta, "annotations": {"auth.istio.io/8089": "NONE"}},
        "spec": {
            "type": solver["serviceType"],
            "ports": [{"name": "http", "port": 8089, "targetPort": 8089}],
            "selector": labels,
        },
    }
    path = {
        "path": "/.well-known/acme-challenge/t0k",
        "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": meta["name"], "port": {"number": 8089}}},
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            **meta,
            "annotations": {"nginx.ingress.kubernetes.io/whitelist-source-range": "0.0.0.0/0,::/0"},
        },
        "spec": {
            "ingressClassName": solver["ingressClassName"],
            "rules": [{"host": host, "http": {"paths": [path]}}],
        },
    }
    return [pod, service, ingress]


def _with_annotations(ingress: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    """The app's Ingress under another name, with these annotations instead of its own."""
    return {
        **ingress,
        "metadata": {**ingress["metadata"], "name": "mine", "annotations": annotations},
    }


def _http01_data() -> dict[str, Any]:
    data = config.default_config_data()
    data["tls"] = {**data["tls"], **ISSUER_VARIANTS["http01"]}
    return data


def test_http01_tenant_path_is_admitted(cluster: Cluster, crds: None, tmp_path: Path) -> None:
    """tls.issuer http01 end to end, as far as an API server goes: the platform's policies and
    issuer and a tenant's app (its Ingress naming the issuer and its own TLS Secret) are
    admitted; so are the Certificate cert-manager's ingress-shim makes of it and the solver pod,
    Service and Ingress cert-manager runs in the tenant's namespace (Pod Security restricted,
    quota, LimitRange, the tenant's admission policies); other cert-manager annotations, a
    NodePort solver Service and another solver image are refused.

    Last in this module: it leaves its platform's admission policies in force until the
    module's teardown removes them.
    """
    cfg = config.parse_config(_http01_data())
    student = "kim-tls"
    web = AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/w:1", port=8080)
    spec = TenantSpec(student=student, tier="small", apps=(web,))
    tenant = render.render_tenant_objects(cfg, spec)
    for path, (text, _) in tenant.items():  # the guards, read back as rendered
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    apply_guards(cluster, tmp_path, student)
    (issuer,) = baremetal_manifests.certificates(cfg)  # no wildcard Certificate
    platform = [*admission.admission_policies(cfg), podsecurity.tenant_priority_class(), issuer]
    objects = [o for _, objs in tenant.values() for o in objs or [] if o["kind"] != "Kustomization"]
    (app_ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    assert app_ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "kuploy"}
    # Policies of other platforms (other domains) may be in force: only this one's, and only
    # once it takes effect (a moment after it is applied) do the tenant's objects go in.
    remove_policies(cluster)
    _assert_clean(apply_in_waves(cluster, platform))
    probe = _with_annotations(app_ingress, {"cert-manager.io/cluster-issuer": "kuploy-selfsigned"})
    cluster.wait_for(
        "the http01 platform's ingress policy to take effect",
        lambda: "no cert-manager.io/ annotation but" in cluster.create(probe, dry_run=True).stderr,
    )
    _assert_clean(apply_in_waves(cluster, objects))

    host = app_ingress["spec"]["rules"][0]["host"]
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web-tls", "namespace": student},
        "spec": {
            "dnsNames": [host],
            "secretName": "web-tls",
            "issuerRef": {"name": "kuploy", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "usages": ["digital signature", "key encipherment"],
        },
    }
    for obj in [certificate, *_solver_objects(issuer, student, host)]:
        r = cluster.create(obj)
        assert r.ok and not r.warnings, f"{obj['kind']}: {r.stderr}"

    # cert-manager's default Service type, NodePort, is the platform's only: hence ClusterIP.
    pod, service, ingress = _solver_objects(issuer, student, host)
    nodeport = {**service, "metadata": {**service["metadata"], "name": "np"}}
    nodeport["spec"] = {**service["spec"], "type": "NodePort"}
    # A solver image of another version is not the platform's.
    other = {**pod, "metadata": {**pod["metadata"], "name": "other"}}
    other["spec"] = {**pod["spec"], "containers": [dict(pod["spec"]["containers"][0])]}
    other["spec"]["containers"][0]["image"] = "quay.io/jetstack/cert-manager-acmesolver:v1.0.0"
    refused = [(nodeport, "kuploy-tenant-services"), (other, "kuploy-tenant-images")]
    for asked in (
        {"cert-manager.io/cluster-issuer": "kuploy-selfsigned"},
        {"cert-manager.io/cluster-issuer": "kuploy", "cert-manager.io/common-name": "argocd.x"},
        {"cert-manager.io/issuer": "kuploy", "cert-manager.io/issuer-kind": "ClusterIssuer"},
    ):
        refused.append((_with_annotations(app_ingress, asked), "kuploy-tenant-ingresses"))
    for obj, policy in refused:
        # Each policy compiles on its own schedule: wait until it bites (it times out if never).
        cluster.wait_for(
            f"{policy} to take effect",
            lambda obj=obj, policy=policy: policy in cluster.create(obj, dry_run=True).stderr,
        )
        r = cluster.create(obj, dry_run=True)
        assert not r.ok and policy in r.stderr, f"{obj['kind']} not refused by {policy}: {r.stderr}"
    delete_and_wait(cluster, [certificate, pod, service, ingress])
