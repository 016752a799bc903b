"""Helpers for the cluster-bootstrap tests: ansible runs, a cached Debian rootfs, chroots."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO_ROOT / "cluster-bootstrap"
ROLES = BOOTSTRAP / "roles"

SUITE = os.environ.get("KUPLOY_ROOTFS_SUITE", "bookworm")
# The suites the chroot scenario converges on (KUPLOY_ROOTFS_SUITE adds another, e.g. sid).
SUITES = tuple(dict.fromkeys(("bookworm", "trixie", SUITE)))
MIRROR = os.environ.get("KUPLOY_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = Path(os.environ.get("KUPLOY_ROOTFS_CACHE", "/var/cache/kuploy-test-rootfs"))
# What the throwaway rootfs has besides minbase: python for Ansible, systemd as on a lab PC.
ROOTFS_INCLUDE = ("python3", "python3-apt", "systemd")


def ansible_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for ansible-playbook: the project's ansible.cfg, nothing from ~/.ansible."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(BOOTSTRAP / "ansible.cfg"),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def run_playbook(
    playbook: Path,
    inventory: Path,
    home: Path,
    *args: str,
    check: bool = True,
    env_extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run a playbook with the json callback; return the parsed result plus rc and stderr."""
    cmd = ["ansible-playbook", "-i", str(inventory), str(playbook), *args]
    env = ansible_env(home, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", **(env_extra or {}))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        result: dict[str, Any] = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        result = {}
    result["rc"] = proc.returncode
    result["stderr"] = proc.stderr
    result["raw"] = proc.stdout
    if check and proc.returncode != 0:
        failed = failed_tasks(result)
        pytest.fail(
            f"{playbook.name} failed (rc={proc.returncode}): {failed}\n{proc.stderr[-3000:]}"
        )
    return result


def task_results(result: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (task name, host, host result) for every task of a json-callback result."""
    for play in result.get("plays", []):
        for task in play.get("tasks", []):
            for host, res in task.get("hosts", {}).items():
                # The json callback names role tasks "role : task"; keep the task name only.
                yield task["task"]["name"].split(" : ", 1)[-1], host, res


def failed_tasks(result: dict[str, Any]) -> list[str]:
    """One line per failed task and host, with the messages of failed loop items too."""
    lines = []
    for name, host, res in task_results(result):
        if not res.get("failed") or res.get("ignore_errors"):
            continue
        messages = [str(res.get("msg", ""))]
        items = res.get("results", [])
        messages += [str(item.get("msg", "")) for item in items if item.get("failed")]
        lines.append(f"{host}: {name}: {' | '.join(messages)}")
    return lines


def group_vars() -> dict[str, Any]:
    """The project's group_vars/all/*.yml merged, as Ansible loads them (file name order)."""
    merged: dict[str, Any] = {}
    for path in sorted((BOOTSTRAP / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def load_filter_plugin(role: str, module: str) -> Any:
    """A role's filter plugin module, imported from its file (roles are not a package)."""
    path = ROLES / role / "filter_plugins" / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"kuploy_test_{module}", path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def changed_tasks(result: dict[str, Any]) -> list[str]:
    return [f"{host}: {name}" for name, host, res in task_results(result) if res.get("changed")]


def write_inventory(path: Path, inventory: dict[str, Any]) -> Path:
    """Write a YAML inventory whose group_vars/all/ is the project's real one."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "group_vars").mkdir(exist_ok=True)
    link = path / "group_vars" / "all"
    if not link.exists():
        link.symlink_to(BOOTSTRAP / "group_vars" / "all")
    hosts = path / "hosts.yml"
    hosts.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return hosts


def inventory_groups(
    control_plane: dict[str, Any], workers: dict[str, Any], lab_pcs: list[str]
) -> dict[str, Any]:
    """The inventory shape of inventory/example: k8s_cluster with the three groups."""
    return {
        "all": {
            "children": {
                "k8s_cluster": {
                    "children": {
                        "control_plane": {"hosts": control_plane},
                        "workers": {"hosts": workers},
                        "lab_pcs": {"hosts": dict.fromkeys(lab_pcs)},
                    }
                },
                # reachable.yml fills it with the lab PCs that are off during a run.
                "kuploy_offline": {},
            }
        }
    }


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_debootstrap() -> str:
    found = shutil.which("debootstrap")
    if found:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "debootstrap"], check=True, env=env, capture_output=True
    )
    found = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    return found


def rootfs_tarball(suite: str = SUITE) -> Path:
    """The cached minbase rootfs tarball of a Debian suite, built with debootstrap on first use."""
    key = hashlib.sha256(f"{suite} {MIRROR} {','.join(ROOTFS_INCLUDE)}".encode()).hexdigest()[:10]
    tarball = CACHE_DIR / f"debian-{suite}-minbase-{key}.tar.gz"
    with _locked(CACHE_DIR / ".lock"):
        if tarball.is_file():
            return tarball
        debootstrap = _ensure_debootstrap()
        build = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE_DIR))
        try:
            target = build / "rootfs"
            subprocess.run(
                [debootstrap, "--variant=minbase", f"--include={','.join(ROOTFS_INCLUDE)}",
                 suite, str(target), MIRROR],
                check=True, capture_output=True, timeout=1200,
            )  # fmt: skip
            # No host resolver or machine identity in the image; each chroot gets its own.
            for name in ("etc/machine-id", "var/lib/dbus/machine-id"):
                (target / name).unlink(missing_ok=True)
            partial = build / "rootfs.tar.gz"
            subprocess.run(
                ["tar", "--numeric-owner", "-I", "gzip -1", "-C", str(target), "-cf", str(partial),
                 "."],
                check=True, capture_output=True,
            )  # fmt: skip
            partial.replace(tarball)
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return tarball


def make_chroot(tarball: Path, dest: Path, machine_id: str, suite: str = SUITE) -> Path:
    """Unpack the rootfs into dest and make it safe to converge (no service starts)."""
    dest.mkdir(parents=True)
    subprocess.run(
        ["tar", "--numeric-owner", "-xzf", str(tarball), "-C", str(dest)],
        check=True, capture_output=True,
    )  # fmt: skip
    policy = dest / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# test chroot: never start services\nexit 101\n")
    policy.chmod(0o755)
    (dest / "etc/machine-id").write_text(machine_id + "\n")
    resolv = dest / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", resolv)
    # A lab PC image: two swap entries the role must comment out.
    with (dest / "etc/fstab").open("a") as fstab:
        fstab.write("UUID=0a1b2c3d-0000-4000-8000-000000000001 none swap sw 0 0\n")
        fstab.write("/swapfile none swap sw 0 0\n")
    debs = CACHE_DIR / "debs" / suite
    if debs.is_dir():
        archives = dest / "var/cache/apt/archives"
        for deb in debs.glob("*.deb"):
            shutil.copy2(deb, archives / deb.name)
    return dest


def keep_downloaded_debs(root: Path, suite: str = SUITE) -> None:
    """Copy the .debs apt fetched inside the chroot into the cache for the next run."""
    debs = CACHE_DIR / "debs" / suite
    debs.mkdir(parents=True, exist_ok=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        target = debs / deb.name
        if not target.exists():  # copy then rename: a parallel run never sees half a file
            partial = debs / f".{deb.name}.{os.getpid()}.part"
            shutil.copy2(deb, partial)
            partial.replace(target)


def chroot_host(root: Path, **hostvars: Any) -> dict[str, Any]:
    """Inventory vars of a host reached through the community.general.chroot connection."""
    return {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(root),
        "ansible_python_interpreter": "/usr/bin/python3",
        "bootstrap_runtime_actions": False,
        **hostvars,
    }


SAFETY_FAKEBIN = Path(__file__).resolve().parent / "fakebin-safety"


def offline_host(**hostvars: Any) -> dict[str, Any]:
    """Inventory vars of a made-up host run on this machine that never touches the live system."""
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "bootstrap_runtime_actions": False,
        **hostvars,
    }


def fake_path_env(state: Path, *fakebins: Path) -> dict[str, str]:
    """PATH with stand-in commands first (fakebin-safety by default) and their state folder."""
    dirs = [str(d) for d in fakebins or (SAFETY_FAKEBIN,)]
    return {"PATH": os.pathsep.join([*dirs, os.environ["PATH"]]), "FAKE_K8S_STATE": str(state)}


def run_script(script: Path, state: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a role's shell script with the stand-ins of fakebin-safety and extra environment."""
    return subprocess.run(
        [str(script)], env={**os.environ, **fake_path_env(state), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def local_host(node_ip: str, **hostvars: Any) -> dict[str, Any]:
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "node_ip": node_ip,
        **hostvars,
    }


def render(tmp_path: Path, home: Path, *extra: str) -> Path:
    """Every template of the cluster roles rendered for a made-up cp1/core1/lab1 cluster (the
    real group_vars and role defaults): ``<returned>/<host>/<file name>``."""
    inventory = write_inventory(
        tmp_path / "inventory",
        inventory_groups(
            {"cp1": local_host("10.20.0.10")},
            {"core1": local_host("10.20.0.11"), "lab1": local_host("10.20.0.101")},
            ["lab1"],
        ),
    )
    out = tmp_path / "rendered"
    platform = "platform_repo_url=https://git.example.test/konkuk/platform.git"
    # The download URLs name the architecture, from facts the render does not gather.
    arch = "containerd_arch=amd64 cni_plugins_arch=amd64"
    run_playbook(
        BOOTSTRAP / "tests/render.yml", inventory, home, "-e", f"render_dir={out}", "-e", platform,
        "-e", arch, *extra,
    )  # fmt: skip
    # One JSON file per host ({file name: text}): each file where the tests read it.
    for bundle in out.glob("*.json"):
        host = out / bundle.stem
        host.mkdir()
        for name, text in json.loads(bundle.read_text()).items():
            (host / name).write_text(text)
    return out


def bootstrap_custom_resources(rendered: Path) -> list[dict[str, Any]]:
    """The custom resources the addons role applies: Calico's Installation and APIServer, the
    root Application and its project."""
    return [
        doc
        for name in ("calico-installation.yaml", "root-project.yaml", "root-application.yaml")
        for doc in yaml.load_all((rendered / "cp1" / name).read_text(), Loader=yaml.CSafeLoader)
        if doc
    ]
