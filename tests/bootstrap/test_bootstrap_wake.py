"""Wake-on-LAN: the magic packets really sent (received here on a UDP socket on 127.0.0.1), bad
MAC addresses refused before anything is sent, and wake.yml picking a room's PCs."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bootstrap_helpers import (
    BOOTSTRAP,
    ROLES,
    failed_tasks,
    inventory_groups,
    run_playbook,
    write_inventory,
)

WAKE = ROLES / "wake/files/kuploy-wake.py"


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    try:
        yield sock
    finally:
        sock.close()


def received(sock: socket.socket, count: int) -> list[bytes]:
    return [sock.recv(1024) for _ in range(count)]


def expected(mac: str) -> bytes:
    # Built from the bytes here, not with the script's own function.
    return bytes([0xFF] * 6) + bytes(int(part, 16) for part in mac.split(":")) * 16


def test_magic_packets_reach_a_local_socket(receiver: socket.socket) -> None:
    port = receiver.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, str(WAKE), "--port", str(port), "--repeat", "2",
         "00:1A:2b:3c:4D:5e@127.0.0.1", "00-1a-2b-3c-4d-5f@127.0.0.1"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    packets = received(receiver, 4)
    first, second = expected("00:1a:2b:3c:4d:5e"), expected("00:1a:2b:3c:4d:5f")
    assert len(first) == 102
    assert sorted(packets) == sorted([first, second, first, second])
    assert "woke 00:1A:2b:3c:4D:5e via 127.0.0.1:" in proc.stdout


def load_wake() -> Any:
    spec = importlib.util.spec_from_file_location("kuploy_test_wake", WAKE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mac", ["00:1a:2b:3c:4d", "00:1a:2b:3c:4d:zz", "00:1a-2b:3c:4d:5e", ""])
def test_a_bad_mac_address_is_named(mac: str) -> None:
    with pytest.raises(ValueError) as err:
        load_wake().magic_packet(mac)
    assert str(err.value) == f"not a MAC address: {mac!r} (write it as aa:bb:cc:dd:ee:ff)"


def test_a_bad_mac_address_sends_nothing_at_all(receiver: socket.socket) -> None:
    port = receiver.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, str(WAKE), "--port", str(port), "00:1a:2b:3c:4d:5e@127.0.0.1",
         "00:1a:2b:3c:4d@127.0.0.1"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("not a MAC address: '00:1a:2b:3c:4d'")
    receiver.settimeout(0.2)
    with pytest.raises(TimeoutError):  # not even the good one before it
        receiver.recv(1024)


def wake_inventory(tmp_path: Path, lab1_mac: str = "00:1a:2b:3c:4d:01") -> Path:
    local = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "wake_broadcast": "127.0.0.1",
    }
    # python3 of the script module: the test's interpreter, found first on PATH.
    return write_inventory(
        tmp_path / "inventory",
        inventory_groups(
            {"cp1": local},
            {
                "core1": {"wol_mac": "00:1a:2b:3c:4d:99"},
                "lab1": {"wol_mac": lab1_mac, "lab_room": "b204"},
                "lab2": {"wol_mac": "00:1a:2b:3c:4d:02", "lab_room": "b204"},
                "lab3": {"wol_mac": "00:1a:2b:3c:4d:03", "lab_room": "b205"},
            },
            ["lab1", "lab2", "lab3"],
        ),
    )


def run_wake(tmp_path: Path, port: int, inventory: Path, check: bool = True) -> dict[str, Any]:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    python_dir = str(Path(sys.executable).parent)
    return run_playbook(
        BOOTSTRAP / "wake.yml", inventory, home,
        "-e", f"wake_port={port}", "-e", "wake_repeat=1", "-e", "room=b204", check=check,
        env_extra={"PATH": f"{python_dir}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip


@pytest.mark.slow
def test_wake_yml_wakes_the_pcs_of_one_room(tmp_path: Path, receiver: socket.socket) -> None:
    run_wake(tmp_path, receiver.getsockname()[1], wake_inventory(tmp_path))
    packets = received(receiver, 2)
    assert sorted(packets) == [expected("00:1a:2b:3c:4d:01"), expected("00:1a:2b:3c:4d:02")]
    receiver.settimeout(0.3)
    with pytest.raises(TimeoutError):  # lab3 is in b205, core1 in no room
        receiver.recv(1024)


@pytest.mark.slow
def test_wake_yml_refuses_a_pc_without_a_valid_mac(tmp_path: Path) -> None:
    result = run_wake(tmp_path, 9, wake_inventory(tmp_path, "00:1a:2b"), check=False)
    assert result["rc"] != 0
    assert "lab1 has no valid wol_mac ('00:1a:2b')" in "\n".join(failed_tasks(result))
