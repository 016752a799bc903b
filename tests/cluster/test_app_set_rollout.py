"""`app set` on the real API server: the Deployment is updated in place and rolls out.

What `app set` renders is applied over what `app add` rendered, as Argo CD's sync does: the API
server takes it as an update of the same object (an apps/v1 selector is immutable, so a changed
one would be refused), and the controller-manager starts a rolling update: a new ReplicaSet whose
surge pod the tenant's quota and LimitRange admit, while the old ReplicaSet keeps its pods (no
kubelet here makes the new pod ready, so the old ones are never taken down: no downtime).

Slow tier: a tenant's guards and a rollout cost about ten seconds on a running server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiserver_harness import Cluster
from rendered import apply_guards, delete_and_wait, folder_objects, wait_for_pods

from kuploy_gitops import api, layout

pytestmark = pytest.mark.slow

STUDENT = "roll-kim"  # a namespace of its own on the shared server


def replica_sets(cluster: Cluster, ns: str, uid: str) -> list[dict[str, Any]]:
    items = cluster.get("replicaset", "-n", ns)["items"]
    return [
        rs
        for rs in items
        if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences", []))
    ]


def test_app_set_rolls_the_deployment_in_place(cluster: Cluster, tmp_path: Path) -> None:
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    api.onboard(repo, api.OnboardOptions(student=STUDENT))
    image = "ghcr.io/konkuk-kuploy/web"
    api.app_add(
        repo,
        api.AppOptions(student=STUDENT, app="web", image=f"{image}:1.0", port=8080, replicas=2),
    )
    ns = layout.namespace_name(STUDENT)
    platform = folder_objects(repo / "apps" / "cluster" / "platform")
    priority = [o for o in platform if o["kind"] == "PriorityClass"]
    assert priority and cluster.apply(priority).ok  # tenant pods run in the tenant class
    apply_guards(cluster, repo, STUDENT)
    folder = repo / layout.workload_dir(STUDENT, "web")
    first = folder_objects(folder)
    applied = cluster.apply(first)
    assert applied.ok and not applied.warnings, applied.stderr
    wait_for_pods(cluster, first)
    before = cluster.get("deployment", "web", "-n", ns)
    uid = before["metadata"]["uid"]
    cluster.wait_for("the first ReplicaSet", lambda: len(replica_sets(cluster, ns, uid)) == 1)

    api.app_set(
        repo,
        api.AppChange(student=STUDENT, app="web", tag="1.1", env=[("MODE", "prod")], size="tiny"),
    )
    second = folder_objects(folder)
    applied = cluster.apply(second)
    assert applied.ok and not applied.warnings, applied.stderr
    after = cluster.get("deployment", "web", "-n", ns)
    # The same object, a new generation: an update, not a delete and create.
    assert after["metadata"]["uid"] == uid
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    (container,) = after["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{image}:1.1"
    assert container["env"] == [{"name": "MODE", "value": "prod"}]

    def rolling() -> bool:
        sets = replica_sets(cluster, ns, uid)
        if len(sets) != 2:
            return False
        new = next(rs for rs in sets if _image(rs) == f"{image}:1.1")
        return int(new.get("status", {}).get("replicas", 0)) == 1

    # maxSurge 25% of 2 is 1 new pod, created (admitted by quota and LimitRange); maxUnavailable
    # 25% of 2 is 0, so the old ReplicaSet keeps both its pods until new ones are ready.
    cluster.wait_for("the rollout's new ReplicaSet and its surge pod", rolling, timeout=60)
    old = next(rs for rs in replica_sets(cluster, ns, uid) if _image(rs) == f"{image}:1.0")
    assert old["spec"]["replicas"] == 2
    delete_and_wait(cluster, second)


def _image(rs: dict[str, Any]) -> str:
    (c,) = rs["spec"]["template"]["spec"]["containers"]
    return str(c["image"])
