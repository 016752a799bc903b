"""Why an Argo CD Application is not running, from its status, resource tree and events.

Pure functions, no I/O.

"OutOfSync" is a state, not a reason. A reason names the resource and what Kubernetes said:
a pod refused by Pod Security, a quota exceeded, an image that cannot be pulled, a container
crash-looping, a readiness probe failing, a failed sync step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

CONTROLLER_KINDS = ("ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Deployment", "CronJob")
BAD_POD_REASONS = (
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
)
_UNHEALTHY = ("Degraded", "Missing", "Progressing", "Unknown", "Suspended")


@dataclass(frozen=True)
class Reason:
    """One concrete reason: a category, the resource (``Kind/name``) and Kubernetes' words."""

    category: str
    resource: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.resource}: {self.category}: {self.message}"
            if self.message
            else (f"{self.resource}: {self.category}")
        )

    def to_data(self) -> dict[str, str]:
        """As JSON-ready data."""
        return {"category": self.category, "resource": self.resource, "message": self.message}


def classify(reason: str, message: str) -> str:
    """A human category for a Kubernetes event or sync message."""
    text = message.lower()
    if "violates podsecurity" in text:
        return "refused by Pod Security"
    if "exceeded quota" in text or "failed quota" in text:
        return "quota exceeded"
    if "usage per container" in text or "usage per pod" in text:
        return "LimitRange exceeded"
    if reason == "Unhealthy" and text.startswith("readiness probe"):
        return "readiness probe failing"
    if reason == "Unhealthy" and text.startswith("liveness probe"):
        return "liveness probe failing"
    if reason == "Unhealthy" and text.startswith("startup probe"):
        return "startup probe failing"
    if (
        "back-off pulling image" in text
        or reason in ("ErrImagePull", "ImagePullBackOff")
        or (reason == "Failed" and "pull" in text)
    ):
        return "ImagePullBackOff"
    if "back-off restarting failed container" in text or reason == "CrashLoopBackOff":
        return "CrashLoopBackOff"
    if reason == "FailedScheduling":
        return "cannot be scheduled"
    return reason or "failed"


def _ref(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{obj.get('name', '?')}"


def _info(node: Mapping[str, Any], key: str) -> str:
    for item in node.get("info") or []:
        if item.get("name") == key:
            return str(item.get("value") or "")
    return ""


def _health(node: Mapping[str, Any]) -> tuple[str, str]:
    health = node.get("health") or {}
    return str(health.get("status") or ""), " ".join(str(health.get("message") or "").split())


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    # Kubernetes prefixes admission refusals with the request; the useful part follows.
    if "is forbidden: " in message:
        message = message.split("is forbidden: ", 1)[1]
    return message if len(message) <= limit else message[: limit - 1] + "…"


def node_uid(node: Mapping[str, Any]) -> str:
    """The key of a node's events in ``first_reason``'s ``events_by_uid`` ("" without a uid)."""
    return str(node.get("uid") or "")


def nodes_worth_events(tree: Mapping[str, Any]) -> list[Obj]:
    """Unhealthy nodes whose events may explain them: controllers first, then pods."""
    picked: list[tuple[int, Obj]] = []
    for node in tree.get("nodes") or []:
        status, _ = _health(node)
        if not status or status == "Healthy":
            continue
        kind = node.get("kind")
        if kind in CONTROLLER_KINDS:
            rank = 0
        elif kind == "Pod":
            rank = 1
        else:
            rank = 2
        picked.append((rank, node))
    picked.sort(key=lambda item: item[0])
    return [node for _, node in picked]


def _warnings(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # Newest first: the latest word from Kubernetes is the one that still holds.
    warnings = [e for e in events if e.get("type") == "Warning"]
    return sorted(
        warnings,
        key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""),
        reverse=True,
    )


def _from_operation(app: Mapping[str, Any]) -> Reason | None:
    status = app.get("status") or {}
    op = status.get("operationState") or {}
    if op.get("phase") not in ("Failed", "Error"):
        return None
    for res in (op.get("syncResult") or {}).get("resources") or []:
        if res.get("status") == "SyncFailed" or res.get("hookPhase") in ("Failed", "Error"):
            message = str(res.get("message") or "")
            return Reason(
                classify("SyncFailed", message) if message else "sync failed",
                _ref(res),
                _short(message),
            )
    name = str((app.get("metadata") or {}).get("name", ""))
    message = str(op.get("message") or "")
    return Reason(
        classify("SyncFailed", message) if message else "sync failed",
        f"Application/{name}",
        _short(message),
    )


def _from_conditions(app: Mapping[str, Any]) -> Reason | None:
    name = str((app.get("metadata") or {}).get("name", ""))
    for cond in (app.get("status") or {}).get("conditions") or []:
        kind = str(cond.get("type") or "")
        if kind.endswith("Error"):
            return Reason(kind, f"Application/{name}", _short(str(cond.get("message") or "")))
    return None


def _event_reason(
    node: Mapping[str, Any], events: Sequence[Mapping[str, Any]], wanted: tuple[str, ...] | None
) -> Reason | None:
    for event in _warnings(events):
        reason = str(event.get("reason") or "")
        if wanted is not None and reason not in wanted:
            continue
        message = str(event.get("message") or "")
        return Reason(classify(reason, message), _ref(node), _short(message))
    return None


def first_reason(
    app: Mapping[str, Any],
    tree: Mapping[str, Any],
    events_by_uid: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Reason | None:
    """The most concrete reason the app is not synced and healthy, or ``None`` if it is.

    ``events_by_uid`` holds the events of some nodes of ``tree``, keyed by :func:`node_uid`.

    Order: a failed sync step; an error condition of the Application; a controller that cannot
    create pods (Pod Security, quota); a pod waiting on a bad image or crash-looping; a probe
    failing; any other warning event; a resource's own health message; what is out of sync.
    """
    status = app.get("status") or {}
    sync = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    op_phase = (status.get("operationState") or {}).get("phase")
    if sync == "Synced" and health == "Healthy" and op_phase not in ("Failed", "Error"):
        return None
    found = _from_operation(app) or _from_conditions(app)
    if found:
        return found
    nodes = nodes_worth_events(tree)
    controllers = [n for n in nodes if n.get("kind") in CONTROLLER_KINDS]
    pods = [n for n in nodes if n.get("kind") == "Pod"]
    for node in controllers:
        found = _event_reason(node, events_by_uid.get(node_uid(node)) or [], ("FailedCreate",))
        if found:
            return found
        h_status, h_message = _health(node)
        if h_status == "Degraded" and ("forbidden" in h_message or "quota" in h_message):
            return Reason(classify("FailedCreate", h_message), _ref(node), _short(h_message))
    for node in pods:
        pod_reason = _info(node, "Status Reason")
        if pod_reason in BAD_POD_REASONS:
            _, h_message = _health(node)
            return Reason(
                classify(pod_reason, h_message), _ref(node), _short(h_message or pod_reason)
            )
    for node in pods:
        found = _event_reason(
            node,
            events_by_uid.get(node_uid(node)) or [],
            ("Unhealthy", "BackOff", "Failed", "FailedScheduling", "FailedMount"),
        )
        if found:
            return found
    for node in nodes:
        found = _event_reason(node, events_by_uid.get(node_uid(node)) or [], None)
        if found:
            return found
    for node in nodes:
        h_status, h_message = _health(node)
        if h_status in _UNHEALTHY and h_message:
            return Reason(h_status, _ref(node), _short(h_message))
    name = str((app.get("metadata") or {}).get("name", ""))
    out_of_sync = [r for r in status.get("resources") or [] if r.get("status") == "OutOfSync"]
    if out_of_sync:
        more = f" (and {len(out_of_sync) - 1} more)" if len(out_of_sync) > 1 else ""
        return Reason("OutOfSync", _ref(out_of_sync[0]), f"not yet applied from git{more}")
    h_message = " ".join(str((status.get("health") or {}).get("message") or "").split())
    if h_message:
        return Reason(str(health or "Unknown"), f"Application/{name}", _short(h_message))
    if health == "Missing" or sync == "OutOfSync":
        return Reason(
            str(health or sync),
            f"Application/{name}",
            "nothing deployed yet: sync it (kuploy-gitops sync) or wait for auto-sync",
        )
    return None
