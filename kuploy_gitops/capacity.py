"""Capacity planning: the nodes tenants may use, every tenant's quota, and what still fits.

Pure functions of nodes (from a cluster, a ``kubectl get nodes -o json`` file or kuploy.yaml's
``capacity:``), the platform config and the tenant specs; ``ops/capacity.py`` gathers those.

The model (docs/admin-guide.md, "Capacity planning"):

- A node is the tenants' when its ``kuploy.io/pool`` label is ``cluster.tenant_pool`` (any node
  when that is empty), it is not cordoned by hand, and it has no NoSchedule/NoExecute taint the
  tenants' namespaces do not tolerate (they tolerate their pool's taint only). A node the class
  timetable cordoned counts as its room's: the timetable decides when it is out.
- At a minute of the week the rooms the timetable takes (a class, or its lead time) are out.
- What tenants may ask for is the sum of their quotas: each tenant's tier's ``requests.*`` and
  ``limits.*`` (a quota is a promise, so it is what capacity must cover, not today's usage).
- Headroom is allocatable minus the quotas' requests; how many more students of a tier fit is
  the smallest ``headroom / the tier's request`` over the resources (the binding constraint).
  Limits may exceed allocatable (overcommit = limits / allocatable): that costs performance
  when students burst, not admission.
- The worst hour is the stretch of the week (between two cordon/uncordon times of the
  timetable) where the fewest students of the default tier fit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kuploy_gitops import layout, timetable
from kuploy_gitops.config import PlatformConfig, Tier
from kuploy_gitops.quantity import kube_quantity

NODE_RESOURCES = ("cpu", "memory", "ephemeral-storage")
VOLUME = "storage"  # requests.storage: PersistentVolumeClaims, on the volumes' StorageClass
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"  # follows spec.unschedulable
NO_ROOM = ""


@dataclass(frozen=True)
class Node:
    """One node as capacity sees it: labels, taints ``(key, value, effect)``, allocatable."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()
    unschedulable: bool = False
    allocatable: Mapping[str, float] = field(default_factory=dict)

    @property
    def pool(self) -> str:
        """The ``kuploy.io/pool`` label ('' without one)."""
        return self.labels.get(layout.POOL_LABEL, "")

    @property
    def room(self) -> str:
        """The ``kuploy.io/room`` label ('' without one)."""
        return self.labels.get(layout.ROOM_LABEL, NO_ROOM)

    @property
    def group(self) -> str:
        """The row it is shown in: its room, else its pool, else ``(no pool)``."""
        return self.room or self.pool or "(no pool)"


def node_from_object(obj: Any) -> Node:
    """A Node object of the API (``kubectl get nodes -o json``'s items) as a :class:`Node`.

    Raises:
        ValueError: not a Node object (the message says what is wrong with it).
    """
    if not isinstance(obj, Mapping) or obj.get("kind", "Node") != "Node":
        raise ValueError("an item is not a Node object")
    meta = _map(obj, "metadata")
    name = str(meta.get("name") or "")
    if not name:
        raise ValueError("a Node has no metadata.name")
    spec, status, labels = _map(obj, "spec"), _map(obj, "status"), _map(meta, "labels")
    alloc_data = _map(status, "allocatable")
    allocatable = {}
    for key in NODE_RESOURCES:
        value = kube_quantity(alloc_data.get(key, 0))
        if value is None:
            raise ValueError(
                f"node {name}: status.allocatable.{key} {alloc_data[key]!r} is no quantity"
            )
        allocatable[key] = value
    taints = tuple(
        (str(t.get("key", "")), str(t.get("value", "")), str(t.get("effect", "")))
        for t in spec.get("taints") or ()
        if isinstance(t, Mapping)
    )
    return Node(
        name=name,
        labels={str(k): str(v) for k, v in labels.items()},
        taints=taints,
        unschedulable=bool(spec.get("unschedulable")),
        allocatable=allocatable,
    )


def _map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def nodes_from_config(cfg: PlatformConfig) -> list[Node]:
    """The nodes kuploy.yaml's ``capacity:`` declares (``<room or pool>-<n>``, from 1)."""
    out: list[Node] = []
    for g in cfg.capacity.groups:
        labels = {layout.POOL_LABEL: g.pool}
        if g.room:
            labels[layout.ROOM_LABEL] = g.room
        size = {"cpu": g.cpu, "memory": g.memory, "ephemeral-storage": g.ephemeral_storage}
        out += [
            Node(f"{g.room or g.pool}-{i}", labels, (), False, size) for i in range(1, g.count + 1)
        ]
    return out


def exclusion(node: Node, tenant_pool: str) -> str | None:
    """Why tenant pods can never run on ``node`` (None: they may, unless its room is in class)."""
    if tenant_pool and node.pool != tenant_pool:
        return f"pool {node.pool or '(none)'}"
    if node.unschedulable and layout.TIMETABLE_CORDONED_LABEL not in node.labels:
        return "cordoned"
    for key, value, effect in node.taints:
        if effect not in ("NoSchedule", "NoExecute") or key == UNSCHEDULABLE_TAINT:
            continue
        if tenant_pool and key == layout.POOL_LABEL and value == tenant_pool:
            continue  # the toleration every tenant namespace gives its pods
        return f"taint {key}"
    return None


# --------------------------------------------------------------------------------------------
# Quotas


def tier_requests(tier: Tier) -> dict[str, float]:
    """What one tenant of ``tier`` may request: cpu, memory, ephemeral-storage, storage."""
    q = tier.quota
    out = {}
    for res in (*NODE_RESOURCES, VOLUME):
        raw = q.get(f"requests.{res}", q.get(res, "0"))
        out[res] = kube_quantity(raw) or 0.0
    return out


def tier_limits(tier: Tier) -> dict[str, float]:
    """The limits one tenant of ``tier`` may set: cpu, memory, ephemeral-storage."""
    return {r: kube_quantity(tier.quota.get(f"limits.{r}", "0")) or 0.0 for r in NODE_RESOURCES}


@dataclass(frozen=True)
class QuotaTotals:
    """The sum of every tenant's quota, and how many tenants of each tier."""

    tiers: Mapping[str, int]
    requests: Mapping[str, float]
    limits: Mapping[str, float]


def quota_totals(cfg: PlatformConfig, tiers: Iterable[str]) -> QuotaTotals:
    """Sum the tier quota of every tenant, given their tiers (an unknown tier counts nothing)."""
    counts = Counter(tiers)
    requests = dict.fromkeys((*NODE_RESOURCES, VOLUME), 0.0)
    limits = dict.fromkeys(NODE_RESOURCES, 0.0)
    for name, n in counts.items():
        tier = cfg.tiers.get(name)
        if tier is None:
            continue
        for res, value in tier_requests(tier).items():
            requests[res] += n * value
        for res, value in tier_limits(tier).items():
            limits[res] += n * value
    return QuotaTotals(dict(sorted(counts.items())), requests, limits)


# --------------------------------------------------------------------------------------------
# Capacity at one moment, and over the week


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b > 0 else None


def fits(
    tier: Tier, headroom: Mapping[str, float], volume_headroom: float | None
) -> dict[str, Any]:
    """How many more tenants of ``tier`` fit in ``headroom``, and the resource that binds.

    ``count`` is None when the tier requests nothing that is counted. ``exact`` is the
    unrounded figure (negative when the quotas already exceed what is there).
    """
    want = tier_requests(tier)
    room = dict(headroom)
    if volume_headroom is not None:
        room[VOLUME] = volume_headroom
    best: tuple[float, str] | None = None
    for res, have in room.items():
        if want.get(res, 0) > 0:
            n = have / want[res]
            if best is None or n < best[0]:
                best = (n, res)
    if best is None:
        return {"count": None, "binding": None, "exact": None}
    return {"count": max(0, math.floor(best[0])), "binding": best[1], "exact": round(best[0], 3)}


def snapshot(
    cfg: PlatformConfig,
    nodes: Sequence[Node],
    totals: QuotaTotals,
    taken: Iterable[str],
) -> dict[str, Any]:
    """Capacity while the rooms ``taken`` are out: per group and for the tenants' pool."""
    out_rooms = set(taken)
    groups: dict[str, dict[str, Any]] = {}
    alloc = dict.fromkeys(NODE_RESOURCES, 0.0)
    for node in nodes:
        if exclusion(node, cfg.tenant_pool) is not None:
            continue
        row = groups.setdefault(node.group, {"nodes": 0, **dict.fromkeys(NODE_RESOURCES, 0.0)})
        if node.room and node.room in out_rooms:
            continue
        row["nodes"] += 1
        for res in NODE_RESOURCES:
            row[res] += node.allocatable.get(res, 0.0)
            alloc[res] += node.allocatable.get(res, 0.0)
    headroom = {r: alloc[r] - totals.requests[r] for r in NODE_RESOURCES}
    volume_cap = cfg.capacity.volume_storage
    volume_headroom = None if volume_cap is None else volume_cap - totals.requests[VOLUME]
    return {
        "taken": sorted(out_rooms),
        "nodes": sum(g["nodes"] for g in groups.values()),
        "groups": dict(sorted(groups.items())),
        "allocatable": alloc,
        "headroom": headroom,
        "requested": {r: _ratio(totals.requests[r], alloc[r]) for r in NODE_RESOURCES},
        "overcommit": {r: _ratio(totals.limits[r], alloc[r]) for r in NODE_RESOURCES},
        "volume_headroom": volume_headroom,
        "fits": {name: fits(t, headroom, volume_headroom) for name, t in cfg.tiers.items()},
    }


def taken_at(table: timetable.Timetable, minute: int) -> list[str]:
    """The rooms the timetable takes at ``minute`` of the week (class or lead time)."""
    return [
        room.name
        for room in table.rooms
        if any(w.contains(minute) for w in timetable.windows(room, table.lead))
    ]


def week_segments(table: timetable.Timetable) -> list[tuple[int, int, list[str]]]:
    """The week from Monday 00:00 cut where any room is taken or given back.

    Each segment is ``(start, end, taken rooms)`` in minutes of the week; neighbours with the
    same rooms taken are merged, and a window that wraps past Sunday midnight is cut there.
    """
    cuts = {0}
    for room in table.rooms:
        for w in timetable.windows(room, table.lead):
            cuts.update((w.start % timetable.WEEK, w.end % timetable.WEEK))
    points = sorted(cuts)
    out: list[tuple[int, int, list[str]]] = []
    for i, start in enumerate(points):
        end = points[i + 1] if i + 1 < len(points) else timetable.WEEK
        rooms = taken_at(table, start)
        if out and out[-1][2] == rooms:
            out[-1] = (out[-1][0], end, rooms)
        else:
            out.append((start, end, rooms))
    return out


def _score(snap: Mapping[str, Any], tier: str) -> float:
    exact = snap["fits"].get(tier, {}).get("exact")
    return math.inf if exact is None else float(exact)


def week(
    cfg: PlatformConfig, nodes: Sequence[Node], totals: QuotaTotals
) -> tuple[list[dict[str, Any]], int]:
    """Capacity in each segment of the week, and the index of the worst one.

    The worst is where the fewest students of the default tier fit (the earliest if tied).
    """
    cache: dict[tuple[str, ...], dict[str, Any]] = {}
    segments = []
    for start, end, rooms in week_segments(cfg.timetable):
        key = tuple(rooms)
        if key not in cache:
            cache[key] = snapshot(cfg, nodes, totals, rooms)
        snap = cache[key]
        segments.append(
            {
                "start": start,
                "end": end,
                "from": timetable.week_clock(start),
                "until": timetable.week_clock(end),
                "taken": rooms,
                "nodes": snap["nodes"],
                "allocatable": snap["allocatable"],
                "fits": {t: f["count"] for t, f in snap["fits"].items()},
            }
        )
    worst = min(
        range(len(segments)),
        key=lambda i: (_score(cache[tuple(segments[i]["taken"])], cfg.default_tier), i),
    )
    return segments, worst


def human(res: str, value: float | None) -> str:
    """A figure as the table and the page show it: cores, or GiB for bytes (None: ``-``)."""
    if value is None:
        return "-"
    if res == "cpu":
        return f"{round(value, 3):g}"
    if abs(value) >= 1024**4:
        return f"{value / 1024**4:.1f}Ti"
    return f"{value / 1024**3:.1f}Gi"
