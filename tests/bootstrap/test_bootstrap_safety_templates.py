"""The safety net's settings files and systemd units, rendered with Ansible's templating.

The settings files are read by systemd (EnvironmentFile) and by the tests here through bash, so
a value with spaces, quotes or `$` must come through unchanged; the units must name the script,
the settings file and the schedule from the role defaults.
"""

from __future__ import annotations

import configparser
import json
import subprocess
from pathlib import Path

import pytest
from bootstrap_helpers import (
    BOOTSTRAP,
    inventory_groups,
    offline_host,
    run_playbook,
    write_inventory,
)

pytestmark = pytest.mark.slow
REMOTE = "backup@nas:/srv/kuploy $HOME 'quoted' \"double\""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("safety-render")
    home = base / "home"
    (home / "tmp").mkdir(parents=True)
    inventory = write_inventory(
        base / "inventory", inventory_groups({"cp1": offline_host()}, {}, [])
    )
    out = base / "out"
    # Extra vars: the helper loads the role defaults as vars_files, above inventory variables.
    settings = {
        "render_dir": str(out),
        "backup_remote": REMOTE,
        "cert_renewal_kubeconfig_copies": ["/home/kuploy admin/.kube/config"],
    }
    run_playbook(BOOTSTRAP / "tests/render-safety.yml", inventory, home, "-e", json.dumps(settings))
    files: dict[str, str] = json.loads((out / "cp1.json").read_text())
    return files


def sourced(text: str, tmp_path: Path) -> dict[str, str]:
    """The variables a shell gets from a settings file (as systemd's EnvironmentFile does)."""
    env = tmp_path / "settings.env"
    env.write_text(text)
    script = f"set -a; . {env}; env -0"
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True, env={}).stdout
    pairs = (item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return dict(pairs)


def unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_settings_come_through_unchanged(rendered: dict[str, str], tmp_path: Path) -> None:
    backup = sourced(rendered["backup.env"], tmp_path)
    assert backup["BACKUP_REMOTE"] == REMOTE
    assert backup["BACKUP_DIR"] == "/var/backups/kuploy"
    assert backup["BACKUP_KEEP"] == "14"
    assert backup["BACKUP_SSH_KEY"] == "/etc/kuploy/backup_ssh_key"
    certs = sourced(rendered["cert-check.env"], tmp_path)
    assert certs["RENEW_DAYS"] == "30"
    assert certs["KUBECONFIG_COPIES"] == "/home/kuploy admin/.kube/config"


def test_units_run_the_scripts_on_their_schedule(rendered: dict[str, str]) -> None:
    for name, script, env, calendar in (
        ("kuploy-etcd-backup", "/usr/local/sbin/kuploy-etcd-backup", "/etc/kuploy/backup.env",
         "*-*-* 03:15:00"),
        ("kuploy-cert-check", "/usr/local/sbin/kuploy-cert-check", "/etc/kuploy/cert-check.env",
         "*-*-* 04:30:00"),
    ):  # fmt: skip
        service = unit(rendered[f"{name}.service"])
        assert service["Service"]["Type"] == "oneshot"
        assert service["Service"]["ExecStart"] == script
        assert service["Service"]["EnvironmentFile"] == env
        timer = unit(rendered[f"{name}.timer"])
        assert timer["Timer"]["OnCalendar"] == calendar
        assert timer["Timer"]["Persistent"] == "true"
        assert timer["Install"]["WantedBy"] == "timers.target"
