"""Pod Security Standards (baseline and restricted) over every pod template, as PSA checks them.

The controls and allowed values follow the Kubernetes "Pod Security Standards" page and the
pod-security-admission checks of current releases. A namespace's ``enforce`` level makes a
violation an error (the pod is refused: the ReplicaSet logs ``FailedCreate``); its ``warn`` or
``audit`` level makes it a warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.findings import Issue

Path_ = tuple[str | int, ...]

LEVELS = ("privileged", "baseline", "restricted")

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",  # 1.32
        "net.ipv4.tcp_wmem",  # 1.32
    }
)
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_PROFILE_OK = ("RuntimeDefault", "Localhost")

RESTRICTED_ONLY = frozenset(
    {
        F.PSS_VOLUME_TYPES,
        F.PSS_PRIV_ESCALATION,
        F.PSS_RUN_AS_NON_ROOT,
        F.PSS_RUN_AS_USER,
        F.PSS_SECCOMP_RESTRICTED,
        F.PSS_CAPABILITIES_RESTRICTED,
        F.PSS_PROC_MOUNT_RESTRICTED,
    }
)

# Baseline checks a restricted level replaces with its own stricter one (Pod Security
# admission's check overrides): where restricted is the level, only the restricted check speaks,
# so a hostPath volume is "restricted volume types" there, not "hostPath volumes" as well.
OVERRIDDEN_BY_RESTRICTED = frozenset(
    {F.PSS_CAPABILITIES_BASELINE, F.PSS_HOST_PATH, F.PSS_SECCOMP_BASELINE}
)

# kind -> key path of the pod template (metadata + spec) inside the object.
POD_TEMPLATE_PATHS: dict[str, Path_] = {
    "Pod": tuple(),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def pod_template(
    obj: Mapping[str, Any],
) -> tuple[Path_, Mapping[str, Any], Mapping[str, Any]] | None:
    """(path, pod metadata, pod spec) of a workload's pod template, or None for other kinds."""
    path = POD_TEMPLATE_PATHS.get(str(obj.get("kind")))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return None
    meta = node.get("metadata") if isinstance(node.get("metadata"), Mapping) else {}
    spec = node.get("spec")
    if not isinstance(spec, Mapping):
        return None
    return path, meta or {}, spec


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """Every container, init container and ephemeral container with its path in the spec."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(field)
        if isinstance(items, list):
            for i, c in enumerate(items):
                if isinstance(c, Mapping):
                    yield (field, i), c


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def check_pod(meta: Mapping[str, Any], spec: Mapping[str, Any], base: Path_) -> list[Issue]:
    """Every baseline and restricted violation of one pod template (levels decided later)."""
    out: list[Issue] = []
    sp = (*base, "spec")
    psc = _m(spec.get("securityContext"))
    windows = _m(spec.get("os")).get("name") == "windows"
    ctrs = list(containers(spec))

    def add(rule: str, msg: str, path: Path_) -> None:
        out.append(Issue(rule, msg, (*sp, *path)))

    # -- baseline ----------------------------------------------------------------------------
    if _m(psc.get("windowsOptions")).get("hostProcess") is True:
        add(
            F.PSS_HOST_PROCESS,
            "pod sets windowsOptions.hostProcess: true",
            ("securityContext", "windowsOptions", "hostProcess"),
        )
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            add(F.PSS_HOST_NAMESPACES, f"pod sets {key}: true", (key,))
    for i, vol in enumerate(spec.get("volumes") or []):
        if not isinstance(vol, Mapping):
            continue
        name = vol.get("name", i)
        if vol.get("hostPath") is not None:
            add(F.PSS_HOST_PATH, f"volume {name!r} is a hostPath", ("volumes", i, "hostPath"))
        # A hostPath is no restricted volume type either: where restricted is enforced that is
        # the control the API server names (it replaces the baseline one there).
        kinds = [k for k, v in vol.items() if k != "name" and v is not None]
        bad = [k for k in kinds if k not in RESTRICTED_VOLUMES]
        if bad:
            add(F.PSS_VOLUME_TYPES, f"volume {name!r} has type {bad[0]}", ("volumes", i))
    _check_profiles(psc, (), "pod", add)
    for i, sysctl in enumerate(psc.get("sysctls") or []):
        name = _m(sysctl).get("name")
        if name not in SAFE_SYSCTLS:
            add(
                F.PSS_SYSCTLS,
                f"sysctl {name!r} is not in the safe set",
                ("securityContext", "sysctls", i, "name"),
            )
    annotations = _m(meta.get("annotations"))
    for key, value in annotations.items():
        # Pod Security allows an empty value (no profile asked for: the runtime's default).
        if str(key).startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value in ("", "runtime/default") or str(value).startswith("localhost/")
        ):
            out.append(
                Issue(
                    F.PSS_APPARMOR,
                    f"annotation {key}: {value!r}",
                    (*base, "metadata", "annotations", key),
                )
            )
    for cpath, c in ctrs:
        cname = c.get("name", cpath[1])
        csc = _m(c.get("securityContext"))
        sc = (*cpath, "securityContext")
        if csc.get("privileged") is True:
            add(F.PSS_PRIVILEGED, f"container {cname!r} is privileged", (*sc, "privileged"))
        if _m(csc.get("windowsOptions")).get("hostProcess") is True:
            add(
                F.PSS_HOST_PROCESS,
                f"container {cname!r} sets hostProcess: true",
                (*sc, "windowsOptions", "hostProcess"),
            )
        caps = _m(csc.get("capabilities"))
        added = [str(x) for x in caps.get("add") or []]
        extra = [x for x in added if x not in BASELINE_CAPABILITIES]
        if extra:
            add(
                F.PSS_CAPABILITIES_BASELINE,
                f"container {cname!r} adds capabilities {', '.join(extra)}",
                (*sc, "capabilities", "add"),
            )
        for j, port in enumerate(c.get("ports") or []):
            if _m(port).get("hostPort"):
                add(
                    F.PSS_HOST_PORTS,
                    f"container {cname!r} binds hostPort {_m(port).get('hostPort')}",
                    (*cpath, "ports", j, "hostPort"),
                )
        if csc.get("procMount") not in (None, "Default"):
            # Since 1.35 baseline allows any procMount in a user namespace; restricted never.
            add(
                F.PSS_PROC_MOUNT_RESTRICTED if spec.get("hostUsers") is False else F.PSS_PROC_MOUNT,
                f"container {cname!r} sets procMount {csc.get('procMount')}",
                (*sc, "procMount"),
            )
        for hpath, host in _handler_hosts(c):
            add(
                F.PSS_PROBE_HOST,
                f"container {cname!r} sets {'.'.join(hpath)}: {host!r}",
                (*cpath, *hpath),
            )
        _check_profiles(csc, sc, f"container {cname!r}", add)
        if windows:
            continue
        # -- restricted (Linux-only controls) --------------------------------------------------
        if csc.get("allowPrivilegeEscalation") is not False:
            add(
                F.PSS_PRIV_ESCALATION,
                f"container {cname!r} does not set allowPrivilegeEscalation: false",
                (*sc, "allowPrivilegeEscalation") if csc else cpath,
            )
        if "ALL" not in [str(x) for x in caps.get("drop") or []]:
            add(
                F.PSS_CAPABILITIES_RESTRICTED,
                f"container {cname!r} does not drop ALL capabilities",
                (*sc, "capabilities") if csc else cpath,
            )
        beyond = [x for x in added if x != "NET_BIND_SERVICE"]
        if beyond:
            add(
                F.PSS_CAPABILITIES_RESTRICTED,
                f"container {cname!r} adds {', '.join(beyond)} (only NET_BIND_SERVICE allowed)",
                (*sc, "capabilities", "add"),
            )
        if csc.get("runAsUser") == 0:
            add(F.PSS_RUN_AS_USER, f"container {cname!r} sets runAsUser: 0", (*sc, "runAsUser"))
    if windows:
        return out
    # Pod-level restricted controls: runAsNonRoot and seccomp at pod level or on every container.
    if psc.get("runAsUser") == 0:
        add(F.PSS_RUN_AS_USER, "pod sets runAsUser: 0", ("securityContext", "runAsUser"))
    pod_nonroot = psc.get("runAsNonRoot")
    bad_nonroot = []
    for cpath, c in ctrs:
        value = _m(c.get("securityContext")).get("runAsNonRoot")
        if value is False or (value is None and pod_nonroot is not True):
            bad_nonroot.append((cpath, c))
    if pod_nonroot is False:
        add(
            F.PSS_RUN_AS_NON_ROOT,
            "pod sets runAsNonRoot: false",
            ("securityContext", "runAsNonRoot"),
        )
    elif bad_nonroot:
        names = ", ".join(repr(c.get("name", p[1])) for p, c in bad_nonroot)
        add(
            F.PSS_RUN_AS_NON_ROOT,
            f"runAsNonRoot is not true for container(s) {names} (nor at pod level)",
            (*bad_nonroot[0][0], "securityContext") if pod_nonroot is None else (),
        )
    pod_seccomp = _m(psc.get("seccompProfile")).get("type")
    missing = [
        (p, c)
        for p, c in ctrs
        if _m(_m(c.get("securityContext")).get("seccompProfile")).get("type") not in _PROFILE_OK
        and not (
            pod_seccomp in _PROFILE_OK
            and _m(_m(c.get("securityContext")).get("seccompProfile")).get("type") is None
        )
    ]
    if missing:
        names = ", ".join(repr(c.get("name", p[1])) for p, c in missing)
        add(
            F.PSS_SECCOMP_RESTRICTED,
            f"no seccompProfile RuntimeDefault/Localhost for container(s) {names}",
            ("securityContext",) if psc else (),
        )
    return out


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")


def _handler_hosts(c: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) of every non-empty host of a container's probes and lifecycle hooks."""
    handlers: list[tuple[tuple[str, ...], Any]] = [((p,), c.get(p)) for p in _PROBES]
    lifecycle = _m(c.get("lifecycle"))
    handlers += [(("lifecycle", h), lifecycle.get(h)) for h in _HOOKS]
    for path, handler in handlers:
        h = _m(handler)
        for action in ("httpGet", "tcpSocket"):
            host = _m(h.get(action)).get("host")
            if host not in (None, ""):
                yield (*path, action, "host"), host


def _check_profiles(sc: Mapping[str, Any], path: Path_, who: str, add: Any) -> None:
    loc = path if path else ("securityContext",)
    seccomp = _m(sc.get("seccompProfile")).get("type")
    if seccomp == "Unconfined":
        add(
            F.PSS_SECCOMP_BASELINE,
            f"{who} sets seccompProfile Unconfined",
            (*loc, "seccompProfile"),
        )
    apparmor = _m(sc.get("appArmorProfile")).get("type")
    if apparmor is not None and apparmor not in _PROFILE_OK:
        add(F.PSS_APPARMOR, f"{who} sets appArmorProfile {apparmor}", (*loc, "appArmorProfile"))
    se = _m(sc.get("seLinuxOptions"))
    if se and (se.get("type", "") not in SELINUX_TYPES or se.get("user") or se.get("role")):
        add(F.PSS_SELINUX, f"{who} sets custom seLinuxOptions", (*loc, "seLinuxOptions"))


def severity_at(rule: str, enforce: str, warn: str, audit: str) -> str | None:
    """Severity of a PSS rule under a namespace's levels, or None when no level covers it."""
    need = "restricted" if rule in RESTRICTED_ONLY else "baseline"
    rank = LEVELS.index

    def covers(level: str) -> bool:
        if level == "restricted" and rule in OVERRIDDEN_BY_RESTRICTED:
            return False
        return level in LEVELS and rank(level) >= rank(need)

    if covers(enforce):
        return F.ERROR
    if covers(warn) or covers(audit):
        return F.WARNING
    return None
