"""``capacity``: how many more students fit, now and at the worst hour of the week (read-only).

One function, :func:`capacity_report`, answers both ``capacity -o json`` and the page of
``report`` (ops/report.py), so the page cannot show other numbers than the command.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from kuploy_gitops import capacity, layout, tenant_spec, timetable
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.errors import InvalidInputError, UsageError
from kuploy_gitops.ops.kubenodes import read_nodes_api, read_nodes_file
from kuploy_gitops.ops.lab import parse_at
from kuploy_gitops.tenant_spec import TenantSpec


def load_nodes(
    cfg: PlatformConfig,
    nodes_file: Path | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
) -> tuple[list[capacity.Node], str]:
    """The nodes, and where they came from: a file, the API, or kuploy.yaml's ``capacity:``.

    Raises:
        UsageError: both a file and a kubeconfig, or ``--context`` without a kubeconfig.
        InvalidInputError: a source is unreadable, or none is given and kuploy.yaml declares none.
    """
    if nodes_file is not None and kubeconfig is not None:
        raise UsageError("give --nodes or --kubeconfig, not both", hint="drop one of them")
    if context and kubeconfig is None:
        raise UsageError("--context needs --kubeconfig", hint="add --kubeconfig PATH")
    if nodes_file is not None:
        items, source = read_nodes_file(nodes_file), f"file {nodes_file}"
    elif kubeconfig is not None:
        items, server = read_nodes_api(kubeconfig, context)
        source = f"cluster {server}"
    else:
        if not cfg.capacity.groups:
            raise InvalidInputError(
                f"no nodes: {layout.CONFIG_FILE} declares no capacity.rooms or capacity.pools",
                hint="pass --kubeconfig PATH (the live cluster) or --nodes FILE.json (kubectl get "
                f"nodes -o json), or declare node sizes under capacity: in {layout.CONFIG_FILE}",
            )
        return capacity.nodes_from_config(cfg), layout.CONFIG_FILE
    nodes = []
    for item in items:
        try:
            nodes.append(capacity.node_from_object(item))
        except ValueError as exc:
            raise InvalidInputError(
                f"{source}: {exc}", hint="pass the nodes as the API gives them"
            ) from None
    return nodes, source


SUMMARY_VERSION = 1


def summary(spec: TenantSpec) -> dict[str, Any]:
    """What `capacity` and `report` need of a spec: labels, tier, expiry, app names, status."""
    return {
        "student": spec.student,
        "tier": spec.tier,
        "name": spec.name,
        "course": spec.course,
        "term": spec.term,
        "expires": spec.expires,
        "apps": [a.name for a in spec.apps],
        # term operations (issue 15) may add suspension to the spec; absent: not suspended
        "suspended": bool(getattr(spec, "suspended", False)),
    }


def _cache_file(repo: Path) -> Path:
    # validate's cache folder ($XDG_CACHE_HOME/kuploy-gitops), without importing validate
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:20]
    return Path(base) / "kuploy-gitops" / "specs" / f"{key}.json"


def read_summaries(repo: Path) -> list[dict[str, Any]]:
    """Every tenant's :func:`summary`, sorted by student, reading only specs that changed.

    Parsing 5,000 specs takes seconds; summaries are kept between runs in the user's cache
    (``$XDG_CACHE_HOME/kuploy-gitops/specs/``), each under its file's size and mtime (as
    `validate` keeps its results), so a run parses only the specs written since the last one.
    The cache is an optimisation: unreadable, it is rebuilt; unwritable, it is skipped.
    """
    cache = _cache_file(repo)
    try:
        old = json.loads(cache.read_text(encoding="utf-8"))
        if old.get("version") != SUMMARY_VERSION:
            old = {}
    except (OSError, ValueError, AttributeError):
        old = {}
    known = old.get("specs", {}) if isinstance(old.get("specs"), dict) else {}
    fresh: dict[str, Any] = {}
    stale: dict[str, list[int]] = {}
    folder = repo / layout.TENANTS_DIR
    # One pass over the folder: the names tenant_spec.list_students gives, with their stamps.
    entries = sorted(os.scandir(folder), key=lambda e: e.name) if folder.is_dir() else []
    for entry in entries:
        if not entry.name.endswith(".yaml") or not entry.is_file():
            continue
        student = entry.name[: -len(".yaml")]
        st = entry.stat()
        stamp = [st.st_mtime_ns, st.st_size]
        hit = known.get(student)
        if isinstance(hit, list) and len(hit) == 2 and hit[0] == stamp:
            fresh[student] = hit
        else:
            fresh[student] = None  # keeps the sorted order; filled below
            stale[student] = stamp
    for (student, stamp), row in zip(stale.items(), _summaries(repo, list(stale)), strict=True):
        fresh[student] = [stamp, row]
    if fresh != known:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": SUMMARY_VERSION, "specs": fresh}), "utf-8")
            tmp.replace(cache)
    return [row for _, row in fresh.values()]


PARALLEL_MIN_SPECS = 1000  # below this, starting workers costs more than it saves


def _summaries(repo: Path, students: list[str]) -> list[dict[str, Any]]:
    """The summaries of ``students``' specs, parsed on every core when there are many."""
    workers = min(os.cpu_count() or 1, 8)
    if len(students) < PARALLEL_MIN_SPECS or workers < 2:
        return [summary(tenant_spec.require_spec(repo, s)) for s in students]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(students) // workers)
    shards = [(repo, students[i : i + size]) for i in range(0, len(students), size)]
    # fork: the workers inherit the loaded modules instead of importing them again
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [row for shard in pool.map(_shard, shards) for row in shard]


def _shard(job: tuple[Path, list[str]]) -> list[dict[str, Any]]:
    repo, students = job
    return [summary(tenant_spec.require_spec(repo, s)) for s in students]


def capacity_report(
    repo: Path,
    *,
    nodes_file: Path | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    at: str | None = None,
    tenants: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Capacity now (or ``at``), at the worst hour of the week, and over the week, as data.

    Units: cpu in cores, memory and storage in bytes. Keys: ``source``, ``time_zone``, ``at``;
    ``tenants``, ``suspended`` (counted in no sum: their quota allows no pods) and ``tiers``
    (count, one tenant's requests and limits per tier); ``quota`` (the sums of requests and
    limits); ``volumes`` (requests.storage against capacity.volume_storage,
    on the platform's StorageClass); ``groups`` (per room or pool: nodes, the tenants' nodes,
    why others are not, allocatable); ``now`` and ``worst`` (a snapshot: the rooms taken, the
    tenants' nodes and allocatable per group and in total, headroom, requested and overcommit
    ratios, and ``fits`` per tier with its binding resource; ``worst`` adds ``from``/``until``
    and ``next``, when it next begins); ``week`` (every segment, for the chart).
    """
    cfg = load_config(repo)
    nodes, source = load_nodes(cfg, nodes_file, kubeconfig, context)
    if tenants is None:
        tenants = read_summaries(repo)
    # A suspended tenant's quota allows no pods (term operations): it holds no capacity.
    totals = capacity.quota_totals(cfg, (t["tier"] for t in tenants if not t["suspended"]))
    table = cfg.timetable
    zone = table.zone()
    when = parse_at(at, zone) if at else dt.datetime.now(zone).replace(second=0, microsecond=0)
    minute = timetable.week_minute(when)
    now = capacity.snapshot(cfg, nodes, totals, capacity.taken_at(table, minute))
    now["when"] = timetable.week_clock(minute)
    segments, worst_i = capacity.week(cfg, nodes, totals)
    seg = segments[worst_i]
    worst = capacity.snapshot(cfg, nodes, totals, seg["taken"])
    ahead = (seg["start"] - minute) % timetable.WEEK
    if seg["start"] <= minute < seg["end"]:
        ahead = 0  # under way now
    worst.update(
        {
            "from": seg["from"],
            "until": seg["until"],
            "next": (when + dt.timedelta(minutes=ahead)).isoformat(timespec="minutes"),
        }
    )
    return {
        "source": source,
        "time_zone": table.time_zone,
        "at": when.isoformat(timespec="minutes"),
        "tenants": len(tenants),
        "suspended": sum(1 for t in tenants if t["suspended"]),
        "default_tier": cfg.default_tier,
        "tiers": {
            name: {
                "tenants": totals.tiers.get(name, 0),
                "requests": capacity.tier_requests(tier),
                "limits": capacity.tier_limits(tier),
            }
            for name, tier in cfg.tiers.items()
        },
        "quota": {"requests": totals.requests, "limits": totals.limits},
        "volumes": {
            "storage_class": cfg.baremetal.storage.class_name,
            "capacity": cfg.capacity.volume_storage,
            "requested": totals.requests[capacity.VOLUME],
        },
        "groups": _groups(cfg, nodes),
        "now": now,
        "worst": worst,
        "week": segments,
    }


def _groups(cfg: PlatformConfig, nodes: list[capacity.Node]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for node in nodes:
        row = rows.setdefault(
            node.group,
            {
                "group": node.group,
                "pool": node.pool,
                "room": node.room,
                "nodes": 0,
                "tenant_nodes": 0,
                "excluded": Counter(),
                "allocatable": dict.fromkeys(capacity.NODE_RESOURCES, 0.0),
            },
        )
        row["nodes"] += 1
        why = capacity.exclusion(node, cfg.tenant_pool)
        if why is None:
            row["tenant_nodes"] += 1
        else:
            row["excluded"][why] += 1
        for res in capacity.NODE_RESOURCES:
            row["allocatable"][res] += node.allocatable.get(res, 0.0)
    return [{**r, "excluded": dict(sorted(r["excluded"].items()))} for _, r in sorted(rows.items())]
