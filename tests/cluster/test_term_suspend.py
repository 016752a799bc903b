"""`suspend` and `resume` on the real API server: what the cluster enforces while suspended.

What `suspend` renders is applied as Argo CD's syncs would: the tenant's guards (its
Application, always auto-synced), then the managed app (its Application keeps syncing). The
ResourceQuota at ``pods: 0`` is the cluster's own guard: the API server admits no new pod in the
namespace, whoever creates it (a student-repo app's controller, or a hand-made pod), and the
managed app's Deployment at 0 replicas takes its pods down. After `resume` the same objects
are applied again and the pods come back.

Slow tier: a tenant's guards and two rollouts cost about twenty seconds on a running server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from apiserver_harness import Cluster
from rendered import (
    apply_guards,
    delete_and_wait,
    folder_objects,
    restricted_pod,
    wait_for_pods,
)

from kuploy_gitops import api, layout
from kuploy_gitops.ops import term

pytestmark = pytest.mark.slow

STUDENT = "term-kim"  # a namespace of its own on the shared server


def test_a_suspended_tenant_runs_no_pod_and_resume_brings_them_back(
    cluster: Cluster, tmp_path: Path
) -> None:
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    api.onboard(repo, api.OnboardOptions(student=STUDENT))
    api.app_add(
        repo,
        api.AppOptions(
            student=STUDENT, app="web", image="ghcr.io/konkuk-kuploy/web:1.0", port=8080
        ),
    )
    ns = layout.namespace_name(STUDENT)
    platform = folder_objects(repo / "apps" / "cluster" / "platform")
    priority = [o for o in platform if o["kind"] == "PriorityClass"]
    assert priority and cluster.apply(priority).ok
    folder = repo / layout.workload_dir(STUDENT, "web")

    def sync() -> list[dict]:  # type: ignore[type-arg]
        apply_guards(cluster, repo, STUDENT)
        objects = folder_objects(folder)
        applied = cluster.apply(objects)
        assert applied.ok and not applied.warnings, applied.stderr
        return objects

    def pods() -> list[str]:
        return [p["metadata"]["name"] for p in cluster.get("pod", "-n", ns)["items"]]

    wait_for_pods(cluster, sync())
    assert len(pods()) == 1

    term.suspend(repo, term.Selection(students=(STUDENT,)))
    sync()
    cluster.wait_for("the managed app's pod to go", lambda: pods() == [], timeout=60)
    # Whatever makes a pod now (a student-repo app, a hand-made one), admission refuses it.
    refused = cluster.create(restricted_pod("by-hand", ns))
    assert not refused.ok, "a pod was admitted in a suspended tenant"
    assert "exceeded quota: kuploy-quota, requested: pods=1, used: pods=0, limited: pods=0" in (
        refused.stderr
    ), refused.stderr

    term.resume(repo, term.Selection(students=(STUDENT,)))
    objects = sync()
    wait_for_pods(cluster, objects)
    assert len(pods()) == 1
    delete_and_wait(cluster, objects)
