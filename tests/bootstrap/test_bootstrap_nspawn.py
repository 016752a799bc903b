"""Graceful shutdown and sleep on a booted Debian: the node_power role converges a root file
system (with dbus and unattended-upgrades, whose logind drop-in caps the delay at 30 s), then
the root boots in systemd-nspawn (its own systemd, logind and dbus) and a unit inside reads the
live values: logind's InhibitDelayMaxUSec with and without the role's drop-in, the sleep targets'
load state, and the role's check script without and with a kubelet-style delay lock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bootstrap_helpers import (
    BOOTSTRAP,
    SUITE,
    changed_tasks,
    chroot_host,
    inventory_groups,
    keep_downloaded_debs,
    make_chroot,
    rootfs_tarball,
    run_playbook,
    write_inventory,
)

pytestmark = pytest.mark.slow

MACHINE_ID = "5e1f0c0de0000000000000000000000a"
SLEEP_TARGETS = ("sleep", "suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate")
# Runs once logind is up, writes what it saw to /var/tmp/probe/, then powers the container off.
PROBE = r"""#!/bin/sh
out=/var/tmp/probe
mkdir -p "$out"
delay() {
  busctl get-property org.freedesktop.login1 /org/freedesktop/login1 \
    org.freedesktop.login1.Manager InhibitDelayMaxUSec > "$out/$1" 2>&1
}
check() {
  /usr/local/sbin/kuploy-check-graceful-shutdown 60 > "$out/$1" 2>&1
  echo "rc=$?" >> "$out/$1"
}
delay delay-boot
check check-without-lock
systemd-inhibit --what=shutdown --mode=delay --who=kubelet \
  --why="Kubelet needs time to handle node shutdown" sleep 300 &
sleep 1
check check-with-lock
for target in TARGETS; do
  systemctl show --property=LoadState "$target.target" >> "$out/load-states"
done
systemctl start suspend.target > "$out/start-suspend" 2>&1; echo "rc=$?" >> "$out/start-suspend"
# Without the drop-in (unattended-upgrades' cap alone), then with it again: logind re-reads on
# SIGHUP, which is what the role's handler sends.
mv /etc/systemd/logind.conf.d/zz-kuploy-graceful-shutdown.conf /var/tmp/
systemctl kill --signal=SIGHUP systemd-logind; sleep 1
delay delay-without-dropin
mv /var/tmp/zz-kuploy-graceful-shutdown.conf /etc/systemd/logind.conf.d/
systemctl kill --signal=SIGHUP systemd-logind; sleep 1
delay delay-after-reload
systemctl is-active systemd-logind > "$out/logind-active" 2>&1
systemctl poweroff
""".replace("TARGETS", " ".join(SLEEP_TARGETS))
PROBE_UNIT = """[Unit]
Description=kuploy test probe
After=systemd-logind.service dbus.service
Wants=systemd-logind.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kuploy-probe

[Install]
WantedBy=multi-user.target
"""


def chroot_apt(root: Path, *args: str) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(
        ["chroot", str(root), "apt-get", "-qq", *args], check=True, capture_output=True,
        env=env, timeout=600,
    )  # fmt: skip


def boot(root: Path) -> dict[str, str]:
    """Boot root until the probe powers it off; return the probe's files."""
    (root / "usr/sbin/policy-rc.d").unlink()  # a booted system starts its services
    probe = root / "usr/local/sbin/kuploy-probe"
    probe.write_text(PROBE)
    probe.chmod(0o755)
    (root / "etc/systemd/system/kuploy-probe.service").write_text(PROBE_UNIT)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "kuploy-probe.service").symlink_to("/etc/systemd/system/kuploy-probe.service")
    proc = subprocess.run(
        ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
         "--console=read-only", "--directory", str(root)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    out = root / "var/tmp/probe"
    assert out.is_dir(), f"the probe never ran (rc={proc.returncode}):\n{proc.stdout[-3000:]}"
    return {path.name: path.read_text() for path in out.iterdir()}


def test_graceful_shutdown_is_on_and_sleep_is_masked_in_a_booted_debian(
    require_root_and_tools: None, scratch_dir: Path, ansible_home: Path
) -> None:
    if shutil.which("systemd-nspawn") is None:
        pytest.fail("systemd-nspawn is missing: apt-get install systemd-container")
    root = make_chroot(rootfs_tarball(), scratch_dir / "root", MACHINE_ID)
    (root / "etc/fstab").write_text("")  # no swap devices to wait for at boot
    # What a stock lab PC has: dbus (logind needs it) and unattended-upgrades with its 30 s cap.
    chroot_apt(root, "update")
    chroot_apt(root, "install", "-y", "--no-install-recommends", "dbus", "unattended-upgrades")
    keep_downloaded_debs(root)
    assert (
        root / "usr/lib/systemd/logind.conf.d/unattended-upgrades-logind-maxdelay.conf"
    ).is_file()

    inventory = write_inventory(
        scratch_dir / "inventory", inventory_groups({"pc": chroot_host(root)}, {}, [])
    )
    run_playbook(BOOTSTRAP / "tests/node-power.yml", inventory, ansible_home)
    assert (
        changed_tasks(run_playbook(BOOTSTRAP / "tests/node-power.yml", inventory, ansible_home))
        == []
    )
    for target in SLEEP_TARGETS:
        assert (root / f"etc/systemd/system/{target}.target").readlink() == Path("/dev/null")

    seen = boot(root)
    assert seen["delay-boot"].split() == ["t", "75000000"], f"{SUITE}: {seen['delay-boot']}"
    # The trap the drop-in closes: unattended-upgrades' cap alone leaves 30 s.
    assert seen["delay-without-dropin"].split() == ["t", "30000000"]
    assert seen["delay-after-reload"].split() == ["t", "75000000"]
    assert seen["logind-active"].strip() == "active"
    assert seen["check-without-lock"].splitlines()[-1] == "rc=3"
    assert "holds no shutdown delay lock" in seen["check-without-lock"]
    assert seen["check-with-lock"].splitlines()[-1] == "rc=0"
    assert "logind waits up to 75 s" in seen["check-with-lock"]
    assert seen["load-states"].split() == ["LoadState=masked"] * len(SLEEP_TARGETS)
    assert seen["start-suspend"].splitlines()[-1] != "rc=0"
    assert "masked" in seen["start-suspend"]
