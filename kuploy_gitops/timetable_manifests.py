"""The objects of the class timetable: one namespace, a narrow ServiceAccount, and CronJobs.

Rendered into ``apps/cluster/platform/timetable.yaml`` (synced by the root Application) when
kuploy.yaml's ``timetable`` has rooms. Each CronJob runs the official ``registry.k8s.io/kubectl``
image, which holds kubectl and no shell, so each step is one kubectl command in a container of
its own, run in order (init containers, then the last step):

cordon (``lead`` minutes before a class)
    1. label the room's *schedulable* nodes ``kuploy.io/timetable-cordoned=true`` (a node an
       admin already cordoned by hand is not labelled, so it is never uncordoned by us);
    2. cordon every node of the room;
    3. drain them, one after another, through the Eviction API: PodDisruptionBudgets
       respected, DaemonSet pods left, a bounded wait per node, pods of a switched-off PC
       not waited for. A node a budget holds stops the drain at its timeout; the Job retries.
uncordon (when the class ends)
    1. uncordon the room's nodes that carry the label;
    2. remove the label.

The ServiceAccount's ClusterRole holds what exactly these commands need (see :data:`RULES`).
RBAC cannot narrow ``patch nodes`` to the fields cordon and label touch, so a
ValidatingAdmissionPolicy does (:func:`node_policy`): as that ServiceAccount, a change to a
node's labels other than ``kuploy.io/timetable-cordoned``, to its annotations or to its taints
is refused. Cordon (``spec.unschedulable``) and the mark are all it can change.
"""

from __future__ import annotations

from kuploy_gitops import admission, layout
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.manifests import Obj
from kuploy_gitops.timetable import CORDON, Firing, cron_jobs

KUBECTL_IMAGE = "registry.k8s.io/kubectl"
# A run missed by more than this (the controller was down) is skipped, not run late: the next
# edge of the timetable puts the room right.
STARTING_DEADLINE = 600
# A pod whose deletion began this long ago is not waited for (its PC is off: its kubelet will
# never confirm), so a switched-off PC does not hold the drain of the rest of the room.
SKIP_WAIT = 60
JOB_DEADLINE = 3600  # no Job runs longer than an hour, whatever a drain waits for
# What `kubectl label/cordon/uncordon/drain` need, and nothing more: read and patch nodes (the
# label and spec.unschedulable); list the pods of a node and get each again while it goes; evict
# them; and get a pod's DaemonSet (drain skips the pods of a DaemonSet that exists).
RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("", "nodes", ("get", "list", "patch")),
    ("", "pods", ("get", "list")),
    ("", "pods/eviction", ("create",)),
    ("apps", "daemonsets", ("get",)),
)


def kubectl_image(cfg: PlatformConfig) -> str:
    """The kubectl image: kuploy.yaml's ``timetable.kubectl_image``, else the cluster's version."""
    return cfg.timetable.kubectl_image or f"{KUBECTL_IMAGE}:v{cfg.kubernetes_version}"


def _meta(name: str, namespace: str | None = None, room: str = "") -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {
        layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
        layout.LABEL_PART_OF: layout.PART_OF,
        layout.LABEL_NAME: layout.TIMETABLE_NAME,
    }
    if room:
        meta["labels"][layout.ROOM_LABEL] = room
    return meta


def timetable_objects(cfg: PlatformConfig) -> list[Obj]:
    """Everything the timetable needs, in apply order ([] when no room is configured)."""
    if not cfg.timetable.rooms:
        return []
    name = layout.TIMETABLE_NAME
    namespace = _meta(name)
    for mode in ("enforce", "warn", "audit"):
        namespace["labels"][f"{layout.PSA_PREFIX}/{mode}"] = "restricted"
        namespace["labels"][f"{layout.PSA_PREFIX}/{mode}-version"] = cfg.pss_version
    objects: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, name)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(name),
            "rules": [
                {"apiGroups": [group], "resources": [resource], "verbs": list(verbs)}
                for group, resource, verbs in RULES
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(name),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": name}],
        },
    ]
    objects += node_policy()
    objects += [cron_job(cfg, firing) for firing in cron_jobs(cfg.timetable)]
    return objects


def node_policy() -> list[Obj]:
    """The policy (and its binding) that holds the ServiceAccount to cordon and the mark."""
    name = f"{layout.TIMETABLE_NAME}-nodes"
    account = f"system:serviceaccount:{layout.TIMETABLE_NAME}:{layout.TIMETABLE_NAME}"

    def kept(field: str, empty: str) -> str:
        # absent and empty are the same (a patch may drop an empty map)
        return (
            f"(has(object.{field}) ? object.{field} : {empty}) == "
            f"(has(oldObject.{field}) ? oldObject.{field} : {empty})"
        )

    others = f"variables.labels.filter(k, k != '{layout.TIMETABLE_CORDONED_LABEL}')"
    old_others = f"variables.old.filter(k, k != '{layout.TIMETABLE_CORDONED_LABEL}')"
    spec: Obj = {
        "matchConditions": [
            {"name": "timetable-account", "expression": f"request.userInfo.username == '{account}'"}
        ],
        "variables": [
            {
                "name": "labels",
                "expression": "has(object.metadata.labels) ? object.metadata.labels : {}",
            },
            {
                "name": "old",
                "expression": "has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}",
            },
        ],
        "validations": [
            admission.rule(
                f"{others}.size() == {old_others}.size() && {others}.all(k, "
                "k in variables.old && variables.old[k] == variables.labels[k])",
                "the class timetable may change no label of a node but "
                f"{layout.TIMETABLE_CORDONED_LABEL}",
            ),
            admission.rule(
                kept("spec.taints", "[]"), "the class timetable may not change a node's taints"
            ),
            admission.rule(
                kept("metadata.annotations", "{}"),
                "the class timetable may not change a node's annotations",
            ),
        ],
    }
    return [
        admission.policy(name, ["nodes"], "", ["UPDATE"], spec),
        admission.binding(name, tenants_only=False),
    ]


def steps(cfg: PlatformConfig, firing: Firing) -> list[tuple[str, list[str]]]:
    """The kubectl commands of one firing, in order: ``[(container name, argv)]``."""
    room = f"{layout.ROOM_LABEL}={firing.room}"
    mark = f"{layout.TIMETABLE_CORDONED_LABEL}=true"
    if firing.action == CORDON:
        return [
            (
                "mark",
                ["kubectl", "label", "nodes", "-l", room, "--field-selector",
                 "spec.unschedulable=false", mark, "--overwrite"],
            ),
            ("cordon", ["kubectl", "cordon", "-l", room]),
            (
                "drain",
                ["kubectl", "drain", "-l", room, "--ignore-daemonsets", "--delete-emptydir-data",
                 "--force", f"--skip-wait-for-delete-timeout={SKIP_WAIT}",
                 f"--timeout={cfg.timetable.drain_timeout}s"],
            ),
        ]  # fmt: skip
    marked = f"{room},{mark}"
    unmark = f"{layout.TIMETABLE_CORDONED_LABEL}-"
    return [
        ("uncordon", ["kubectl", "uncordon", "-l", marked]),
        ("unmark", ["kubectl", "label", "nodes", "-l", marked, unmark]),
    ]


def _container(cfg: PlatformConfig, name: str, argv: list[str]) -> Obj:
    return {
        "name": name,
        "image": kubectl_image(cfg),
        "imagePullPolicy": "IfNotPresent",
        "command": argv[:1],
        "args": argv[1:],
        # kubectl keeps its discovery cache under $HOME: the emptyDir, the root is read-only.
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi", "ephemeral-storage": "16Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def cron_job(cfg: PlatformConfig, firing: Firing) -> Obj:
    """The CronJob of one firing: its commands at its minute, in the timetable's time zone."""
    name = layout.TIMETABLE_NAME
    containers = [_container(cfg, step, argv) for step, argv in steps(cfg, firing)]
    uid = cfg.pss_run_as_user
    pod: Obj = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        # The drain must not evict itself: no toleration of the lab taint, so never on a lab PC.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": containers[:-1],
        "containers": containers[-1:],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    meta = _meta(firing.name, name, firing.room)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": firing.schedule,
            "timeZone": cfg.timetable.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": dict(meta["labels"])},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": JOB_DEADLINE,
                    "template": {"metadata": {"labels": dict(meta["labels"])}, "spec": pod},
                },
            },
        },
    }
