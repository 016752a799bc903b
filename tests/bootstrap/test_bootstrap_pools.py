"""Node pools: lab PCs labelled and tainted kuploy.io/pool=lab, always-on machines labelled core.

The addons role's pool tasks run against a stand-in kubectl that answers from a state folder and
logs every call; only the needed label/taint calls may be made, and none on a second run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from bootstrap_helpers import BOOTSTRAP, inventory_groups, run_playbook, write_inventory

FAKEBIN = Path(__file__).resolve().parent / "fakebin"
LAB_TAINT = {"key": "kuploy.io/pool", "value": "lab", "effect": "NoSchedule"}


def node(name: str, pool: str | None = None, taints: list[dict[str, str]] | None = None) -> Any:
    labels = {"kubernetes.io/hostname": name} | ({"kuploy.io/pool": pool} if pool else {})
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints or []}}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    state = tmp_path / "state"
    state.mkdir()
    (state / "admin.conf").write_text("fake\n")
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)

    def host() -> dict[str, Any]:
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "addons_admin_conf": f"{state}/admin.conf",
        }

    inventory = write_inventory(
        tmp_path / "inventory",
        inventory_groups(
            {"cp1": host()},
            {"core1": {}, "lab1": {}, "lab2": {}},
            ["lab1", "lab2"],
        ),
    )
    return state, home, inventory


def run(state: Path, home: Path, inventory: Path, nodes: list[Any]) -> list[str]:
    (state / "nodes.json").write_text(json.dumps({"items": nodes}))
    env = {"PATH": f"{FAKEBIN}{os.pathsep}{os.environ['PATH']}", "FAKE_K8S_STATE": str(state)}
    run_playbook(BOOTSTRAP / "tests/pools.yml", inventory, home, env_extra=env)
    log = state / "calls.log"
    calls = log.read_text().splitlines()
    log.unlink()
    return [c.split(" ", 3)[-1] for c in calls if " get nodes" not in c]


@pytest.mark.slow  # two playbook runs (~13 s); the default tier keeps the pre-flight's run
def test_pools_are_labelled_and_lab_pcs_tainted_once(setup: tuple[Path, Path, Path]) -> None:
    state, home, inventory = setup
    calls = run(
        state, home, inventory,
        [node("cp1"), node("core1", "core"), node("lab1"), node("lab2", "lab", [LAB_TAINT])],
    )  # fmt: skip
    assert sorted(calls) == sorted(
        [
            "label node cp1 kuploy.io/pool=core --overwrite",
            "label node lab1 kuploy.io/pool=lab --overwrite",
            "taint node lab1 kuploy.io/pool=lab:NoSchedule --overwrite",
        ]
    )
    converged = [
        node("cp1", "core"), node("core1", "core"),
        node("lab1", "lab", [LAB_TAINT]), node("lab2", "lab", [LAB_TAINT]),
    ]  # fmt: skip
    assert run(state, home, inventory, converged) == []


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_a_pc_moved_to_core_loses_the_lab_taint(setup: tuple[Path, Path, Path]) -> None:
    state, home, inventory = setup
    calls = run(
        state, home, inventory,
        [node("cp1", "core"), node("core1", "lab", [LAB_TAINT]), node("lab1", "lab", [LAB_TAINT])],
    )  # fmt: skip
    assert sorted(calls) == [
        "label node core1 kuploy.io/pool=core --overwrite",
        "taint node core1 kuploy.io/pool-",
    ]


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_lab_pcs_with_a_room_get_its_label_once(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    state, home, _ = setup
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "addons_admin_conf": f"{state}/admin.conf",
    }
    inventory = write_inventory(
        tmp_path / "rooms",
        inventory_groups(
            {"cp1": host}, {"lab1": {"lab_room": "b204"}, "lab2": {}}, ["lab1", "lab2"]
        ),
    )
    lab1 = node("lab1", "lab", [LAB_TAINT])
    calls = run(
        state, home, inventory, [node("cp1", "core"), lab1, node("lab2", "lab", [LAB_TAINT])]
    )
    assert calls == ["label node lab1 kuploy.io/room=b204 --overwrite"]
    lab1["metadata"]["labels"]["kuploy.io/room"] = "b204"
    assert (
        run(state, home, inventory, [node("cp1", "core"), lab1, node("lab2", "lab", [LAB_TAINT])])
        == []
    )
