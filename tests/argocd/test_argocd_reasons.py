"""The reason finder on hand-made Application status, resource trees and events."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops.argocd.reasons import classify, first_reason, nodes_worth_events


def app(sync: str = "Synced", health: str = "Progressing", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "kim-web"},
        "status": {"sync": {"status": sync}, "health": {"status": health}, **status},
    }


def node(kind: str, name: str, health: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "uid": f"uid-{name}",
        "health": {"status": health, "message": message},
        **extra,
    }


def warning(reason: str, message: str, when: str = "2026-11-27T00:00:00Z") -> dict[str, Any]:
    return {"type": "Warning", "reason": reason, "message": message, "lastTimestamp": when}


@pytest.mark.parametrize(
    ("reason", "message", "category"),
    [
        (
            "FailedCreate",
            'pods "a" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
            "refused by Pod Security",
        ),
        (
            "FailedCreate",
            'pods "a" is forbidden: exceeded quota: q, requested: pods=1',
            "quota exceeded",
        ),
        (
            "FailedCreate",
            'pods "a" is forbidden: failed quota: kuploy-quota: must specify limits.cpu for: app',
            "quota exceeded",
        ),
        (
            "FailedCreate",
            'pods "a" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
            "LimitRange exceeded",
        ),
        ("Unhealthy", "Readiness probe failed: connection refused", "readiness probe failing"),
        ("Unhealthy", "Liveness probe failed: HTTP 500", "liveness probe failing"),
        ("BackOff", 'Back-off pulling image "x:y"', "ImagePullBackOff"),
        ("Failed", 'Failed to pull image "x:y": not found', "ImagePullBackOff"),
        ("BackOff", "Back-off restarting failed container app", "CrashLoopBackOff"),
        (
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient memory",
            "cannot be scheduled",
        ),
        ("FailedMount", "secret not found", "FailedMount"),
    ],
)
def test_classify(reason: str, message: str, category: str) -> None:
    assert classify(reason, message) == category


def test_healthy_app_has_no_reason() -> None:
    assert first_reason(app(health="Healthy"), {"nodes": []}, {}) is None


def test_failed_operation_wins() -> None:
    failed = app(
        operationState={
            "phase": "Failed",
            "message": "one or more objects failed",
            "syncResult": {
                "resources": [
                    {"kind": "Service", "name": "web", "status": "Synced"},
                    {
                        "kind": "Ingress",
                        "name": "web",
                        "status": "SyncFailed",
                        "message": 'admission webhook denied: host "x" taken',
                    },
                ]
            },
        }
    )
    reason = first_reason(failed, {"nodes": [node("Pod", "p", "Degraded", "x")]}, {})
    assert str(reason) == 'Ingress/web: SyncFailed: admission webhook denied: host "x" taken'


def test_failed_operation_without_resource_detail() -> None:
    failed = app(operationState={"phase": "Error", "message": "ComparisonError: repo not found"})
    reason = first_reason(failed, {}, {})
    assert reason is not None and reason.resource == "Application/kim-web"
    assert reason.message == "ComparisonError: repo not found"


def test_error_condition() -> None:
    broken = app(
        sync="Unknown",
        health="Healthy",
        conditions=[
            {"type": "OrphanedResourceWarning", "message": "1 orphan"},
            {"type": "ComparisonError", "message": "rpc error: path not found"},
        ],
    )
    reason = first_reason(broken, {}, {})
    assert str(reason) == "Application/kim-web: ComparisonError: rpc error: path not found"


def test_controller_events_before_pods() -> None:
    tree = {
        "nodes": [
            node("Pod", "web-1", "Progressing"),
            node("ReplicaSet", "web-rs", "Progressing"),
            node("Service", "web", "Healthy"),
        ]
    }
    assert [n["name"] for n in nodes_worth_events(tree)] == ["web-rs", "web-1"]
    events = {
        "uid-web-1": [warning("Unhealthy", "Readiness probe failed: 503")],
        "uid-web-rs": [
            warning("FailedCreate", 'Error creating: pods "x" is forbidden: old', "2026-01-01"),
            warning(
                "FailedCreate",
                'Error creating: pods "x" is forbidden: exceeded quota: q',
                "2026-11-27",
            ),
        ],
    }
    reason = first_reason(app(), tree, events)
    assert str(reason) == "ReplicaSet/web-rs: quota exceeded: exceeded quota: q"


def test_pod_status_reason_then_probe_events() -> None:
    pod = node(
        "Pod",
        "web-1",
        "Degraded",
        'Back-off pulling image "x"',
        info=[{"name": "Status Reason", "value": "ImagePullBackOff"}],
    )
    reason = first_reason(app(health="Degraded"), {"nodes": [pod]}, {})
    assert str(reason) == 'Pod/web-1: ImagePullBackOff: Back-off pulling image "x"'
    ready = node(
        "Pod", "web-1", "Progressing", info=[{"name": "Status Reason", "value": "Running"}]
    )
    events = {
        "uid-web-1": [
            {"type": "Normal", "reason": "Pulled", "message": "ok"},
            warning("Unhealthy", "Readiness probe failed: 503"),
        ]
    }
    reason = first_reason(app(), {"nodes": [ready]}, events)
    assert str(reason) == "Pod/web-1: readiness probe failing: Readiness probe failed: 503"


def test_fallbacks() -> None:
    tree = {"nodes": [node("Deployment", "web", "Degraded", "exceeded its progress deadline")]}
    assert str(first_reason(app(health="Degraded"), tree, {})) == (
        "Deployment/web: Degraded: exceeded its progress deadline"
    )
    out_of_sync = app(
        sync="OutOfSync",
        health="Healthy",
        resources=[
            {"kind": "ConfigMap", "name": "a", "status": "OutOfSync"},
            {"kind": "Service", "name": "b", "status": "OutOfSync"},
        ],
    )
    assert str(first_reason(out_of_sync, {}, {})) == (
        "ConfigMap/a: OutOfSync: not yet applied from git (and 1 more)"
    )
    never = app(sync="OutOfSync", health="Missing")
    assert "nothing deployed yet" in str(first_reason(never, {}, {}))


def test_long_messages_are_shortened() -> None:
    pod = node(
        "Pod",
        "web-1",
        "Degraded",
        "x" * 1000,
        info=[{"name": "Status Reason", "value": "CrashLoopBackOff"}],
    )
    reason = first_reason(app(health="Degraded"), {"nodes": [pod]}, {})
    assert reason is not None and len(reason.message) == 300 and reason.message.endswith("…")


def test_a_pod_without_the_limits_a_quota_requires_is_a_quota_reason() -> None:
    """A quota on limits.cpu refuses a pod with no cpu limit: Kubernetes says "failed quota"."""
    message = (
        'Error creating: pods "web-5d9c7b-x2x" is forbidden: failed quota: kuploy-quota: '
        "must specify limits.cpu for: web; limits.memory for: web"
    )
    tree = {"nodes": [node("ReplicaSet", "web-5d9c7b", "Progressing")]}
    events = {"uid-web-5d9c7b": [warning("FailedCreate", message)]}
    reason = first_reason(app(), tree, events)
    assert reason is not None and reason.category == "quota exceeded"
    assert reason.resource == "ReplicaSet/web-5d9c7b"
    assert reason.message == (
        "failed quota: kuploy-quota: must specify limits.cpu for: web; limits.memory for: web"
    )
    # the same words in a failed sync step
    failed = app(
        operationState={
            "phase": "Failed",
            "syncResult": {
                "resources": [
                    {"kind": "Pod", "name": "job-x", "status": "SyncFailed", "message": message}
                ]
            },
        }
    )
    reason = first_reason(failed, {}, {})
    assert reason is not None and reason.category == "quota exceeded"
