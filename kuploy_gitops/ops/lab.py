"""``lab``: which rooms the class timetable takes at a given time, and where tenant pods may run.

Read-only: it reads kuploy.yaml's ``timetable`` (never the cluster) and answers with the
same schedule maths that the rendered CronJobs come from (:mod:`kuploy_gitops.timetable`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kuploy_gitops import config, layout, timetable
from kuploy_gitops.errors import InvalidInputError

AT_FORMAT = "YYYY-MM-DD HH:MM"


def parse_at(text: str, zone: dt.tzinfo) -> dt.datetime:
    """``--at``: ``YYYY-MM-DD HH:MM`` in the timetable's zone, or ISO 8601 with an offset."""
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"--at {text!r} is not a time",
            hint=f'write it as {AT_FORMAT} (in the timetable\'s zone), e.g. "2026-12-01 10:00"',
        ) from None
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)


def tenant_selector(cfg: config.PlatformConfig, taken: list[str]) -> str:
    """The node label selector of where tenant pods may run while ``taken`` rooms are out."""
    parts = [f"{layout.POOL_LABEL}={cfg.tenant_pool}"] if cfg.tenant_pool else []
    if taken:
        parts.append(f"{layout.ROOM_LABEL} notin ({','.join(taken)})")
    return ",".join(parts)


def lab_status(repo: Path, at: str | None = None, rooms: tuple[str, ...] = ()) -> dict[str, Any]:
    """Each room's state at ``at`` (default: now) and where tenant pods may run then.

    The answer is data (for ``-o json``): ``at`` and ``time_zone``; ``rooms``, one entry per
    room (``room``, ``state`` in-class/before-class/free, ``class`` the slot under way or
    next, ``since``/``until`` the stretch the room is in); ``taken`` the rooms out of the
    tenants' pool; ``tenant_nodes`` a kubectl label selector of the nodes tenant pods may use.

    Raises:
        InvalidInputError: ``at`` is not a time; a room of ``rooms`` is not in the timetable.
    """
    cfg = config.load_config(repo)
    table = cfg.timetable
    zone = table.zone()
    when = parse_at(at, zone) if at else dt.datetime.now(zone)
    for name in rooms:
        if table.room(name) is None:
            known = ", ".join(r.name for r in table.rooms) or "none"
            raise InvalidInputError(
                f"unknown room {name!r} (the timetable's rooms: {known})",
                hint=f"add it under timetable.rooms in {layout.CONFIG_FILE}, or pick a listed one",
            )
    states = timetable.room_states(table, when)
    taken = [s.room for s in states if s.state != timetable.FREE]
    return {
        "at": when.isoformat(timespec="minutes"),
        "time_zone": table.time_zone,
        "lead_minutes": table.lead,
        "rooms": [
            {
                "room": s.room,
                "state": s.state,
                "class": s.slot.describe(),
                "since": s.since.isoformat(timespec="minutes"),
                "until": s.until.isoformat(timespec="minutes"),
            }
            for s in states
            if not rooms or s.room in rooms
        ],
        "taken": taken,
        "tenant_nodes": tenant_selector(cfg, taken),
    }
