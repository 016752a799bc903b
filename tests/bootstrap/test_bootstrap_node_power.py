"""Graceful node shutdown and sleep: the duration filter, the check script the role installs
(against stand-in busctl and systemd-inhibit answering as logind does) and the role's files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from bootstrap_helpers import ROLES, load_filter_plugin

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
