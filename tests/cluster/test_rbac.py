"""Proof 5: RBAC is what we say.

Acting as the student (impersonation with the user the RoleBinding names: the GitHub login, or
the student name when there is none), the real API server grants exactly the rights listed in
docs/admin-guide.md ("Role and RoleBinding kuploy-student"), in the student's namespace only:
no Secrets, no exec, no writes, nothing in another namespace or at cluster scope.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from apiserver_harness import Cluster
from helpers import isolated_env
from rendered import cli, folder_objects, restricted_pod, rules_review

READ = frozenset({"get", "list", "watch"})
# docs/admin-guide.md, "Role and RoleBinding kuploy-student": (API group, resource) -> verbs.
GRANTED: dict[tuple[str, str], frozenset[str]] = {
    **{
        ("", r): READ
        for r in (
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "persistentvolumeclaims",
            "pods",
            "pods/status",
            "replicationcontrollers",
            "resourcequotas",
            "serviceaccounts",
            "services",
            "pods/log",
        )
    },
    **{
        ("apps", r): READ
        for r in ("deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions")
    },
    ("autoscaling", "horizontalpodautoscalers"): READ,
    ("batch", "jobs"): READ,
    ("batch", "cronjobs"): READ,
    ("discovery.k8s.io", "endpointslices"): READ,
    ("events.k8s.io", "events"): READ,
    ("networking.k8s.io", "ingresses"): READ,
    ("networking.k8s.io", "networkpolicies"): READ,
    ("policy", "poddisruptionbudgets"): READ,
}
GRANTED[("", "pods")] = READ | {"delete"}
GRANTED[("", "pods/portforward")] = frozenset({"get", "create"})

TENANTS = {"rbac-kim": "rbac-kim-gh", "rbac-lee": None}  # student -> GitHub login


@pytest.fixture(scope="module")
def tenants(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two tenants on the cluster; student -> the user their RoleBinding names."""
    base = tmp_path_factory.mktemp("rbac")
    repo = base / "platform"
    users = {}
    with isolated_env(base):
        cli("init", str(repo))
        for student, login in TENANTS.items():
            cli("-C", str(repo), "onboard", student, *(["--github", login] if login else []))
    for student, login in TENANTS.items():
        objects = folder_objects(repo / "apps" / "cluster" / "tenants" / student)
        ns = [o for o in objects if o["kind"] == "Namespace"]
        rbac = [o for o in objects if o["kind"] in {"Role", "RoleBinding"}]
        assert cluster.apply(ns).ok
        r = cluster.apply(rbac)
        assert r.ok, r.stderr
        users[student] = login or student
    return users


def test_student_has_exactly_the_documented_rights(
    cluster: Cluster, tenants: dict[str, str]
) -> None:
    baseline = rules_review(cluster, "someone-unbound", "rbac-kim")  # what every user may do
    for student, user in tenants.items():
        granted = rules_review(cluster, user, student)
        extra = {k: v - baseline.get(k, set()) for k, v in granted.items()}
        extra = {k: v for k, v in extra.items() if v}
        assert extra == {k: set(v) for k, v in GRANTED.items()}, student


def test_nothing_in_another_tenant_namespace(cluster: Cluster, tenants: dict[str, str]) -> None:
    baseline = rules_review(cluster, "someone-unbound", "rbac-lee")
    assert rules_review(cluster, tenants["rbac-kim"], "rbac-lee") == baseline
    assert rules_review(cluster, tenants["rbac-lee"], "rbac-kim") == baseline


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("get", "pods", True),
        ("list", "deployments.apps", True),
        ("get", "pods/log", True),
        ("delete", "pods", True),
        ("create", "pods/portforward", True),
        ("get", "secrets", False),
        ("list", "secrets", False),
        ("watch", "secrets", False),
        ("create", "pods/exec", False),
        ("create", "pods/attach", False),
        ("create", "pods/ephemeralcontainers", False),
        ("patch", "pods/ephemeralcontainers", False),
        ("create", "serviceaccounts/token", False),
        ("create", "pods", False),
        ("create", "deployments.apps", False),
        ("patch", "deployments.apps", False),
        ("update", "deployments.apps/scale", False),
        ("get", "deployments.apps/scale", False),
        ("delete", "networkpolicies.networking.k8s.io", False),
        ("create", "roles.rbac.authorization.k8s.io", False),
        ("create", "rolebindings.rbac.authorization.k8s.io", False),
        ("bind", "roles.rbac.authorization.k8s.io", False),
        ("escalate", "roles.rbac.authorization.k8s.io", False),
        ("update", "resourcequotas", False),
        ("delete", "limitranges", False),
        ("impersonate", "users", False),
        ("create", "applications.argoproj.io", False),
    ],
)
def test_can_i(
    cluster: Cluster, tenants: dict[str, str], verb: str, resource: str, allowed: bool
) -> None:
    # `can-i VERB pods/exec` would ask about a pod named "exec": subresources go apart.
    base, _, sub = resource.partition("/")
    args = ["auth", "can-i", verb, base, *([f"--subresource={sub}"] if sub else [])]
    for student, user in tenants.items():
        r = cluster.kubectl(*args, "-n", student, as_user=user)
        assert r.stdout.strip() == ("yes" if allowed else "no"), (student, verb, resource)


def test_cluster_scope_is_closed(cluster: Cluster, tenants: dict[str, str]) -> None:
    user = tenants["rbac-kim"]
    for verb, resource in [
        ("list", "namespaces"),
        ("list", "nodes"),
        ("list", "pods"),  # across namespaces
        ("create", "namespaces"),
        ("list", "clusterroles.rbac.authorization.k8s.io"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
        ("list", "customresourcedefinitions.apiextensions.k8s.io"),
    ]:
        r = cluster.kubectl("auth", "can-i", verb, resource, "--all-namespaces", as_user=user)
        assert r.stdout.strip() == "no", (verb, resource)


def test_real_requests_as_the_student(
    cluster: Cluster, tenants: dict[str, str], tmp_path: Path
) -> None:
    ns, user = "rbac-kim", tenants["rbac-kim"]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": ns},
        "stringData": {"password": "not-for-students"},
    }
    assert cluster.apply([secret]).ok
    pod = restricted_pod("restart-me", ns)
    assert cluster.apply([pod]).ok

    listed = cluster.kubectl("get", "pods", "-n", ns, "-o", "name", as_user=user)
    assert listed.ok and "pod/restart-me" in listed.stdout
    for args in (
        ("get", "secret", "db", "-n", ns),
        ("get", "secrets", "-n", ns),
        ("get", "pods", "-n", "rbac-lee"),
        ("get", "namespaces"),
        ("label", "pod", "restart-me", "x=y", "-n", ns),
        ("delete", "secret", "db", "-n", ns),
    ):
        r = cluster.kubectl(*args, as_user=user)
        assert not r.ok and "forbidden" in r.stderr, (args, r.stderr)
        assert "not-for-students" not in r.stdout + r.stderr
    deleted = cluster.kubectl("delete", "pod", "restart-me", "-n", ns, "--wait=false", as_user=user)
    assert deleted.ok, deleted.stderr
