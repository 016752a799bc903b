"""The reason finder on hand-made Application status, resource trees and events."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops.argocd.reasons import classify, first_reason, node_uid, nodes_worth_events


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


# -- each rule of the finder, one at a time ------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "message", "category"),
    [
        ("Unhealthy", "Startup probe failed: timeout", "startup probe failing"),
        ("Other", "Readiness probe failed: 503", "Other"),  # probes only from Unhealthy events
        ("ErrImagePull", "rpc error", "ImagePullBackOff"),
        ("ImagePullBackOff", "", "ImagePullBackOff"),
        ("Failed", "Error: failed to start container", "Failed"),  # a failure, but not a pull
        ("CrashLoopBackOff", "", "CrashLoopBackOff"),
        ("", "", "failed"),
        ("SyncFailed", "the server could not find the requested resource", "SyncFailed"),
        ("FailedCreate", "Usage per Pod exceeds the LimitRange", "LimitRange exceeded"),
        ("FailedCreate", "EXCEEDED QUOTA: q", "quota exceeded"),
        ("FailedCreate", "Violates PodSecurity baseline", "refused by Pod Security"),
    ],
)
def test_classify_more(reason: str, message: str, category: str) -> None:
    assert classify(reason, message) == category


def test_a_synced_healthy_app_has_no_reason_whatever_its_events() -> None:
    tree = {"nodes": [node("Pod", "old", "Degraded", "crashed yesterday")]}
    events = {"uid-old": [warning("BackOff", "Back-off restarting failed container")]}
    assert first_reason(app(health="Healthy"), tree, events) is None
    for phase in ("Failed", "Error"):
        failed = app(health="Healthy", operationState={"phase": phase, "message": "hook failed"})
        assert str(first_reason(failed, tree, events)) == (
            "Application/kim-web: SyncFailed: hook failed"
        )
    running = app(health="Healthy", operationState={"phase": "Running", "message": "x"})
    assert first_reason(running, tree, events) is None


def test_failed_operation_steps() -> None:
    def op(*resources: dict[str, Any], message: str = "") -> dict[str, Any]:
        return app(
            operationState={
                "phase": "Failed",
                "message": message,
                "syncResult": {"resources": list(resources)},
            }
        )

    hook = {"kind": "Job", "name": "migrate", "status": "Synced", "hookPhase": "Error"}
    assert str(first_reason(op(hook), {}, {})) == "Job/migrate: sync failed"
    hook2 = {**hook, "hookPhase": "Failed", "message": "Job has reached the specified backoff"}
    assert str(first_reason(op(hook2), {}, {})) == (
        "Job/migrate: SyncFailed: Job has reached the specified backoff"
    )
    fine = {"kind": "Service", "name": "web", "status": "Synced", "hookPhase": "Succeeded"}
    reason = first_reason(op(fine), {}, {})
    assert str(reason) == "Application/kim-web: sync failed"
    reason = first_reason(op(fine, message="one or more   objects\nfailed"), {}, {})
    assert reason is not None and reason.category == "SyncFailed"
    assert reason.message == "one or more objects failed"
    noname = {"status": {"operationState": {"phase": "Error"}}}
    assert str(first_reason(noname, {}, {})) == "Application/: sync failed"


def test_conditions_only_errors() -> None:
    warned = app(conditions=[{"type": "OrphanedResourceWarning", "message": "1 orphan"}])
    assert first_reason(warned, {}, {}) is None
    blank = app(conditions=[{"type": "SyncError"}])
    assert str(first_reason(blank, {}, {})) == "Application/kim-web: SyncError"


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ('pods "x" is forbidden: exceeded quota: q', "quota exceeded"),
        ("Error creating: forbidden by webhook", "FailedCreate"),
        ("Error creating: quota q is full", "FailedCreate"),
    ],
)
def test_degraded_controller_without_events(message: str, category: str) -> None:
    tree = {"nodes": [node("ReplicaSet", "web-rs", "Degraded", message)]}
    reason = first_reason(app(health="Degraded"), tree, {})
    assert reason is not None and reason.category == category
    assert reason.resource == "ReplicaSet/web-rs"
    assert reason.message == message.split("is forbidden: ", 1)[-1]


def test_controller_health_must_be_degraded_and_say_why() -> None:
    progressing = {"nodes": [node("ReplicaSet", "rs", "Progressing", "forbidden: quota")]}
    reason = first_reason(app(), progressing, {})
    assert reason is not None and reason.category == "Progressing"  # the health fallback
    other = {"nodes": [node("Deployment", "web", "Degraded", "progress deadline exceeded")]}
    reason = first_reason(app(), other, {})
    assert reason is not None and reason.category == "Degraded"


def test_controller_events_other_than_failed_create_wait_their_turn() -> None:
    tree = {"nodes": [node("ReplicaSet", "rs", "Progressing"), node("Pod", "p", "Progressing")]}
    events = {
        "uid-rs": [warning("SomethingOdd", "odd", "2026-12-01")],
        "uid-p": [warning("Unhealthy", "Liveness probe failed: 500", "2026-01-01")],
    }
    assert str(first_reason(app(), tree, events)) == (
        "Pod/p: liveness probe failing: Liveness probe failed: 500"
    )


@pytest.mark.parametrize(
    "status_reason",
    [
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "OOMKilled",
        "Evicted",
        "Error",
    ],
)
def test_every_bad_pod_status_reason(status_reason: str) -> None:
    pod = node("Pod", "p", "Degraded", info=[{"name": "Status Reason", "value": status_reason}])
    reason = first_reason(app(), {"nodes": [pod]}, {})
    assert reason is not None and reason.resource == "Pod/p"
    assert reason.message == status_reason  # no health message: the status reason itself
    pulls = ("ImagePullBackOff", "ErrImagePull")
    assert reason.category == ("ImagePullBackOff" if status_reason in pulls else status_reason)


def test_pod_info_other_than_status_reason_is_ignored() -> None:
    pod = node(
        "Pod",
        "p",
        "Progressing",
        info=[{"name": "Node", "value": "CrashLoopBackOff"}, {"name": "Status Reason"}],
    )
    assert first_reason(app(), {"nodes": [pod]}, {}) is None


@pytest.mark.parametrize(
    "event", ["Unhealthy", "BackOff", "Failed", "FailedScheduling", "FailedMount"]
)
def test_pod_events_that_explain_a_pod(event: str) -> None:
    tree = {"nodes": [node("Pod", "p", "Progressing")]}
    events = {
        "uid-p": [
            warning("Custom", "newer but not a pod reason", "2026-12-01"),
            warning(event, "the reason", "2026-01-01"),
        ]
    }
    reason = first_reason(app(), tree, events)
    assert reason is not None and reason.message == "the reason"


def test_any_warning_of_any_unhealthy_node_then_its_health() -> None:
    tree = {"nodes": [node("Ingress", "web", "Progressing", "waiting for address")]}
    events = {"uid-web": [warning("Sync", "no ingress class", "2026-01-01")]}
    assert str(first_reason(app(), tree, events)) == "Ingress/web: Sync: no ingress class"
    assert str(first_reason(app(), tree, {})) == "Ingress/web: Progressing: waiting for address"
    normal = {"uid-web": [{"type": "Normal", "reason": "Sync", "message": "ok"}]}
    assert str(first_reason(app(), tree, normal)) == (
        "Ingress/web: Progressing: waiting for address"
    )


@pytest.mark.parametrize("health", ["Degraded", "Missing", "Progressing", "Unknown", "Suspended"])
def test_health_fallback_for_every_unhealthy_status(health: str) -> None:
    tree = {"nodes": [node("Service", "s", health, "  the   words ")]}
    assert str(first_reason(app(), tree, {})) == f"Service/s: {health}: the words"
    silent = {"nodes": [node("Service", "s", health)]}
    assert first_reason(app(), silent, {}) is None


def test_out_of_sync_resources() -> None:
    one = app(
        sync="OutOfSync",
        resources=[
            {"kind": "Service", "name": "ok", "status": "Synced"},
            {"kind": "ConfigMap", "name": "a", "status": "OutOfSync"},
        ],
    )
    assert str(first_reason(one, {}, {})) == "ConfigMap/a: OutOfSync: not yet applied from git"


def test_app_health_message_then_nothing_deployed() -> None:
    degraded = app(health="Degraded")
    degraded["status"]["health"]["message"] = "  one\n  pod down "
    assert str(first_reason(degraded, {}, {})) == "Application/kim-web: Degraded: one pod down"
    unknown = {"metadata": {"name": "x"}, "status": {"health": {"message": "?"}}}
    assert str(first_reason(unknown, {}, {})) == "Application/x: Unknown: ?"
    out = {"metadata": {"name": "x"}, "status": {"sync": {"status": "OutOfSync"}}}
    assert str(first_reason(out, {}, {})) == (
        "Application/x: OutOfSync: nothing deployed yet: sync it (kuploy-gitops sync) or wait "
        "for auto-sync"
    )
    missing = app(sync="Synced", health="Missing")
    reason = first_reason(missing, {}, {})
    assert reason is not None and reason.category == "Missing"
    assert first_reason(app(sync="Unknown", health="Progressing"), {}, {}) is None


def test_nodes_worth_events_order_and_filter() -> None:
    tree = {
        "nodes": [
            node("Service", "svc", "Degraded"),
            node("Pod", "p1", "Progressing"),
            node("Deployment", "d", "Progressing"),
            node("Pod", "p0", "Healthy"),
            {"kind": "ConfigMap", "name": "c"},
            node("Job", "j", "Degraded"),
            node("Pod", "p2", "Unknown"),
        ]
    }
    assert [n["name"] for n in nodes_worth_events(tree)] == ["d", "j", "p1", "p2", "svc"]
    assert nodes_worth_events({}) == []


def test_newest_warning_wins_by_last_timestamp_or_event_time() -> None:
    tree = {"nodes": [node("Service", "s", "Progressing")]}
    events = {
        "uid-s": [
            warning("A", "older", "2026-01-01T00:00:00Z"),
            {"type": "Warning", "reason": "B", "message": "newest", "eventTime": "2026-06-01"},
            warning("C", "middle", "2026-03-01T00:00:00Z"),
        ]
    }
    assert str(first_reason(app(), tree, events)) == "Service/s: B: newest"


def test_short_keeps_what_follows_is_forbidden() -> None:
    pod = node(
        "Pod",
        "p",
        "Degraded",
        'pods "p" is forbidden:   is forbidden: twice',
        info=[{"name": "Status Reason", "value": "Error"}],
    )
    reason = first_reason(app(), {"nodes": [pod]}, {})
    assert reason is not None and reason.message == "is forbidden: twice"
    exact = node(
        "Pod", "p", "Degraded", "y" * 300, info=[{"name": "Status Reason", "value": "Error"}]
    )
    reason = first_reason(app(), {"nodes": [exact]}, {})
    assert reason is not None and reason.message == "y" * 300


def test_reason_text_and_data() -> None:
    from kuploy_gitops.argocd.reasons import Reason

    assert str(Reason("c", "Pod/p", "m")) == "Pod/p: c: m"
    assert str(Reason("c", "Pod/p", "")) == "Pod/p: c"
    assert Reason("c", "Pod/p", "m").to_data() == {
        "category": "c",
        "resource": "Pod/p",
        "message": "m",
    }


def test_nodes_without_kind_or_name() -> None:
    tree = {"nodes": [{"health": {"status": "Degraded", "message": "x"}}]}
    assert str(first_reason(app(), tree, {})) == "?/?: Degraded: x"


def test_events_without_reason_or_message() -> None:
    tree = {"nodes": [node("Service", "s", "Progressing")]}
    events = {"uid-s": [{"type": "Warning", "lastTimestamp": "2026-01-01"}]}
    reason = first_reason(app(), tree, events)
    assert reason is not None and (reason.category, reason.message) == ("failed", "")


def test_events_without_a_time_are_the_oldest() -> None:
    tree = {"nodes": [node("Service", "s", "Progressing")]}
    events = {
        "uid-s": [
            {"type": "Warning", "reason": "Undated", "message": "when?"},
            warning("Dated", "recent", "2026-01-01T00:00:00Z"),
        ]
    }
    assert str(first_reason(app(), tree, events)) == "Service/s: Dated: recent"


def test_unhealthy_events_other_than_probes_keep_their_reason() -> None:
    assert classify("Unhealthy", "Custom check failed") == "Unhealthy"


def test_applications_without_a_name() -> None:
    nameless: dict[str, Any] = {"status": {"conditions": [{"type": "SyncError", "message": "x"}]}}
    assert str(first_reason(nameless, {}, {})) == "Application/: SyncError: x"
    unhealthy = {"status": {"health": {"status": "Degraded", "message": "down"}}}
    assert str(first_reason(unhealthy, {}, {})) == "Application/: Degraded: down"


def without_uid(n: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in n.items() if k != "uid"}


@pytest.mark.parametrize(
    ("kind", "event", "expected"),
    [
        ("ReplicaSet", warning("FailedCreate", "exceeded quota: q"), "quota exceeded"),
        ("Pod", warning("Unhealthy", "Liveness probe failed"), "liveness probe failing"),
        ("Service", warning("SyncLoadBalancerFailed", "no IP"), "SyncLoadBalancerFailed"),
    ],
)
def test_events_of_a_node_without_uid_are_found_under_its_key(
    kind: str, event: dict[str, Any], expected: str
) -> None:
    """The client keys each node's events by node_uid; first_reason looks them up the same way."""
    n = without_uid(node(kind, "x", "Progressing"))
    assert node_uid(n) == "" and node_uid(node(kind, "x", "Progressing")) == "uid-x"
    reason = first_reason(app(), {"nodes": [n]}, {node_uid(n): [event]})
    assert reason is not None and reason.category == expected
