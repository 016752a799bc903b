"""site.yml with lab PCs off: reachable.yml leaves a lab PC that does not answer out of the run
(status 0), and stops the run when an always-on machine does not answer. "Off" is an SSH
connection refused on 127.0.0.1 port 1; the nodes that are on use the local connection."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from bootstrap_helpers import (
    BOOTSTRAP,
    failed_tasks,
    inventory_groups,
    run_playbook,
    write_inventory,
)

ON = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
OFF = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
       "ansible_ssh_common_args": "-o ConnectTimeout=3 -o BatchMode=yes"}  # fmt: skip


def run(tmp_path: Path, core1: dict[str, Any], lab1: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    out = tmp_path / "hosts.json"
    inventory = write_inventory(
        tmp_path / "inventory",
        inventory_groups({"cp1": ON}, {"core1": core1, "lab1": lab1, "lab2": ON}, ["lab1", "lab2"]),
    )
    result = run_playbook(
        BOOTSTRAP / "tests/reachable.yml", inventory, home, "-e", f"reachable_out={out}",
        check=False,
    )  # fmt: skip
    return result, out


@pytest.mark.slow
def test_a_lab_pc_that_is_off_is_left_out_and_the_run_succeeds(tmp_path: Path) -> None:
    result, out = run(tmp_path, ON, OFF)
    assert result["rc"] == 0, failed_tasks(result) + [result["stderr"][-2000:]]
    assert json.loads(out.read_text()) == ["cp1", "core1", "lab2"]
    assert "Left out of this run (off or not answering): lab1." in result["raw"]


@pytest.mark.slow
def test_a_core_machine_that_is_off_stops_the_run(tmp_path: Path) -> None:
    result, out = run(tmp_path, OFF, ON)
    assert result["rc"] != 0
    assert "core1 does not answer" in "\n".join(failed_tasks(result))
    assert not out.exists(), "no later play may run"
