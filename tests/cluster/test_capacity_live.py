"""`capacity --kubeconfig`: the live read of Node objects from the real API server.

Nodes with labels, taints, a cordon and allocatable (set through the status subresource, as a
kubelet does) are created in the test server; `capacity` reads them with a kubeconfig written
for it and places them as the scheduler would for tenants.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver_harness import Cluster
from click.testing import CliRunner

from kuploy_gitops import cli, config, layout, yamlio
from kuploy_gitops.tenant_spec import TenantSpec, dump_spec

POOL = "captest"  # a pool of its own: nodes other tests leave on this server never count
TAINT = {"key": layout.POOL_LABEL, "value": POOL, "effect": "NoSchedule"}
NODES: dict[str, dict[str, Any]] = {
    "cap-r1-a": {"room": "cap-r1", "cpu": "4", "memory": "8Gi"},
    "cap-r1-b": {"room": "cap-r1", "cpu": "4", "memory": "8Gi"},
    "cap-r2-a": {"room": "cap-r2", "cpu": "2", "memory": "4Gi"},
    "cap-r2-off": {"room": "cap-r2", "cpu": "2", "memory": "4Gi", "unschedulable": True},
    "cap-r2-gpu": {"room": "cap-r2", "cpu": "8", "memory": "32Gi",
                   "taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]},
}  # fmt: skip


def _node(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {layout.POOL_LABEL: POOL, layout.ROOM_LABEL: spec["room"]},
        },
        "spec": {"unschedulable": spec.get("unschedulable", False)},
    }


def _status(spec: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    size = {"cpu": spec["cpu"], "memory": spec["memory"], "ephemeral-storage": "50Gi"}
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "lastHeartbeatTime": now, "lastTransitionTime": now}  # fmt: skip
    return {"status": {"capacity": size, "allocatable": size, "conditions": [ready]}}


@pytest.fixture(scope="module")
def nodes(cluster: Cluster) -> Iterator[None]:
    client = cluster.rest.client
    merge = {"Content-Type": "application/merge-patch+json"}
    for name, spec in NODES.items():
        assert cluster.create(_node(name, spec)).ok
        # allocatable is status: the main resource ignores it, as it does for a kubelet
        reply = client.patch(f"/api/v1/nodes/{name}/status", content=json.dumps(_status(spec)),
                             headers=merge)  # fmt: skip
        assert reply.status_code == 200, reply.text
        # The lab pool's taint (tolerated by tenants) and any other; this replaces the
        # not-ready taint that admission gives a new node until a kubelet reports Ready.
        taints = [TAINT, *spec.get("taints", [])]
        body = json.dumps({"spec": {"taints": taints}})
        reply = client.patch(f"/api/v1/nodes/{name}", content=body, headers=merge)
        assert reply.status_code == 200, reply.text

    def settled() -> bool:
        # No condition taint (not-ready, unreachable) left: the controller saw them Ready.
        got = {n["metadata"]["name"]: n for n in cluster.get("nodes")["items"]}
        return not any(
            t["key"] != "node.kubernetes.io/unschedulable"
            for name in NODES
            for t in got[name]["spec"].get("taints", [])
            if t["key"].startswith("node.kubernetes.io/")
        )

    cluster.wait_for("the test nodes' taints to settle", settled, timeout=30)
    yield
    for name in NODES:
        cluster.kubectl("delete", "node", name, "--wait=false")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("capacity-live")
    data = config.default_config_data()
    data["cluster"]["tenant_pool"] = POOL
    data["timetable"]["rooms"] = {
        "cap-r1": {"slots": [{"day": "thu", "start": "13:00", "end": "15:00"}]}
    }
    (path / layout.CONFIG_FILE).write_text(yamlio.dump(data))
    (path / layout.TENANTS_DIR).mkdir()
    for student in ("kim-minji", "lee-jun"):  # small: requests 1 cpu and 1Gi each
        (path / layout.tenant_spec(student)).write_text(dump_spec(TenantSpec(student, "small")))
    return path


def kubeconfig(cluster: Cluster, path: Path, token: str | None = None) -> Path:
    """A kubeconfig of our own for the harness's server: its CA and token, a second context."""
    harness = yaml.safe_load(cluster.kubeconfig.read_text())
    cluster_entry = harness["clusters"][0]["cluster"]
    user = {"token": token or harness["users"][0]["user"]["token"]}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "elsewhere",
                "clusters": [
                    {"name": "lab", "cluster": cluster_entry},
                    {"name": "gone", "cluster": {"server": "https://127.0.0.1:1"}},
                ],
                "users": [{"name": "admin", "user": user}],
                "contexts": [
                    {"name": "lab", "context": {"cluster": "lab", "user": "admin"}},
                    {"name": "elsewhere", "context": {"cluster": "gone", "user": "admin"}},
                ],
            }
        )
    )
    return path


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli.main, ["-C", str(repo), "capacity", *args], env={"NO_COLOR": "1"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_capacity_reads_the_live_nodes(
    cluster: Cluster, nodes: None, repo: Path, tmp_path: Path
) -> None:
    config_file = kubeconfig(cluster, tmp_path / "kubeconfig")
    code, out, err = run(repo, "--kubeconfig", str(config_file), "--context", "lab",
                         "--at", "2026-12-03 14:00", "-o", "json")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["source"] == f"cluster {cluster.server.rstrip('/')}"
    groups = {g["group"]: g for g in report["groups"] if g["pool"] == POOL}
    assert (groups["cap-r1"]["nodes"], groups["cap-r1"]["tenant_nodes"]) == (2, 2)
    assert groups["cap-r2"]["excluded"] == {"cordoned": 1, "taint gpu": 1}
    assert groups["cap-r2"]["allocatable"]["cpu"] == 2 + 2 + 8  # all of the room's nodes
    # Thursday 14:00 in Seoul: cap-r1 is in class; cap-r2-a (2 cores, 4Gi) is all tenants have.
    now, worst = report["now"], report["worst"]
    assert now["taken"] == ["cap-r1"] and now["nodes"] == 1
    assert now["allocatable"]["cpu"] == 2 and now["headroom"]["cpu"] == 0
    assert now["fits"]["small"] == {"count": 0, "binding": "cpu", "exact": 0.0}
    assert (worst["from"], worst["until"]) == ("thu 12:45", "thu 15:00")
    # The rest of the week: 4 + 4 + 2 = 10 cores, 20Gi, 2 requested -> 8 more small tenants.
    free = next(s for s in report["week"] if not s["taken"])
    assert free["allocatable"]["cpu"] == 10 and free["fits"]["small"] == 8


def test_a_refused_token_is_one_line(
    cluster: Cluster, nodes: None, repo: Path, tmp_path: Path
) -> None:
    config_file = kubeconfig(cluster, tmp_path / "kubeconfig", token="not-a-t0ken")
    code, out, err = run(repo, "--kubeconfig", str(config_file), "--context", "lab")
    assert code == 4 and out == "" and len(err.splitlines()) == 1, err
    assert f"{cluster.server.rstrip('/')} answered 401 to GET /api/v1/nodes" in err
    assert "not-a-t0ken" not in err
