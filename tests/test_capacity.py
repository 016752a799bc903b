"""Capacity maths: quota sums, the tenants' nodes, overcommit, headroom, fits, the worst hour."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import capacity, config, timetable
from kuploy_gitops.capacity import Node
from kuploy_gitops.errors import ConfigError

GI = 1024.0**3
# Two tiers with hand-picked numbers: "small" runs out of memory first, "big" out of CPU.
TIERS = {
    "small": {"requests.cpu": "500m", "limits.cpu": "1", "requests.memory": "2Gi",
              "limits.memory": "4Gi", "requests.ephemeral-storage": "1Gi",
              "limits.ephemeral-storage": "2Gi", "requests.storage": "5Gi"},
    "big": {"requests.cpu": "4", "limits.cpu": "8", "requests.memory": "4Gi",
            "limits.memory": "8Gi", "requests.storage": "10Gi"},
}  # fmt: skip


def make_config(timetable_rooms: dict[str, Any] | None = None, **capacity_section: Any) -> Any:
    data = config.default_config_data()
    for name, quota in TIERS.items():
        data["tiers"][name] = {**data["tiers"]["small"], "quota": quota}
    data["tiers"].pop("large")
    data["timetable"]["rooms"] = timetable_rooms or {}
    if capacity_section:
        data["capacity"] = capacity_section
    return config.parse_config(data)


def lab(name: str, room: str, cpu: float = 8, memory: float = 16 * GI, **kw: Any) -> Node:
    labels = {"kuploy.io/pool": "lab", "kuploy.io/room": room, **kw.pop("labels", {})}
    size = {"cpu": cpu, "memory": memory, "ephemeral-storage": 100 * GI}
    return Node(name, labels, allocatable=size, **kw)


def tenants(**per_tier: int) -> list[str]:
    """Each tenant's tier: ``tenants(small=2)`` is two small tenants."""
    return [tier for tier, n in per_tier.items() for _ in range(n)]


def test_quota_totals_sum_every_tenants_tier() -> None:
    cfg = make_config()
    totals = capacity.quota_totals(cfg, tenants(small=3, big=2))
    assert totals.tiers == {"big": 2, "small": 3}
    assert totals.requests == {
        "cpu": 3 * 0.5 + 2 * 4,
        "memory": 3 * 2 * GI + 2 * 4 * GI,
        "ephemeral-storage": 3 * 1 * GI,  # "big" requests none
        "storage": 3 * 5 * GI + 2 * 10 * GI,
    }
    assert totals.limits == {"cpu": 3 * 1 + 2 * 8, "memory": 3 * 4 * GI + 2 * 8 * GI,
                             "ephemeral-storage": 3 * 2 * GI}  # fmt: skip


def test_which_nodes_are_the_tenants() -> None:
    pool_taint = ("kuploy.io/pool", "lab", "NoSchedule")
    cases = {
        "ok": (lab("n", "a", taints=(pool_taint,)), None),
        "core": (Node("c", {"kuploy.io/pool": "core"}), "pool core"),
        "no pool": (Node("x"), "pool (none)"),
        "by hand": (lab("n", "a", unschedulable=True), "cordoned"),
        "timetable": (
            lab("n", "a", unschedulable=True, labels={"kuploy.io/timetable-cordoned": "true"},
                taints=(("node.kubernetes.io/unschedulable", "", "NoSchedule"),)),
            None,
        ),
        "gpu taint": (lab("n", "a", taints=(("gpu", "yes", "NoSchedule"),)), "taint gpu"),
        "not ready": (
            lab("n", "a", taints=(("node.kubernetes.io/not-ready", "", "NoExecute"),)),
            "taint node.kubernetes.io/not-ready",
        ),
        "soft taint": (lab("n", "a", taints=(("x", "", "PreferNoSchedule"),)), None),
        "other pool's taint": (
            lab("n", "a", taints=(("kuploy.io/pool", "core", "NoSchedule"),)),
            "taint kuploy.io/pool",
        ),
    }  # fmt: skip
    got = {case: capacity.exclusion(node, "lab") for case, (node, _) in cases.items()}
    assert got == {case: want for case, (_, want) in cases.items()}
    # No tenant pool: any node without a taint is the tenants'.
    assert capacity.exclusion(Node("c", {"kuploy.io/pool": "core"}), "") is None


def test_headroom_overcommit_and_what_fits_with_the_binding_constraint() -> None:
    cfg = make_config()
    nodes = [lab("a1", "a"), lab("a2", "a"), Node("core", {"kuploy.io/pool": "core"},
             allocatable={"cpu": 64.0, "memory": 256 * GI})]  # fmt: skip
    totals = capacity.quota_totals(cfg, tenants(small=4, big=1))
    snap = capacity.snapshot(cfg, nodes, totals, [])
    # Two 8-core 16Gi lab nodes; the core node is not the tenants'.
    assert snap["nodes"] == 2
    assert snap["allocatable"] == {"cpu": 16, "memory": 32 * GI, "ephemeral-storage": 200 * GI}
    # Requests: cpu 4 x 0.5 + 4 = 6, memory 4 x 2 + 4 = 12Gi, ephemeral 4Gi.
    assert snap["headroom"] == {"cpu": 10, "memory": 20 * GI, "ephemeral-storage": 196 * GI}
    # Limits: cpu 4 + 8 = 12 of 16, memory 16 + 8 = 24Gi of 32Gi.
    assert snap["overcommit"] == {"cpu": 0.75, "memory": 0.75, "ephemeral-storage": 0.04}
    assert snap["requested"]["cpu"] == pytest.approx(6 / 16, abs=1e-3)
    # small: cpu 10 / 0.5 = 20, memory 20 / 2 = 10, ephemeral 196 -> memory binds at 10.
    assert snap["fits"]["small"] == {"count": 10, "binding": "memory", "exact": 10.0}
    # big: cpu 10 / 4 = 2.5, memory 20 / 4 = 5 -> cpu binds at 2.
    assert snap["fits"]["big"] == {"count": 2, "binding": "cpu", "exact": 2.5}
    assert snap["volume_headroom"] is None  # no volume_storage declared: not a constraint


def test_overcommitted_and_full() -> None:
    cfg = make_config()
    totals = capacity.quota_totals(cfg, tenants(big=5))  # 20 cores requested, 40 as limits
    snap = capacity.snapshot(cfg, [lab("a1", "a")], totals, [])
    assert snap["headroom"]["cpu"] == 8 - 20
    assert snap["overcommit"]["cpu"] == 5.0
    assert snap["fits"]["big"] == {"count": 0, "binding": "cpu", "exact": -3.0}


def test_volume_storage_can_bind() -> None:
    cfg = make_config(volume_storage="60Gi")
    totals = capacity.quota_totals(cfg, tenants(small=2))  # 10Gi of volumes
    snap = capacity.snapshot(cfg, [lab("a1", "a", cpu=64, memory=256 * GI)], totals, [])
    assert snap["volume_headroom"] == 50 * GI
    assert snap["fits"]["small"] == {"count": 10, "binding": "storage", "exact": 10.0}


ROOMS = {
    "a": {"slots": [{"day": "mon", "start": "09:00", "end": "10:00"}]},
    "b": {"slots": [{"day": "mon", "start": "09:30", "end": "11:00"},
                    {"day": "fri", "start": "14:00", "end": "15:00"}]},
}  # fmt: skip


def test_the_week_is_cut_where_rooms_are_taken_and_the_worst_hour_found() -> None:
    cfg = make_config(ROOMS)  # lead 15 minutes
    nodes = [lab("a1", "a"), lab("a2", "a"), lab("b1", "b"), lab("c1", "c")]
    segments, worst = capacity.week(cfg, nodes, capacity.quota_totals(cfg, tenants(small=1)))
    got = [(s["from"], s["until"], s["taken"], s["nodes"]) for s in segments]
    assert got == [
        ("mon 00:00", "mon 08:45", [], 4),
        ("mon 08:45", "mon 09:15", ["a"], 2),
        ("mon 09:15", "mon 10:00", ["a", "b"], 1),  # both rooms out: only c1 is left
        ("mon 10:00", "mon 11:00", ["b"], 3),
        ("mon 11:00", "fri 13:45", [], 4),
        ("fri 13:45", "fri 15:00", ["b"], 3),
        ("fri 15:00", "mon 00:00", [], 4),
    ]
    assert (segments[worst]["from"], segments[worst]["until"]) == ("mon 09:15", "mon 10:00")
    # one small tenant (2Gi) on one 16Gi node: 7 more fit by memory
    assert segments[worst]["fits"]["small"] == 7


def test_a_window_across_sunday_midnight_wraps() -> None:
    rooms = {"a": {"slots": [{"day": "mon", "start": "00:00", "end": "01:00"}]}}
    cfg = make_config(rooms)
    segments = capacity.week_segments(cfg.timetable)
    assert [(s, e, r) for s, e, r in segments] == [
        (0, 60, ["a"]),
        (60, timetable.WEEK - 15, []),
        (timetable.WEEK - 15, timetable.WEEK, ["a"]),  # Sunday 23:45, the lead before Monday
    ]
    assert capacity.taken_at(cfg.timetable, timetable.WEEK - 1) == ["a"]
    assert capacity.taken_at(cfg.timetable, timetable.WEEK - 16) == []


def test_no_timetable_is_one_segment() -> None:
    cfg = make_config()
    assert capacity.week_segments(cfg.timetable) == [(0, timetable.WEEK, [])]


def test_nodes_from_the_api_objects() -> None:
    obj = {
        "kind": "Node",
        "metadata": {"name": "pc-1", "labels": {"kuploy.io/pool": "lab"}},
        "spec": {"unschedulable": True, "taints": [{"key": "k", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"cpu": "3800m", "memory": "16318412Ki",
                                   "ephemeral-storage": "95069439556", "pods": "110"}},
    }  # fmt: skip
    node = capacity.node_from_object(obj)
    assert node.unschedulable and node.taints == (("k", "", "NoSchedule"),)
    assert node.allocatable == {"cpu": pytest.approx(3.8), "memory": 16318412 * 1024.0,
                                "ephemeral-storage": 95069439556.0}  # fmt: skip
    bad = {**obj, "status": {"allocatable": {"cpu": "lots"}}}
    with pytest.raises(ValueError, match="status.allocatable.cpu 'lots'"):
        capacity.node_from_object(bad)
    with pytest.raises(ValueError, match="not a Node"):
        capacity.node_from_object({"kind": "Pod", "metadata": {"name": "x"}})


def test_nodes_from_kuploy_yaml() -> None:
    cfg = make_config(
        rooms={"b204": {"nodes": 2, "cpu": "8", "memory": "16Gi", "ephemeral_storage": "100Gi"}},
        pools={"core": {"nodes": 1, "cpu": "4", "memory": "8Gi"}},
    )
    nodes = capacity.nodes_from_config(cfg)
    assert [(n.name, n.pool, n.room, n.allocatable["cpu"]) for n in nodes] == [
        ("b204-1", "lab", "b204", 8.0),
        ("b204-2", "lab", "b204", 8.0),
        ("core-1", "core", "", 4.0),
    ]
    assert nodes[0].allocatable["memory"] == 16 * GI
    assert nodes[2].allocatable["ephemeral-storage"] == 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"rooms": {"b204": {"nodes": -1, "cpu": "8", "memory": "1"}}}, "rooms.b204.nodes"),
        ({"rooms": {"b204": {"nodes": 2, "cpu": "ei", "memory": "1"}}}, "'ei' is not a quantity"),
        ({"pools": {"core": {"nodes": 2, "cpu": "1", "memory": "1", "pool": "x"}}}, "unknown key"),
        ({"volume_storage": "lots"}, "capacity.volume_storage: 'lots' is not a quantity"),
        ({"rooms": {"B 204": {"nodes": 1, "cpu": "1", "memory": "1Gi"}}}, "is not a room name"),
    ],
)  # fmt: skip
def test_bad_capacity_section(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        make_config(**section)


def test_human_figures() -> None:
    assert capacity.human("cpu", 3.8) == "3.8"
    assert capacity.human("memory", 6 * GI) == "6.0Gi"
    assert capacity.human("storage", 2048 * GI) == "2.0Ti"
    assert capacity.human("memory", None) == "-"
