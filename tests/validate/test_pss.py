"""Pod Security Standards (validate/pss.py): each control on a pod that is otherwise restricted."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import pss
from kuploy_gitops.validate.findings import Issue

BASE = ("spec", "template")


def good_container(name: str = "app") -> dict[str, Any]:
    return {
        "name": name,
        "image": "x:1",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def good_pod() -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [good_container()],
    }


def check(spec: dict[str, Any], meta: dict[str, Any] | None = None) -> list[Issue]:
    return pss.check_pod(meta or {}, spec, BASE)


def rules(spec: dict[str, Any], meta: dict[str, Any] | None = None) -> list[str]:
    return [i.rule for i in check(spec, meta)]


def test_a_restricted_pod_has_no_issue() -> None:
    assert check(good_pod()) == []


@pytest.mark.parametrize("key", ["hostNetwork", "hostPID", "hostIPC"])
def test_every_host_namespace_is_refused(key: str) -> None:
    pod = good_pod()
    pod[key] = True
    assert check(pod) == [
        Issue(F.PSS_HOST_NAMESPACES, f"pod sets {key}: true", (*BASE, "spec", key))
    ]
    pod[key] = False
    assert check(pod) == []


def test_all_host_namespaces_together_are_three_issues() -> None:
    pod = {**good_pod(), "hostNetwork": True, "hostPID": True, "hostIPC": True}
    assert [i.message for i in check(pod)] == [
        "pod sets hostNetwork: true",
        "pod sets hostPID: true",
        "pod sets hostIPC: true",
    ]


def test_host_process_pod_and_container() -> None:
    pod = good_pod()
    pod["securityContext"]["windowsOptions"] = {"hostProcess": True}
    pod["containers"][0]["securityContext"]["windowsOptions"] = {"hostProcess": True}
    issues = check(pod)
    assert issues == [
        Issue(
            F.PSS_HOST_PROCESS,
            "pod sets windowsOptions.hostProcess: true",
            (*BASE, "spec", "securityContext", "windowsOptions", "hostProcess"),
        ),
        Issue(
            F.PSS_HOST_PROCESS,
            "container 'app' sets hostProcess: true",
            (*BASE, "spec", "containers", 0, "securityContext", "windowsOptions", "hostProcess"),
        ),
    ]


def test_volumes() -> None:
    pod = good_pod()
    pod["volumes"] = [
        {"name": "h", "hostPath": {"path": "/"}},
        {"name": "n", "nfs": {"server": "x", "path": "/"}},
        {"name": "ok", "emptyDir": {}},
        {"name": "cm", "configMap": {"name": "c"}, "secret": None},
        "junk",
        {"persistentVolumeClaim": {"claimName": "c"}, "gitRepo": {"repository": "r"}},
    ]
    assert check(pod) == [
        Issue(
            F.PSS_HOST_PATH, "volume 'h' is a hostPath", (*BASE, "spec", "volumes", 0, "hostPath")
        ),
        # Restricted's own control too (it replaces the baseline one where restricted rules).
        Issue(F.PSS_VOLUME_TYPES, "volume 'h' has type hostPath", (*BASE, "spec", "volumes", 0)),
        Issue(F.PSS_VOLUME_TYPES, "volume 'n' has type nfs", (*BASE, "spec", "volumes", 1)),
        Issue(F.PSS_VOLUME_TYPES, "volume 5 has type gitRepo", (*BASE, "spec", "volumes", 5)),
    ]


@pytest.mark.parametrize("volume", sorted(pss.RESTRICTED_VOLUMES))
def test_restricted_volume_types_pass(volume: str) -> None:
    pod = good_pod()
    pod["volumes"] = [{"name": "v", volume: {}}]
    assert check(pod) == []


def test_sysctls() -> None:
    pod = good_pod()
    pod["securityContext"]["sysctls"] = [
        {"name": "net.ipv4.tcp_syncookies", "value": "1"},
        {"name": "kernel.msgmax", "value": "1"},
    ]
    assert check(pod) == [
        Issue(
            F.PSS_SYSCTLS,
            "sysctl 'kernel.msgmax' is not in the safe set",
            (*BASE, "spec", "securityContext", "sysctls", 1, "name"),
        )
    ]


def test_apparmor_annotations() -> None:
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    meta = {
        "annotations": {
            prefix + "a": "runtime/default",
            prefix + "b": "localhost/my-profile",
            prefix + "c": "unconfined",
            prefix + "d": "",  # no profile asked for: Pod Security admits it (issue 12)
            "other": "unconfined",
        }
    }
    assert check(good_pod(), meta) == [
        Issue(
            F.PSS_APPARMOR,
            f"annotation {prefix}c: 'unconfined'",
            (*BASE, "metadata", "annotations", prefix + "c"),
        )
    ]


def test_profiles_at_pod_level() -> None:
    pod = good_pod()
    pod["securityContext"]["appArmorProfile"] = {"type": "Unconfined"}
    pod["securityContext"]["seLinuxOptions"] = {"type": "spc_t"}
    sc = (*BASE, "spec", "securityContext")
    assert check(pod) == [
        Issue(F.PSS_APPARMOR, "pod sets appArmorProfile Unconfined", (*sc, "appArmorProfile")),
        Issue(F.PSS_SELINUX, "pod sets custom seLinuxOptions", (*sc, "seLinuxOptions")),
    ]


def test_seccomp_unconfined_is_baseline_and_restricted() -> None:
    pod = good_pod()
    pod["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    issues = check(pod)
    assert issues[0] == Issue(
        F.PSS_SECCOMP_BASELINE,
        "pod sets seccompProfile Unconfined",
        (*BASE, "spec", "securityContext", "seccompProfile"),
    )
    assert issues[1] == Issue(
        F.PSS_SECCOMP_RESTRICTED,
        "no seccompProfile RuntimeDefault/Localhost for container(s) 'app'",
        (*BASE, "spec", "securityContext"),
    )
    assert len(issues) == 2


@pytest.mark.parametrize("profile", ["RuntimeDefault", "Localhost"])
def test_apparmor_profiles_allowed(profile: str) -> None:
    pod = good_pod()
    pod["securityContext"]["appArmorProfile"] = {"type": profile}
    pod["containers"][0]["securityContext"]["appArmorProfile"] = {"type": profile}
    assert check(pod) == []


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({"type": "container_t"}, False),
        ({"type": "container_init_t", "level": "s0:c1"}, False),
        ({"level": "s0"}, False),
        ({"type": "unconfined_t"}, True),
        ({"user": "system_u"}, True),
        ({"role": "system_r"}, True),
        ({}, False),
    ],
)
def test_selinux_options(options: dict[str, str], bad: bool) -> None:
    pod = good_pod()
    pod["containers"][0]["securityContext"]["seLinuxOptions"] = options
    got = check(pod)
    if bad:
        assert got == [
            Issue(
                F.PSS_SELINUX,
                "container 'app' sets custom seLinuxOptions",
                (*BASE, "spec", "containers", 0, "securityContext", "seLinuxOptions"),
            )
        ]
    else:
        assert got == []


def test_container_baseline_controls() -> None:
    pod = good_pod()
    c = pod["containers"][0]
    csc = c["securityContext"]
    csc["privileged"] = True
    csc["capabilities"]["add"] = ["NET_BIND_SERVICE", "CHOWN", "SYS_ADMIN"]
    csc["procMount"] = "Unmasked"
    csc["seccompProfile"] = {"type": "Unconfined"}
    c["ports"] = [{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}]
    sc = (*BASE, "spec", "containers", 0, "securityContext")
    issues = check(pod)
    assert issues == [
        Issue(F.PSS_PRIVILEGED, "container 'app' is privileged", (*sc, "privileged")),
        Issue(
            F.PSS_CAPABILITIES_BASELINE,
            "container 'app' adds capabilities SYS_ADMIN",
            (*sc, "capabilities", "add"),
        ),
        Issue(
            F.PSS_HOST_PORTS,
            "container 'app' binds hostPort 8081",
            (*BASE, "spec", "containers", 0, "ports", 1, "hostPort"),
        ),
        Issue(F.PSS_PROC_MOUNT, "container 'app' sets procMount Unmasked", (*sc, "procMount")),
        Issue(
            F.PSS_SECCOMP_BASELINE,
            "container 'app' sets seccompProfile Unconfined",
            (*sc, "seccompProfile"),
        ),
        Issue(
            F.PSS_CAPABILITIES_RESTRICTED,
            "container 'app' adds CHOWN, SYS_ADMIN (only NET_BIND_SERVICE allowed)",
            (*sc, "capabilities", "add"),
        ),
        Issue(
            F.PSS_SECCOMP_RESTRICTED,
            "no seccompProfile RuntimeDefault/Localhost for container(s) 'app'",
            (*BASE, "spec", "securityContext"),
        ),
    ]


def test_allowed_values_are_not_issues() -> None:
    pod = good_pod()
    c = pod["containers"][0]
    c["securityContext"].update(
        privileged=False,
        procMount="Default",
        capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
    )
    c["ports"] = [{"containerPort": 80, "hostPort": 0}]
    assert check(pod) == []


def test_restricted_container_controls() -> None:
    pod = good_pod()
    pod["containers"][0]["securityContext"] = {"runAsUser": 0, "allowPrivilegeEscalation": True}
    pod["containers"].append({"name": "bare", "image": "x:1"})
    sc = (*BASE, "spec", "containers", 0, "securityContext")
    assert check(pod) == [
        Issue(
            F.PSS_PRIV_ESCALATION,
            "container 'app' does not set allowPrivilegeEscalation: false",
            (*sc, "allowPrivilegeEscalation"),
        ),
        Issue(
            F.PSS_CAPABILITIES_RESTRICTED,
            "container 'app' does not drop ALL capabilities",
            (*sc, "capabilities"),
        ),
        Issue(F.PSS_RUN_AS_USER, "container 'app' sets runAsUser: 0", (*sc, "runAsUser")),
        # without a securityContext the issue points at the container itself
        Issue(
            F.PSS_PRIV_ESCALATION,
            "container 'bare' does not set allowPrivilegeEscalation: false",
            (*BASE, "spec", "containers", 1),
        ),
        Issue(
            F.PSS_CAPABILITIES_RESTRICTED,
            "container 'bare' does not drop ALL capabilities",
            (*BASE, "spec", "containers", 1),
        ),
    ]


def test_run_as_non_root() -> None:
    sc = (*BASE, "spec", "securityContext")
    pod = good_pod()
    pod["securityContext"]["runAsNonRoot"] = False
    assert check(pod) == [
        Issue(F.PSS_RUN_AS_NON_ROOT, "pod sets runAsNonRoot: false", (*sc, "runAsNonRoot"))
    ]
    pod = good_pod()
    del pod["securityContext"]["runAsNonRoot"]
    pod["containers"].append(good_container("side"))
    pod["containers"][1]["securityContext"]["runAsNonRoot"] = True
    assert check(pod) == [
        Issue(
            F.PSS_RUN_AS_NON_ROOT,
            "runAsNonRoot is not true for container(s) 'app' (nor at pod level)",
            (*BASE, "spec", "containers", 0, "securityContext"),
        )
    ]
    pod = good_pod()  # pod level true, but one container says false
    pod["containers"][0]["securityContext"]["runAsNonRoot"] = False
    assert check(pod) == [
        Issue(
            F.PSS_RUN_AS_NON_ROOT,
            "runAsNonRoot is not true for container(s) 'app' (nor at pod level)",
            (*BASE, "spec"),
        )
    ]


def test_run_as_user_zero_at_pod_level() -> None:
    pod = good_pod()
    pod["securityContext"]["runAsUser"] = 0
    assert check(pod) == [
        Issue(
            F.PSS_RUN_AS_USER,
            "pod sets runAsUser: 0",
            (*BASE, "spec", "securityContext", "runAsUser"),
        )
    ]
    pod["securityContext"]["runAsUser"] = 1000
    assert rules(pod) == []


def test_seccomp_on_every_container_instead_of_the_pod() -> None:
    pod = good_pod()
    del pod["securityContext"]["seccompProfile"]
    for c in pod["containers"]:
        c["securityContext"]["seccompProfile"] = {"type": "Localhost", "localhostProfile": "p"}
    assert check(pod) == []
    pod["initContainers"] = [good_container("init")]
    assert [i.message for i in check(pod)] == [
        "no seccompProfile RuntimeDefault/Localhost for container(s) 'init'"
    ]
    pod = good_pod()
    pod["securityContext"] = {"runAsNonRoot": True}
    pod["containers"][0]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert [i.rule for i in check(pod)] == [F.PSS_SECCOMP_BASELINE, F.PSS_SECCOMP_RESTRICTED]
    # no pod securityContext at all: the issue points at the pod spec
    pod = {"containers": [copy.deepcopy(good_container())]}
    pod["containers"][0]["securityContext"]["runAsNonRoot"] = True
    assert check(pod) == [
        Issue(
            F.PSS_SECCOMP_RESTRICTED,
            "no seccompProfile RuntimeDefault/Localhost for container(s) 'app'",
            (*BASE, "spec"),
        )
    ]


def test_windows_pods_skip_the_linux_only_controls() -> None:
    pod = {"os": {"name": "windows"}, "containers": [{"name": "w", "image": "x:1"}]}
    assert check(pod) == []
    pod["hostNetwork"] = True
    assert rules(pod) == [F.PSS_HOST_NAMESPACES]


def test_init_and_ephemeral_containers_are_checked() -> None:
    pod = good_pod()
    pod["initContainers"] = [{**good_container("init"), "securityContext": {"privileged": True}}]
    pod["ephemeralContainers"] = [good_container("dbg"), "junk"]
    assert [(c.get("name"), p) for p, c in pss.containers(pod)] == [
        ("init", ("initContainers", 0)),
        ("app", ("containers", 0)),
        ("dbg", ("ephemeralContainers", 0)),
    ]
    assert F.PSS_PRIVILEGED in rules(pod)


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ({"kind": "Pod", "spec": {"containers": []}}, ()),
        ({"kind": "Deployment", "spec": {"template": {"spec": {}}}}, ("spec", "template")),
        ({"kind": "StatefulSet", "spec": {"template": {"spec": {}}}}, ("spec", "template")),
        ({"kind": "DaemonSet", "spec": {"template": {"spec": {}}}}, ("spec", "template")),
        ({"kind": "ReplicaSet", "spec": {"template": {"spec": {}}}}, ("spec", "template")),
        (
            {"kind": "ReplicationController", "spec": {"template": {"spec": {}}}},
            ("spec", "template"),
        ),
        ({"kind": "Job", "spec": {"template": {"spec": {}}}}, ("spec", "template")),
        (
            {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}},
            ("spec", "jobTemplate", "spec", "template"),
        ),
    ],
)
def test_pod_template_of_each_workload_kind(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    found = pss.pod_template(obj)
    assert found is not None and found[0] == path and found[1] == {}


def test_pod_template_metadata_and_broken_objects() -> None:
    dep = {
        "kind": "Deployment",
        "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {}}},
    }
    assert pss.pod_template(dep) == (("spec", "template"), {"labels": {"a": "b"}}, {})
    assert pss.pod_template({"kind": "Service", "spec": {}}) is None
    assert pss.pod_template({"kind": "Deployment", "spec": {"template": "x"}}) is None
    assert pss.pod_template({"kind": "Deployment", "spec": "x"}) is None
    assert pss.pod_template({"kind": "Deployment", "spec": {"template": {"spec": []}}}) is None
    for junk in ([], "junk"):
        bad_meta = {"kind": "Deployment", "spec": {"template": {"metadata": junk, "spec": {}}}}
        assert pss.pod_template(bad_meta) == (("spec", "template"), {}, {})


@pytest.mark.parametrize(
    ("rule", "enforce", "warn", "audit", "severity"),
    [
        (F.PSS_HOST_NAMESPACES, "baseline", "restricted", "restricted", F.ERROR),
        (F.PSS_HOST_NAMESPACES, "restricted", "privileged", "privileged", F.ERROR),
        (F.PSS_HOST_NAMESPACES, "privileged", "baseline", "privileged", F.WARNING),
        (F.PSS_HOST_NAMESPACES, "privileged", "privileged", "baseline", F.WARNING),
        (F.PSS_HOST_NAMESPACES, "privileged", "privileged", "privileged", None),
        (F.PSS_RUN_AS_NON_ROOT, "baseline", "restricted", "privileged", F.WARNING),
        (F.PSS_RUN_AS_NON_ROOT, "baseline", "baseline", "restricted", F.WARNING),
        (F.PSS_RUN_AS_NON_ROOT, "restricted", "privileged", "privileged", F.ERROR),
        (F.PSS_RUN_AS_NON_ROOT, "baseline", "baseline", "baseline", None),
        (F.PSS_HOST_NAMESPACES, "bogus", "bogus", "bogus", None),
    ],
)
def test_severity_at(rule: str, enforce: str, warn: str, audit: str, severity: str | None) -> None:
    assert pss.severity_at(rule, enforce, warn, audit) == severity


def test_restricted_only_rules() -> None:
    for rule in pss.RESTRICTED_ONLY:
        assert pss.severity_at(rule, "baseline", "privileged", "privileged") is None


def test_unnamed_containers_are_named_by_index() -> None:
    bare = {"image": "x:1", "securityContext": {"privileged": True}}
    pod = {"containers": [bare, {"image": "y:1"}]}
    messages = [i.message for i in check(pod)]
    assert "container 0 is privileged" in messages
    assert "runAsNonRoot is not true for container(s) 0, 1 (nor at pod level)" in messages
    assert "no seccompProfile RuntimeDefault/Localhost for container(s) 0, 1" in messages


def test_lists_of_names_are_comma_separated() -> None:
    pod = {"containers": [good_container("a"), good_container("b")]}
    pod["containers"][0]["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN", "NET_RAW"]
    messages = [i.message for i in check(pod)]
    assert "container 'a' adds capabilities SYS_ADMIN, NET_RAW" in messages
    assert "runAsNonRoot is not true for container(s) 'a', 'b' (nor at pod level)" in messages
    assert "no seccompProfile RuntimeDefault/Localhost for container(s) 'a', 'b'" in messages


def test_windows_pods_check_every_container_for_baseline() -> None:
    pod = {
        "os": {"name": "windows"},
        "containers": [{"name": "a"}, {"name": "b", "securityContext": {"privileged": True}}],
    }
    assert [i.message for i in check(pod)] == ["container 'b' is privileged"]


def test_tcp_buffer_sysctls_are_safe_since_1_32() -> None:
    pod = good_pod()
    pod["securityContext"]["sysctls"] = [
        {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"},
        {"name": "net.ipv4.tcp_wmem", "value": "4096 16384 4194304"},
    ]
    assert check(pod) == []


@pytest.mark.parametrize(
    ("where", "handler"),
    [
        (("readinessProbe",), {"httpGet": {"port": 80, "host": "10.0.0.1"}}),
        (("livenessProbe",), {"tcpSocket": {"port": 80, "host": "169.254.169.254"}}),
        (("startupProbe",), {"httpGet": {"port": 80, "host": "127.0.0.1"}}),
        (("lifecycle", "postStart"), {"httpGet": {"port": 80, "host": "db"}}),
        (("lifecycle", "preStop"), {"tcpSocket": {"port": 80, "host": "db"}}),
    ],
)
def test_probe_and_lifecycle_hosts_are_baseline(
    where: tuple[str, ...], handler: dict[str, Any]
) -> None:
    pod = good_pod()
    container: dict[str, Any] = pod["containers"][0]
    if where[0] == "lifecycle":
        container["lifecycle"] = {where[1]: handler}
    else:
        container[where[0]] = handler
    action = next(iter(handler))
    host = handler[action]["host"]
    assert check(pod) == [
        Issue(
            F.PSS_PROBE_HOST,
            f"container 'app' sets {'.'.join((*where, action, 'host'))}: {host!r}",
            (*BASE, "spec", "containers", 0, *where, action, "host"),
        )
    ]
    assert pss.severity_at(F.PSS_PROBE_HOST, "baseline", "restricted", "restricted") == F.ERROR
    handler[action]["host"] = ""
    assert check(pod) == []


def test_probe_host_of_an_init_container() -> None:
    pod = good_pod()
    init = good_container("init")
    init["startupProbe"] = {"tcpSocket": {"port": 5432, "host": "10.0.0.9"}}
    pod["initContainers"] = [init]
    assert rules(pod) == [F.PSS_PROBE_HOST]


def test_proc_mount_in_a_user_namespace_is_restricted_only() -> None:
    pod = good_pod()
    pod["containers"][0]["securityContext"]["procMount"] = "Unmasked"
    assert rules(pod) == [F.PSS_PROC_MOUNT]
    pod["hostUsers"] = False
    assert rules(pod) == [F.PSS_PROC_MOUNT_RESTRICTED]
    assert pss.severity_at(F.PSS_PROC_MOUNT_RESTRICTED, "baseline", "restricted", "") == F.WARNING
    pod["hostUsers"] = True
    assert rules(pod) == [F.PSS_PROC_MOUNT]
