"""Graceful node shutdown and sleep: the duration filter, the check script the role installs
(against stand-in busctl and systemd-inhibit answering as logind does) and the role's files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    ROLES,
    failed_tasks,
    inventory_groups,
    load_filter_plugin,
    run_playbook,
    write_inventory,
)

CHECK = ROLES / "node_power/files/kuploy-check-graceful-shutdown"
KUBELET_LOCK = (
    "kubelet 0 root 1171 kubelet shutdown Kubelet needs time to handle node shutdown delay"
)


def test_duration_filter() -> None:
    seconds = load_filter_plugin("node_power", "kuploy_duration").kuploy_duration_seconds
    assert [seconds(v) for v in ("60s", "1m30s", "2h", "1h0m5s", 45)] == [60, 90, 7200, 3605, 45]
    for bad in ("", "60", "1 m", "60ms", "-5s", True, None):
        with pytest.raises(ValueError, match="not a duration"):
            seconds(bad)


def run_check(tmp_path: Path, delay_usec: str | None, locks: list[str]) -> tuple[int, str]:
    """Run the check with stand-ins: busctl answers InhibitDelayMaxUSec (None: logind is down),
    systemd-inhibit --list --no-legend prints the given lock lines."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    busctl = "echo 'Failed to connect to bus' >&2; exit 1" if delay_usec is None else (
        f"echo 't {delay_usec}'"
    )  # fmt: skip
    (bin_dir / "busctl").write_text(f"#!/bin/sh\n{busctl}\n")
    (bin_dir / "systemd-inhibit").write_text(
        "#!/bin/sh\ncat <<'EOF'\n" + "".join(f"{line}\n" for line in locks) + "EOF\n"
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(CHECK), "60"], env=env, capture_output=True, text=True, timeout=10, check=False
    )
    return proc.returncode, proc.stdout


def test_check_passes_when_logind_waits_long_enough_and_the_kubelet_holds_its_lock(
    tmp_path: Path,
) -> None:
    rc, out = run_check(tmp_path, "75000000", [KUBELET_LOCK])
    assert rc == 0, out
    assert "logind waits up to 75 s" in out


def test_check_fails_on_unattended_upgrades_30_second_cap(tmp_path: Path) -> None:
    rc, out = run_check(tmp_path, "30000000", [KUBELET_LOCK])
    assert rc == 2
    assert "only 30 s, less than the kubelet's shutdownGracePeriod (60 s)" in out
    assert "systemd-analyze cat-config systemd/logind.conf" in out


@pytest.mark.parametrize(
    "locks",
    [
        [],
        # A block lock, or somebody else's delay lock, is not the kubelet's.
        ["kubelet 0 root 1171 kubelet shutdown Kubelet needs time to handle node shutdown block"],
        ["unattended-upgr 0 root 800 unattended-upgr shutdown Stop ongoing upgrades delay"],
    ],
)
def test_check_fails_without_the_kubelets_delay_lock(tmp_path: Path, locks: list[str]) -> None:
    rc, out = run_check(tmp_path, "75000000", locks)
    assert rc == 3
    assert "sudo systemctl restart kubelet" in out


def test_check_says_when_logind_cannot_be_asked(tmp_path: Path) -> None:
    rc, out = run_check(tmp_path, None, [KUBELET_LOCK])
    assert rc == 4 and "systemd-logind" in out


def test_every_sleep_target_is_masked() -> None:
    defaults = yaml.safe_load((ROLES / "node_power/defaults/main.yml").read_text())
    assert set(defaults["node_power_masked_targets"]) == {
        "sleep.target",
        "suspend.target",
        "hibernate.target",
        "hybrid-sleep.target",
        "suspend-then-hibernate.target",
    }
    tasks = yaml.safe_load((ROLES / "node_power/tasks/main.yml").read_text())
    mask = next(t for t in tasks if t["name"].startswith("Mask the sleep targets"))
    assert mask["ansible.builtin.file"] == {
        "src": "/dev/null",
        "dest": "/etc/systemd/system/{{ item }}",
        "state": "link",
        "force": True,
    }


def run_role_check(tmp_path: Path, rc: int) -> dict[str, Any]:
    """node_power's check.yml on a made-up node whose check script answers rc (as the real one)."""
    tmp_path.mkdir()
    script = tmp_path / "check"
    script.write_text(f'#!/bin/sh\necho "stand-in says $1 s, rc {rc}"\nexit {rc}\n')
    script.chmod(0o755)
    (tmp_path / "kubelet.conf").write_text("joined\n")
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    node = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "bootstrap_runtime_actions": True,  # the check only reads; nothing here restarts
        "node_power_kubelet_conf": str(tmp_path / "kubelet.conf"),
        "node_power_check_script": str(script),
    }
    inventory = write_inventory(tmp_path / "inventory", inventory_groups({"cp1": node}, {}, []))
    return run_playbook(BOOTSTRAP / "tests/node-power-check.yml", inventory, home, check=False)


@pytest.mark.slow
def test_role_check_passes_quietly_and_fails_loudly_with_the_scripts_reason(
    tmp_path: Path,
) -> None:
    ok = run_role_check(tmp_path / "ok", 0)
    assert ok["rc"] == 0, failed_tasks(ok)
    short = run_role_check(tmp_path / "short", 2)  # logind's delay too short: no restart helps
    assert short["rc"] != 0
    # The grace period reaches the script in seconds, and its line is the failure message.
    assert failed_tasks(short) == ["cp1: Fail loudly when graceful node shutdown is off: "
                                   "cp1: stand-in says 60 s, rc 2"]  # fmt: skip
