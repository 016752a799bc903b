"""The class timetable: rooms of lab PCs, their weekly class slots, and the schedule maths.

``kuploy.yaml``'s ``timetable:`` names rooms (the value of the ``kuploy.io/room`` label that
cluster-bootstrap sets on a room's PCs) and each room's weekly class slots, in one time zone.
A room is taken from tenants ``lead`` minutes before a class and given back when it ends.

Everything is counted in minutes of a local week, Monday 00:00 = 0 (Python's weekday order):
a slot is ``[start, end)`` on its day; a room's *windows* are its slots widened by the lead time
and merged where they overlap or touch (two classes with a break no longer than the lead keep
the room cordoned in between: giving it back for a few minutes would only move pods twice).
A window may start before Monday 00:00 (a Monday class) and so wrap round the week's end.
:func:`cron_jobs` turns windows into cron firings, :func:`room_states` answers "which rooms
are taken at time T". Both are pure; :func:`parse_timetable` reads the config strictly.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kuploy_gitops.config_fields import Reader
from kuploy_gitops.names import DNS_LABEL

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = Python's weekday()
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY = 24 * 60
WEEK = 7 * DAY
DEFAULT_TIME_ZONE = "Asia/Seoul"
DEFAULT_LEAD = 15
DEFAULT_DRAIN_TIMEOUT = 120
MAX_LEAD = 240  # four hours: longer is a typo, not a lead time
MAX_DRAIN_TIMEOUT = 3600
# A CronJob's name is at most 52 characters (its Jobs add 11); the longest suffix is
# "-uncordon-HHMM" (14), so a room name is at most 38.
MAX_ROOM = 38
ROOM_KEYS = ("slots",)
SLOT_KEYS = ("day", "start", "end")
TIMETABLE_KEYS = ("time_zone", "lead_minutes", "drain_timeout_seconds", "kubectl_image", "rooms")

CORDON = "cordon"
UNCORDON = "uncordon"
IN_CLASS = "in-class"
BEFORE_CLASS = "before-class"  # within the lead time, or a short break between two classes
FREE = "free"


@dataclass(frozen=True, order=True)
class Slot:
    """One weekly class: ``day`` (0 = Monday) from ``start`` to ``end`` (minutes of the day)."""

    day: int
    start: int
    end: int

    @property
    def week_start(self) -> int:
        """Minute of the week the class starts."""
        return self.day * DAY + self.start

    @property
    def week_end(self) -> int:
        """Minute of the week the class ends (exclusive)."""
        return self.day * DAY + self.end

    def describe(self) -> str:
        """``mon 09:00-10:15``."""
        return f"{DAYS[self.day]} {clock(self.start)}-{clock(self.end)}"


@dataclass(frozen=True)
class Room:
    """A room: its name (the ``kuploy.io/room`` label value of its PCs) and its slots, sorted."""

    name: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Window:
    """A stretch of the week a room is taken: ``[start, end)``, ``0 <= start < WEEK``.

    ``end`` may pass ``WEEK``: the window then wraps into the next week's start.
    """

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        """Whether ``minute`` (of the week) falls in the window, wrapping round the week."""
        return (minute - self.start) % WEEK < self.end - self.start


@dataclass(frozen=True)
class Timetable:
    """The parsed ``timetable:`` of kuploy.yaml (no rooms: nothing is rendered)."""

    time_zone: str = DEFAULT_TIME_ZONE
    lead: int = DEFAULT_LEAD
    drain_timeout: int = DEFAULT_DRAIN_TIMEOUT
    kubectl_image: str = ""  # empty: registry.k8s.io/kubectl at the cluster's version
    rooms: tuple[Room, ...] = field(default_factory=tuple)

    def room(self, name: str) -> Room | None:
        """The room called ``name``, or None."""
        return next((r for r in self.rooms if r.name == name), None)

    def zone(self) -> zoneinfo.ZoneInfo:
        """The time zone (checked when parsed)."""
        return zoneinfo.ZoneInfo(self.time_zone)


def clock(minutes: int) -> str:
    """Minutes of the day as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def week_clock(minute: int) -> str:
    """Minute of the week as ``mon 09:00``."""
    minute %= WEEK
    return f"{DAYS[minute // DAY]} {clock(minute % DAY)}"


# --------------------------------------------------------------------------------------------
# The schedule maths


def windows(room: Room, lead: int) -> list[Window]:
    """The room's taken windows: each slot widened by ``lead`` before it, merged, week-wrapped.

    Raises:
        ValueError: the windows cover the whole week (the room would never be given back).
    """
    spans = sorted((s.week_start - lead, s.week_end) for s in room.slots)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    # The last window of the week may reach the first one (which may start before Monday).
    if len(merged) > 1 and merged[0][0] + WEEK <= merged[-1][1]:
        first = merged.pop(0)
        merged[-1][1] = max(merged[-1][1], first[1] + WEEK)
    out: list[Window] = []
    for start, end in merged:
        if end - start >= WEEK:
            raise ValueError(f"room {room.name} would never be free")
        shift = (start % WEEK) - start
        out.append(Window(start + shift, end + shift))
    return sorted(out, key=lambda w: w.start)


@dataclass(frozen=True)
class Firing:
    """One CronJob: ``action`` on ``room`` at ``minute`` of the day, on ``days`` (0 = Monday)."""

    room: str
    action: str
    minute: int
    days: tuple[int, ...]

    @property
    def schedule(self) -> str:
        """The cron expression (``minute hour * * day-of-week``, cron's Sunday = 0)."""
        dows = ",".join(str(d) for d in sorted((day + 1) % 7 for day in self.days))
        return f"{self.minute % 60} {self.minute // 60} * * {dows}"

    @property
    def name(self) -> str:
        """The CronJob's name: ``<room>-<action>-HHMM`` (one per room, action and time)."""
        return f"{self.room}-{self.action}-{clock(self.minute).replace(':', '')}"


def cron_jobs(timetable: Timetable) -> list[Firing]:
    """Every cordon and uncordon of every room, one per (room, action, time of day).

    A room is cordoned (and drained) at each window's start and uncordoned at its end; the
    days sharing a time of day share one CronJob.
    """
    grouped: dict[tuple[str, str, int], set[int]] = {}
    for room in timetable.rooms:
        for w in windows(room, timetable.lead):
            for action, minute in ((CORDON, w.start), (UNCORDON, w.end)):
                minute %= WEEK
                grouped.setdefault((room.name, action, minute % DAY), set()).add(minute // DAY)
    return [
        Firing(room, action, minute, tuple(sorted(days)))
        for (room, action, minute), days in sorted(grouped.items())
    ]


@dataclass(frozen=True)
class RoomState:
    """Where a room stands at one moment (times are aware datetimes in the timetable's zone).

    ``slot``: the class under way (in-class), the next one (before-class, free).
    ``since``/``until``: the window the room is in (taken) or the free stretch it is in.
    """

    room: str
    state: str
    slot: Slot
    since: dt.datetime
    until: dt.datetime


def week_minute(at: dt.datetime) -> int:
    """Minute of the local week of a wall-clock time."""
    return at.weekday() * DAY + at.hour * 60 + at.minute


def _at_minute(base: dt.datetime, monday: dt.date, minute: int) -> dt.datetime:
    """The wall-clock time ``minute`` minutes after ``monday`` 00:00, in ``base``'s zone."""
    naive = dt.datetime.combine(monday, dt.time()) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=base.tzinfo)


def room_states(timetable: Timetable, at: dt.datetime) -> list[RoomState]:
    """Where each room stands at ``at`` (any aware datetime; naive: the timetable's zone)."""
    local = at.replace(tzinfo=timetable.zone()) if at.tzinfo is None else at
    local = local.astimezone(timetable.zone())
    now = week_minute(local)
    monday = local.date() - dt.timedelta(days=local.weekday())
    out: list[RoomState] = []
    for room in timetable.rooms:
        wins = windows(room, timetable.lead)
        taken = next((w for w in wins if w.contains(now)), None)
        if taken is not None:
            start = now - (now - taken.start) % WEEK  # the window's start before or at now
            state, until = BEFORE_CLASS, start + taken.end - taken.start
            since = start
        else:
            # Free from the end of the last window until the start of the next one.
            since = now - min((now - w.end) % WEEK for w in wins)
            until = now + min((w.start - now) % WEEK for w in wins)
            state = FREE
        slot = _slot_at(room, now) if taken is not None else None
        if slot is not None:
            state = IN_CLASS
        else:
            slot = _next_slot(room, now)
        out.append(
            RoomState(
                room.name,
                state,
                slot,
                _at_minute(local, monday, since),
                _at_minute(local, monday, until),
            )
        )
    return out


def _slot_at(room: Room, minute: int) -> Slot | None:
    return next((s for s in room.slots if s.week_start <= minute < s.week_end), None)


def _next_slot(room: Room, minute: int) -> Slot:
    return min(room.slots, key=lambda s: (s.week_start - minute) % WEEK)


# --------------------------------------------------------------------------------------------
# Parsing kuploy.yaml's timetable:


def parse_timetable(r: Reader, data: Any) -> Timetable:
    """``timetable:`` of kuploy.yaml (missing or empty: no rooms); one clear error per problem."""
    if data is None:
        return Timetable()
    t = r.mapping(data, "timetable")
    r.known_keys(t, TIMETABLE_KEYS, "timetable")
    zone = t.get("time_zone", DEFAULT_TIME_ZONE)
    _check_zone(r, zone)
    lead = _integer(r, t, "lead_minutes", DEFAULT_LEAD, 0, MAX_LEAD)
    drain = _integer(r, t, "drain_timeout_seconds", DEFAULT_DRAIN_TIMEOUT, 10, MAX_DRAIN_TIMEOUT)
    image = t.get("kubectl_image") or ""
    if not isinstance(image, str) or any(c.isspace() for c in image):
        raise r.fail(
            "timetable.kubectl_image",
            f"{image!r} is not an image reference",
            hint="e.g. registry.k8s.io/kubectl:v1.36.4@sha256:<digest>, or '' for the default",
        )
    rooms_data = r.mapping(t.get("rooms") or {}, "timetable.rooms")
    rooms = tuple(_room(r, name, value) for name, value in rooms_data.items())
    timetable = Timetable(str(zone), lead, drain, image, rooms)
    for room in rooms:
        try:
            windows(room, lead)
        except ValueError as exc:
            raise r.fail(f"timetable.rooms.{room.name}", str(exc)) from exc
    return timetable


def _check_zone(r: Reader, zone: Any) -> None:
    # Kubernetes refuses "Local" (the controller's own zone) and TZ= prefixes in timeZone.
    bad = not isinstance(zone, str) or not zone or zone == "Local" or "TZ" in zone
    if not bad:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            bad = True
    if bad:
        raise r.fail(
            "timetable.time_zone",
            f"{zone!r} is not an IANA time zone",
            hint=f"write one like {DEFAULT_TIME_ZONE} or Europe/Berlin (install tzdata if "
            "a real zone is refused)",
        )


def _integer(
    r: Reader, data: Mapping[str, Any], key: str, default: int, low: int, high: int
) -> int:
    value = data.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise r.fail(f"timetable.{key}", f"{value!r} is not a whole number from {low} to {high}")
    return value


def _room(r: Reader, name: Any, data: Any) -> Room:
    path = f"timetable.rooms.{name}"
    if not isinstance(name, str) or not DNS_LABEL.match(name) or len(name) > MAX_ROOM:
        raise r.fail(
            path,
            f"{name!r} is not a room name",
            hint=f"lowercase letters, digits and '-', at most {MAX_ROOM} characters (it is "
            "the kuploy.io/room label of the room's PCs), e.g. b204",
        )
    room = r.mapping(data, path)
    r.known_keys(room, ROOM_KEYS, path)
    slots_data = r.get(room, "slots", path)
    if not isinstance(slots_data, list) or not slots_data:
        raise r.fail(f"{path}.slots", f"expected a list of class slots, got {slots_data!r}")
    slots = sorted(_slot(r, f"{path}.slots[{i}]", s) for i, s in enumerate(slots_data))
    for a, b in zip(slots, slots[1:], strict=False):
        if b.week_start < a.week_end:
            raise r.fail(
                f"{path}.slots",
                f"{a.describe()} and {b.describe()} overlap",
                hint="a room holds one class at a time: fix the times or merge the slots",
            )
    return Room(name, tuple(slots))


def _slot(r: Reader, path: str, data: Any) -> Slot:
    slot = r.mapping(data, path)
    r.known_keys(slot, SLOT_KEYS, path)
    day = r.get(slot, "day", path)
    if not isinstance(day, str) or day.lower() not in DAYS + DAY_NAMES:
        raise r.fail(f"{path}.day", f"{day!r} is not a day", hint=f"use one of {', '.join(DAYS)}")
    start = _time(r, f"{path}.start", r.get(slot, "start", path))
    end = _time(r, f"{path}.end", r.get(slot, "end", path))
    if end <= start:
        raise r.fail(
            f"{path}.end",
            f"{clock(end)} is not after start {clock(start)}",
            hint="a slot ends on the day it starts: split a class that runs past midnight",
        )
    return Slot(DAYS.index(day.lower()[:3]), start, end)


def _time(r: Reader, path: str, value: Any) -> int:
    text = value if isinstance(value, str) else ""
    hours, _, minutes = text.partition(":")
    if (
        len(hours) != 2
        or len(minutes) != 2
        or not (hours + minutes).isdigit()
        or int(hours) > 23
        or int(minutes) > 59
    ):
        raise r.fail(
            path, f"{value!r} is not a time of day", hint="write it quoted as HH:MM, e.g. '09:00'"
        )
    return int(hours) * 60 + int(minutes)
