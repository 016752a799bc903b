"""The class timetable on the real API server: its objects are admitted (Pod Security restricted
included), its ServiceAccount may do exactly what cordon, uncordon and drain need, and the
rendered commands, run as that ServiceAccount, cordon and drain a room and hand it back without
undoing an admin's own cordon or evicting past a PodDisruptionBudget.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from apiserver_harness import REPO_ROOT, Cluster, Result, load_all
from rendered import apply_in_waves, rules_review

from kuploy_gitops import config, layout, timetable, timetable_manifests

NAME = layout.TIMETABLE_NAME
SA = f"system:serviceaccount:{NAME}:{NAME}"
SA_GROUPS = ("system:serviceaccounts", f"system:serviceaccounts:{NAME}", "system:authenticated")
ROOM = "b204"
NS = "tt-e2e"
# (API group, resource) -> verbs: timetable_manifests.RULES, spelled out again here.
GRANTED = {
    ("", "nodes"): {"get", "list", "patch"},
    ("", "pods"): {"get", "list"},
    ("", "pods/eviction"): {"create"},
    ("apps", "daemonsets"): {"get"},
}


def example_objects() -> list[dict[str, Any]]:
    """The example tree's rendered timetable (tests/test_example_tree.py keeps it rendered)."""
    return load_all((REPO_ROOT / layout.platform_file("timetable")).read_text())


@pytest.fixture(scope="module")
def applied(cluster: Cluster) -> list[dict[str, Any]]:
    objects = example_objects()
    answers = apply_in_waves(cluster, objects)
    problems = [f"{a.what}:\n{a.stderr}" for a in answers if not a.ok or a.warnings]
    assert not problems, "\n".join(problems)
    return objects


def as_sa(cluster: Cluster, *args: str, timeout: float = 120) -> Result:
    return cluster.kubectl(*args, as_user=SA, as_groups=SA_GROUPS, timeout=timeout)


def test_objects_and_their_pods_are_admitted(
    cluster: Cluster, applied: list[dict[str, Any]]
) -> None:
    cron_jobs = [o for o in applied if o["kind"] == "CronJob"]
    assert {c["spec"]["timeZone"] for c in cron_jobs} == {"Asia/Seoul"}
    assert {c["metadata"]["name"].split("-")[1] for c in cron_jobs} == {"cordon", "uncordon"}
    for cron_job in cron_jobs:
        template = cron_job["spec"]["jobTemplate"]["spec"]["template"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": cron_job["metadata"]["name"], "namespace": NAME},
            "spec": template["spec"],
        }
        r = cluster.create(pod, dry_run=True)  # Pod Security restricted enforced, warned
        assert r.ok and not r.warnings, r.stderr


def test_the_service_account_has_exactly_the_drain_rights(
    cluster: Cluster, applied: list[dict[str, Any]]
) -> None:
    other = ("system:serviceaccounts", "system:serviceaccounts:x", "system:authenticated")
    baseline = rules_review(cluster, "system:serviceaccount:x:unbound", "default", other)
    granted = rules_review(cluster, SA, "default", SA_GROUPS)
    extra = {k: v - baseline.get(k, set()) for k, v in granted.items()}
    assert {k: v for k, v in extra.items() if v} == GRANTED
    assert {(g, r): set(v) for g, r, v in timetable_manifests.RULES} == GRANTED


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("patch", "nodes", True),
        ("list", "pods --all-namespaces", True),
        ("create", "pods --subresource=eviction -n kube-system", True),
        ("delete", "nodes", False),
        ("update", "nodes", False),
        ("patch", "nodes --subresource=status", False),
        ("get", "secrets -n kube-system", False),
        ("list", "secrets --all-namespaces", False),
        ("patch", "pods -n default", False),
        ("delete", "pods -n default", False),
        ("create", "pods -n default", False),
        ("create", "pods --subresource=exec -n default", False),
        ("list", "daemonsets.apps --all-namespaces", False),
        ("delete", "daemonsets.apps -n kube-system", False),
        ("create", "deployments.apps -n default", False),
        ("patch", "poddisruptionbudgets.policy -n default", False),
    ],
)
def test_can_i(
    cluster: Cluster, applied: list[dict[str, Any]], verb: str, resource: str, allowed: bool
) -> None:
    r = as_sa(cluster, "auth", "can-i", verb, *resource.split())
    assert r.stdout.strip() == ("yes" if allowed else "no"), (verb, resource, r.stderr)


def test_the_service_account_may_change_only_cordon_and_its_mark(
    cluster: Cluster, applied: list[dict[str, Any]]
) -> None:
    # RBAC grants patch on nodes; the rendered policy narrows it to what cordon and the mark
    # touch. A lab PC's pool label, its taint or an annotation stay out of reach.
    assert cluster.apply([_node("tt-policy", ROOM)]).ok
    node = ["nodes", "tt-policy"]
    refused = [
        ("label", *node, f"{layout.POOL_LABEL}=core", "--overwrite"),
        ("label", *node, f"{layout.ROOM_LABEL}-"),
        ("taint", *node, "kuploy.io/pool=lab:NoSchedule"),
        ("annotate", *node, "note=x"),
    ]
    cluster.wait_for(  # a new policy takes effect a moment after it is created
        "the node policy to take effect", lambda: not as_sa(cluster, *refused[0]).ok
    )
    for args in refused:
        r = as_sa(cluster, *args)
        assert not r.ok and "class timetable may" in r.stderr, (args, r.stderr)
    for args in (
        ("label", *node, f"{layout.TIMETABLE_CORDONED_LABEL}=true"),
        ("cordon", "tt-policy"),
        ("uncordon", "tt-policy"),
        ("label", *node, f"{layout.TIMETABLE_CORDONED_LABEL}-"),
    ):
        r = as_sa(cluster, *args)
        assert r.ok, (args, r.stderr)
    # The admin is not held by it.
    assert cluster.kubectl("label", *node, f"{layout.POOL_LABEL}=core", "--overwrite").ok
    cluster.kubectl("delete", *node, check=True)


def _node(name: str, room: str, *, cordoned: bool = False, agent: bool = False) -> dict[str, Any]:
    labels = {layout.POOL_LABEL: "lab", layout.ROOM_LABEL: room} | (
        {"tt-agent": "yes"} if agent else {}
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"unschedulable": cordoned},
    }


def _pod(name: str, node: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "spec": {
            "nodeName": node,
            # No kubelet here: a grace period of 0 lets an evicted pod go at once.
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}],
        },
    }


def _firing(action: str) -> timetable.Firing:
    return timetable.Firing(ROOM, action, 0, (0,))


def _run(cluster: Cluster, action: str, *, drain_timeout: str = "5s") -> list[Result]:
    """Run one firing's containers in order as the ServiceAccount, as its Job's pod does."""
    cfg = config.load_config(REPO_ROOT)
    results = []
    for _, argv in timetable_manifests.steps(cfg, _firing(action)):
        assert argv[0] == "kubectl"
        args = [a if not a.startswith("--timeout=") else f"--timeout={drain_timeout}" for a in argv]
        results.append(as_sa(cluster, *args[1:]))
    return results


def _state(cluster: Cluster, node: str) -> tuple[bool, str | None]:
    got = cluster.get("node", node)
    return bool(got["spec"].get("unschedulable")), got["metadata"]["labels"].get(
        layout.TIMETABLE_CORDONED_LABEL
    )


def _pods(cluster: Cluster) -> set[str]:
    return {p["metadata"]["name"] for p in cluster.get("pods", "-n", NS)["items"]}


def test_cordon_drain_and_uncordon_as_the_service_account(
    cluster: Cluster, applied: list[dict[str, Any]]
) -> None:
    nodes = [
        _node("tt-pc1", ROOM, agent=True),
        _node("tt-pc2", ROOM, cordoned=True),  # an admin's own cordon
        _node("tt-other", "b205"),
    ]
    cluster.kubectl("create", "namespace", NS, check=True)
    assert cluster.apply(nodes).ok
    cluster.wait_for("the default ServiceAccount", lambda: cluster.kubectl(
        "get", "serviceaccount", "default", "-n", NS).ok)  # fmt: skip
    # A DaemonSet of tt-pc1 only, whose pod there is made here (no scheduler to place its own).
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {
                    "nodeSelector": {"tt-agent": "yes"},
                    "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}],
                },
            },
        },
    }
    assert cluster.apply([ds]).ok

    def daemon_pod() -> str:
        items = cluster.get("pods", "-n", NS, "-l", "app=agent")["items"]
        return str(items[0]["metadata"]["name"]) if items else ""

    cluster.wait_for("the DaemonSet's pod", daemon_pod)
    agent = daemon_pod()
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": agent, "namespace": NS},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "tt-pc1"},
    }
    assert cluster.create(binding).ok  # as the scheduler would
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "keep", "namespace": NS},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "keep"}}},
    }
    pods = [
        _pod("student-web", "tt-pc1"),
        _pod("kept-by-pdb", "tt-pc1", {"app": "keep"}),
        _pod("elsewhere", "tt-other"),
    ]
    r = cluster.apply([pdb, *pods])
    assert r.ok, r.stderr
    for name in [p["metadata"]["name"] for p in pods] + [agent]:
        # As their kubelet would report: the eviction of a Pending pod skips PDBs.
        running = json.dumps({"status": {"phase": "Running"}})
        cluster.kubectl(
            "patch",
            "pod",
            name,
            "-n",
            NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            running,
            check=True,
        )
    cluster.wait_for("the PDB to be observed", lambda: cluster.get(
        "pdb", "keep", "-n", NS).get("status", {}).get("observedGeneration") == 1)  # fmt: skip

    mark, cordon, drain = _run(cluster, timetable.CORDON)
    assert mark.ok and cordon.ok, mark.stderr + cordon.stderr
    # The PDB's pod cannot go: the drain gives up at its timeout, and says why.
    assert not drain.ok and "disruption budget" in drain.stderr, drain.stderr
    assert _state(cluster, "tt-pc1") == (True, "true")
    assert _state(cluster, "tt-pc2") == (True, None)  # cordoned by hand: not ours to undo
    assert _state(cluster, "tt-other") == (False, None)
    assert _pods(cluster) == {"kept-by-pdb", agent, "elsewhere"}

    again = _run(cluster, timetable.CORDON, drain_timeout="1s")  # a retry changes no ownership
    assert again[0].ok and again[1].ok
    assert _state(cluster, "tt-pc2") == (True, None)

    results = _run(cluster, timetable.UNCORDON)
    assert all(r.ok for r in results), [r.stderr for r in results]
    assert _state(cluster, "tt-pc1") == (False, None)
    assert _state(cluster, "tt-pc2") == (True, None)
    assert _state(cluster, "tt-other") == (False, None)
    # Nothing left to hand back: a second uncordon is a no-op, not a failure.
    assert all(r.ok for r in _run(cluster, timetable.UNCORDON))
