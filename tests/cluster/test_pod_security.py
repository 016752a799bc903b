"""Proof 2: Pod Security is what we say.

In tenant namespaces exactly as rendered, pinned to the platform's minor, each pod below goes to
the real API server and to ``validate --student``: once in a new platform's tenant (``init``'s
default: enforce, warn and audit restricted), once in a tenant of a platform configured to
enforce only baseline (warn and audit restricted). The server refuses a pod that breaks the
enforced level and names the controls; it admits one that breaks only the warned level, with a
warning naming the controls. ``validate`` must say the same: an error for each refused control,
a warning for each warned one, nothing else.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apiserver_harness import Cluster, dump_all
from helpers import isolated_env
from rendered import apply_guards, cli, restricted_pod

# The tenant of each Pod Security setup: the default, and enforce lowered to baseline.
STUDENTS = {"restricted": "pss-kim", "baseline": "pss-lee"}
STUDENT = STUDENTS["restricted"]

# Our rule -> the name the API server gives the control in its messages.
CONTROL = {
    "pss.host-process": "hostProcess",
    "pss.host-namespaces": "host namespaces",
    "pss.privileged": "privileged",
    "pss.capabilities-baseline": "non-default capabilities",
    "pss.host-path": "hostPath volumes",
    "pss.host-ports": "hostPort",
    "pss.apparmor": "forbidden AppArmor profile",
    "pss.selinux": "seLinuxOptions",
    "pss.proc-mount": "procMount",
    "pss.proc-mount-restricted": "procMount",
    "pss.seccomp-baseline": "seccompProfile",
    "pss.sysctls": "forbidden sysctls",
    "pss.probe-host": "probe or lifecycle host",
    "pss.volume-types": "restricted volume types",
    "pss.allow-privilege-escalation": "allowPrivilegeEscalation != false",
    "pss.run-as-non-root": "runAsNonRoot != true",
    "pss.run-as-user": "runAsUser=0",
    "pss.seccomp-restricted": "seccompProfile",
    "pss.capabilities-restricted": "unrestricted capabilities",
}

RESTRICTED_POD = restricted_pod("p", STUDENT)


def _pod(name: str, spec: dict[str, Any] | None = None, **ctr: Any) -> dict[str, Any]:
    """The restricted pod with ``spec`` keys and container ``ctr`` keys replaced (None drops)."""
    pod = copy.deepcopy(RESTRICTED_POD)
    pod["metadata"]["name"] = name
    for k, v in (spec or {}).items():
        if v is None:
            pod["spec"].pop(k, None)
        else:
            pod["spec"][k] = v
    c = pod["spec"]["containers"][0]
    for k, v in ctr.items():
        if v is None:
            c.pop(k, None)
        elif k == "securityContext":
            c[k] = {**c[k], **v}
            c[k] = {kk: vv for kk, vv in c[k].items() if vv is not None}
        else:
            c[k] = v
    return pod


def _apparmor(name: str, profile: str) -> dict[str, Any]:
    """The restricted pod with the deprecated AppArmor annotation on its container."""
    pod = _pod(name)
    container = pod["spec"]["containers"][0]["name"]
    pod["metadata"]["annotations"] = {
        f"container.apparmor.security.beta.kubernetes.io/{container}": profile
    }
    return pod


def _probe(**handler: Any) -> dict[str, Any]:
    return {"periodSeconds": 10, **handler}


CASES: list[dict[str, Any]] = [
    _pod("restricted"),
    # baseline: refused
    _pod("host-network", {"hostNetwork": True}),
    _pod("host-pid-ipc", {"hostPID": True, "hostIPC": True}),
    _pod("privileged", securityContext={"privileged": True, "allowPrivilegeEscalation": None}),
    _pod(
        "cap-net-admin", securityContext={"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}
    ),
    _pod(
        "host-path",
        {"volumes": [{"name": "host-etc", "hostPath": {"path": "/etc"}}]},
        volumeMounts=[{"name": "host-etc", "mountPath": "/h"}],
    ),
    _pod("host-port", ports=[{"containerPort": 8080, "hostPort": 8080}]),
    _pod("apparmor-unconfined", securityContext={"appArmorProfile": {"type": "Unconfined"}}),
    # The deprecated annotation: empty and runtime/default are allowed, unconfined is not.
    _apparmor("apparmor-annotation-empty", ""),
    _apparmor("apparmor-annotation-default", "runtime/default"),
    _apparmor("apparmor-annotation-unconfined", "unconfined"),
    _pod("selinux-user", securityContext={"seLinuxOptions": {"user": "system_u"}}),
    _pod("proc-mount", {"hostUsers": False}, securityContext={"procMount": "Unmasked"}),
    _pod("seccomp-unconfined", {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
    _pod(
        "sysctl-unsafe",
        {
            "securityContext": {
                "seccompProfile": {"type": "RuntimeDefault"},
                "sysctls": [{"name": "kernel.msgmax", "value": "65536"}],
            }
        },
    ),
    _pod(
        "sysctl-tcp-rmem",
        {
            "securityContext": {
                "seccompProfile": {"type": "RuntimeDefault"},
                "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}],
            }
        },
    ),
    _pod(
        "probe-host", readinessProbe=_probe(httpGet={"path": "/", "port": 80, "host": "10.0.0.1"})
    ),
    _pod("probe-tcp-host", livenessProbe=_probe(tcpSocket={"port": 80, "host": "169.254.169.254"})),
    _pod(
        "lifecycle-host",
        lifecycle={"postStart": {"httpGet": {"path": "/", "port": 80, "host": "10.0.0.1"}}},
    ),
    _pod(
        "probe-localhost",
        readinessProbe=_probe(httpGet={"path": "/", "port": 80, "host": "127.0.0.1"}),
    ),
    # restricted only: admitted with a warning
    _pod("no-seccomp", {"securityContext": None}),
    _pod("escalation", securityContext={"allowPrivilegeEscalation": None}),
    _pod("root-allowed", securityContext={"runAsNonRoot": None}),
    _pod("run-as-root", securityContext={"runAsUser": 0}),
    _pod("caps-kept", securityContext={"capabilities": None}),
    _pod(
        "cap-net-bind",
        securityContext={"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
    ),
    _pod("cap-chown", securityContext={"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}),
    _pod(
        "volume-nfs",
        {"volumes": [{"name": "nfs-vol", "nfs": {"server": "10.0.0.2", "path": "/x"}}]},
        volumeMounts=[{"name": "nfs-vol", "mountPath": "/n"}],
    ),
    _pod(
        "volume-emptydir",
        {"volumes": [{"name": "scratch", "emptyDir": {}}]},
        volumeMounts=[{"name": "scratch", "mountPath": "/e"}],
    ),
    # both: the baseline control refuses
    _pod("privileged-and-root", {"hostIPC": True}, securityContext={"runAsNonRoot": None}),
]


def _split_controls(text: str) -> set[str]:
    """Control names of a PodSecurity message: ``name (detail), name (detail), ...``."""
    names, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append(text[start:i])
            start = i + 1
    names.append(text[start:])
    found = {n.strip().split(" (")[0].strip() for n in names if n.strip()}
    # The control's name is plural when more than one place sets a profile (the annotation
    # also sets the field since v1.30).
    return {
        "forbidden AppArmor profile" if n == "forbidden AppArmor profiles" else n for n in found
    }


def _server_verdict(cluster: Cluster, pod: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(refused controls, warned controls) of one pod on the real API server."""
    r = cluster.create(pod, dry_run=True)
    refused: set[str] = set()
    if not r.ok:
        m = re.search(r'violates PodSecurity "[a-z]+:v[\d.]+": (.*)$', r.stderr, re.M)
        assert m, f"{pod['metadata']['name']}: refused for another reason: {r.stderr}"
        refused = _split_controls(m.group(1))
    warned: set[str] = set()
    for w in r.warnings:
        if "apparmor" in w and "deprecated since" in w:
            continue  # the annotation's deprecation (not a Pod Security control)
        m = re.search(r'would violate PodSecurity "restricted:v[\d.]+": (.*)$', w)
        assert m, f"{pod['metadata']['name']}: unexpected warning: {w}"
        warned |= _split_controls(m.group(1))
    return refused, warned


@dataclass(frozen=True)
class Tenant:
    repo: Path
    student: str
    enforce: str


@pytest.fixture(scope="module", params=sorted(STUDENTS))
def tenant(
    request: pytest.FixtureRequest, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Tenant:
    """A platform repo with one student; the student's namespace and guards on the cluster."""
    enforce: str = request.param
    student = STUDENTS[enforce]
    base = tmp_path_factory.mktemp(f"pss-{enforce}")
    repo = base / "platform"
    with isolated_env(base):
        cli("init", str(repo))
        if enforce != "restricted":
            config = repo / "kuploy.yaml"
            text = config.read_text()
            assert "enforce: restricted" in text  # what init writes
            config.write_text(text.replace("enforce: restricted", f"enforce: {enforce}"))
            subprocess.run(["git", "-C", str(repo), "commit", "-qam", enforce], check=True)
        cli("-C", str(repo), "onboard", student, "--github", f"{student}-gh")
    apply_guards(cluster, repo, student)
    return Tenant(repo, student, enforce)


def _in(tenant: Tenant, pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` in the tenant's namespace."""
    return {**pod, "metadata": {**pod["metadata"], "namespace": tenant.student}}


def _validate_verdicts(tenant: Tenant, folder: Path) -> dict[str, tuple[set[str], set[str]]]:
    """name -> (controls validate reports as errors, as warnings): one ``validate --student``."""
    for pod in CASES:
        (folder / f"{pod['metadata']['name']}.yaml").write_text(dump_all([_in(tenant, pod)]))
    validate = ["-C", str(tenant.repo), "validate", "--student", tenant.student, str(folder)]
    out = json.loads(cli(*validate, "-o", "json", ok=(0, 8)))  # 8: findings
    verdicts: dict[str, tuple[set[str], set[str]]] = {
        p["metadata"]["name"]: (set(), set()) for p in CASES
    }
    for f in out["findings"]:
        if not f["rule"].startswith("pss."):
            continue
        errors, warnings = verdicts[f["name"]]
        (errors if f["severity"] == "error" else warnings).add(CONTROL[f["rule"]])
    return verdicts


def test_rendered_namespace_levels(cluster: Cluster, tenant: Tenant) -> None:
    labels = cluster.get("namespace", tenant.student)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == tenant.enforce
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_pod_security_verdicts_agree(cluster: Cluster, tenant: Tenant, tmp_path: Path) -> None:
    ours = _validate_verdicts(tenant, tmp_path)
    disagreements = []
    refusals: set[str] = set()
    for pod in CASES:
        name = pod["metadata"]["name"]
        try:
            refused, warned = _server_verdict(cluster, _in(tenant, pod))
        except AssertionError as e:
            disagreements.append(str(e))
            continue
        errors, warnings = ours[name]
        if refused:
            # A refused pod: the enforced controls must be our errors (the server does not go on
            # to list what the warned level would add).
            if refused != errors:
                disagreements.append(f"{name}: server refuses {refused}, validate errors {errors}")
        else:
            if errors:
                disagreements.append(f"{name}: server admits, validate errors {errors}")
            if warned != warnings:
                disagreements.append(f"{name}: server warns {warned}, validate warns {warnings}")
        if refused:
            refusals.add(name)
    assert not disagreements, "\n".join(disagreements)
    # Pods that break only restricted controls: refused where restricted is enforced, admitted
    # (with a warning) where baseline is.
    restricted_only = {"no-seccomp", "escalation", "root-allowed", "run-as-root", "caps-kept"}
    assert "restricted" not in refusals and "host-network" in refusals
    if tenant.enforce == "restricted":
        assert restricted_only <= refusals
    else:
        assert not restricted_only & refusals


def test_refused_and_warned_messages_name_the_control(cluster: Cluster, tenant: Tenant) -> None:
    refused = cluster.create(
        _in(tenant, _pod("msg-host-network", {"hostNetwork": True})), dry_run=True
    )
    assert not refused.ok
    assert f'violates PodSecurity "{tenant.enforce}:v' in refused.stderr
    assert "host namespaces" in refused.stderr
    root = cluster.create(
        _in(tenant, _pod("msg-root", securityContext={"runAsNonRoot": None})), dry_run=True
    )
    if tenant.enforce == "restricted":
        assert not root.ok and 'violates PodSecurity "restricted:v' in root.stderr
        assert "runAsNonRoot != true" in root.stderr
    else:
        assert root.ok
        assert any("runAsNonRoot != true" in w for w in root.warnings)
    clean = cluster.create(_in(tenant, _pod("msg-clean")), dry_run=True)
    assert clean.ok and not clean.warnings
