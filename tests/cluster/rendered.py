"""Platform repos and scaffolds as the API server tier applies them: objects in sync-wave order."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiserver_harness import REPO_ROOT, Cluster, dump_all, kubectl_binary, load_all
from click.testing import CliRunner

from kuploy_gitops import layout
from kuploy_gitops.cli import main

ARGOCD_CRDS = REPO_ROOT / "tests" / "data" / "argocd"


def cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
    """Run the real CLI as an admin would; fail loudly on another exit.

    In this process (click's runner): a process of its own costs half a second of imports for
    each of the tier's dozens of commands, and proves nothing here that tests/test_cli.py and
    the README's demo do not prove already.
    """
    result = CliRunner().invoke(main, list(args), prog_name="kuploy-gitops", catch_exceptions=False)
    if result.exit_code not in ok:
        raise AssertionError(
            f"kuploy-gitops {' '.join(args)} -> {result.exit_code}\n{result.output}"
        )
    return result.stdout


def kustomize(folder: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [kubectl_binary(), "kustomize", str(folder)], capture_output=True, text=True, check=True
    )
    return load_all(proc.stdout)


def folder_objects(folder: Path) -> list[dict[str, Any]]:
    """What Argo CD would apply from a folder: its kustomize build, or its YAML files."""
    if (folder / "kustomization.yaml").is_file():
        return kustomize(folder)
    out: list[dict[str, Any]] = []
    for f in sorted(folder.glob("*.yaml")):
        out += load_all(f.read_text())
    return out


def repo_objects(repo: Path) -> list[dict[str, Any]]:
    """Every object of a platform repo's apps/ tree (the root, the platform, tenants, workloads)."""
    apps = repo / "apps"
    objects = load_all((apps / "root.yaml").read_text())
    objects += folder_objects(apps / "cluster" / "platform")
    for tenant in sorted(p for p in (apps / "cluster" / "tenants").iterdir() if p.is_dir()):
        objects += folder_objects(tenant)
    workloads = apps / "workloads"
    if workloads.is_dir():
        for student in sorted(p for p in workloads.iterdir() if p.is_dir()):
            for app in sorted(p for p in student.iterdir() if p.is_dir()):
                objects += folder_objects(app)
    return objects


def wave(obj: dict[str, Any]) -> int:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return int(annotations.get("argocd.argoproj.io/sync-wave", "0"))


@dataclass
class Applied:
    """One kubectl answer for a batch of objects (dry run or real)."""

    what: str
    stderr: str
    warnings: list[str]
    ok: bool


def apply_in_waves(cluster: Cluster, objects: list[dict[str, Any]]) -> list[Applied]:
    """Apply as Argo CD syncs: Namespaces first, then wave by wave; each batch dry-run, then real.

    Returns every answer (a failed batch stops the run: later waves depend on it).
    """
    answers: list[Applied] = []
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    rest = [o for o in objects if o["kind"] != "Namespace"]
    batches = [("Namespaces", namespaces)]
    for w in sorted({wave(o) for o in rest}):
        batches.append((f"wave {w}", [o for o in rest if wave(o) == w]))
    for name, batch in batches:
        if not batch:
            continue
        for dry_run in (True, False):
            r = cluster.apply(batch, dry_run=dry_run)
            label = f"{name} ({'--dry-run=server' if dry_run else 'applied'})"
            answers.append(Applied(label, r.stderr, r.warnings, r.ok))
            if not r.ok:
                return answers
    return answers


def install_argocd_crds(cluster: Cluster) -> None:
    """Argo CD's CRDs (the upstream files in tests/data/argocd) and its namespace."""
    crds = []
    for name in ("application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"):
        crds += load_all((ARGOCD_CRDS / name).read_text())
    cluster.install_crds(crds)
    r = cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}])
    assert r.ok, r.stderr


ADDON_CRDS = {
    "metallb": ("metallb.io_ipaddresspools.yaml", "metallb.io_l2advertisements.yaml"),
    "cert-manager": ("cert-manager.io_clusterissuers.yaml", "cert-manager.io_certificates.yaml"),
    "sealed-secrets": ("bitnami.com_sealedsecrets.yaml",),
    "cloudnative-pg": (
        "postgresql.cnpg.io_clusters.yaml",
        "postgresql.cnpg.io_scheduledbackups.yaml",
    ),
}


def install_addon_crds(cluster: Cluster, namespaces: tuple[str, ...]) -> None:
    """The vendored CRDs of the add-ons whose resources the platform renders (tests/data), and
    the add-ons' namespaces (their Applications create them with CreateNamespace)."""
    crds = []
    for folder, names in ADDON_CRDS.items():
        for name in names:
            crds += load_all((REPO_ROOT / "tests" / "data" / folder / name).read_text())
    cluster.install_crds(crds)
    r = cluster.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
    )
    assert r.ok, r.stderr


def remove_policies(cluster: Cluster) -> None:
    """Delete the rendered admission policies and bindings: later tests on this server (quota,
    schemas) judge objects without them."""
    for kind in ("validatingadmissionpolicybinding", "validatingadmissionpolicy"):
        cluster.kubectl("delete", kind, "-l", "app.kubernetes.io/part-of=kuploy", check=True)


def guards(repo: Path, student: str) -> list[dict[str, Any]]:
    """The tenant's Namespace, ResourceQuotas and LimitRange exactly as rendered."""
    folder = repo / layout.tenant_dir(student)
    return [
        obj
        for name in (
            "namespace.yaml",
            "resourcequota.yaml",
            "priorityquota.yaml",
            "limitrange.yaml",
        )
        for obj in load_all((folder / name).read_text())
    ]


def apply_guards(cluster: Cluster, repo: Path, student: str) -> None:
    """The Namespace, then its quotas and LimitRange (Argo CD's sync waves -30, then -20).

    Returns once the quota controller has filled in every quota's status: until then admission
    refuses every pod of the namespace.
    """
    ns = layout.namespace_name(student)
    namespace, *rest = guards(repo, student)
    result = cluster.apply([namespace])
    assert result.ok, result.stderr
    # The namespace's kube-root-ca.crt counts against the configmaps quota. Made before the
    # quota, it is counted by the quota controller's first sync; made while the controller's
    # first sync runs, it could be missed until the next full resync (minutes).
    cluster.wait_for(
        f"kube-root-ca.crt in {ns}",
        lambda: cluster.kubectl("get", "configmap", "kube-root-ca.crt", "-n", ns).ok,
    )
    result = cluster.apply(rest)
    assert result.ok, result.stderr

    want = sum(1 for o in rest if o["kind"] == "ResourceQuota")

    def ready() -> bool:
        quotas = cluster.get("resourcequota", "-n", ns).get("items", [])
        return len(quotas) == want and all(_quota_ready(q.get("status", {})) for q in quotas)

    cluster.wait_for(f"the quota status of {ns}", ready, timeout=60)


def _quota_ready(status: dict[str, Any]) -> bool:
    hard, used = status.get("hard", {}), status.get("used", {})
    return bool(hard) and ("configmaps" not in hard or used.get("configmaps") == "1")


def restricted_pod(name: str, namespace: str) -> dict[str, Any]:
    """A pod that passes Pod Security restricted and states the limits a quota requires."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "app",
                    "image": "ghcr.io/konkuk-kuploy/app:1.0",
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                    },
                }
            ],
        },
    }


def _deployment_state(cluster: Cluster, namespace: str, name: str) -> tuple[bool, str]:
    """(settled, failure message): settled when every replica's pod exists or creation failed."""
    d = cluster.get("deployment", name, "-n", namespace)
    for c in d.get("status", {}).get("conditions") or []:
        if c["type"] == "ReplicaFailure" and c["status"] == "True":
            return True, c.get("message", c.get("reason", ""))
    want = d["spec"].get("replicas", 1)
    return d.get("status", {}).get("replicas", 0) == want, ""


def wait_for_pods(cluster: Cluster, objects: list[dict[str, Any]], timeout: float = 90) -> None:
    """Wait until the controllers made every Deployment's pods; fail on a refused pod.

    The API server admits a Deployment without looking at quota or LimitRange: those judge the
    pods its ReplicaSet creates (there is no scheduler or kubelet here, so they stay Pending).
    """
    failures = []
    for o in objects:
        if o["kind"] != "Deployment":
            continue
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        state: dict[str, str] = {}

        def settled(ns: str = ns, name: str = name, state: dict[str, str] = state) -> bool:
            done, state["failure"] = _deployment_state(cluster, ns, name)
            return done

        cluster.wait_for(f"the pods of Deployment {ns}/{name}", settled, timeout=timeout)
        if state["failure"]:
            failures.append(f"{ns}/{name}: {state['failure']}")
    assert not failures, "\n".join(failures)


def delete_and_wait(cluster: Cluster, objects: list[dict[str, Any]]) -> None:
    """Delete the objects, and wait until their workloads' pods are gone (quota usage back).

    Only those pods: other tests on this server may have left workloads of their own in the
    same namespace.
    """
    cluster.kubectl("delete", "--ignore-not-found", "--wait", "-f", "-", stdin=dump_all(objects))
    for o in objects:
        labels = ((o.get("spec") or {}).get("selector") or {}).get("matchLabels")
        ns = o["metadata"].get("namespace")
        if not labels or not ns:
            continue
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        cluster.wait_for(
            f"the pods of {o['kind']} {ns}/{o['metadata']['name']} to be gone",
            lambda ns=ns, selector=selector: (
                not cluster.get("pods", "-n", ns, "-l", selector)["items"]
            ),
        )


def rules_review(
    cluster: Cluster, user: str, namespace: str, groups: tuple[str, ...] = ()
) -> dict[tuple[str, str], set[str]]:
    """What the server says ``user`` may do in ``namespace`` (a SelfSubjectRulesReview)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    # --validate=false: kubectl's own schema check would list CRDs, which the student may not.
    r = cluster.kubectl(
        "create",
        "--validate=false",
        "-o",
        "json",
        "-f",
        "-",
        stdin=dump_all([review]),
        as_user=user,
        as_groups=groups,
    )
    assert r.ok, r.stderr
    status = json.loads(r.stdout)["status"]
    assert not status.get("incomplete"), status
    out: dict[tuple[str, str], set[str]] = {}
    for rule in status["resourceRules"]:
        assert not rule.get("resourceNames"), rule
        for g in rule["apiGroups"]:
            for res in rule["resources"]:
                out.setdefault((g, res), set()).update(rule["verbs"])
    return out
