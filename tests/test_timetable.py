"""The class timetable's schedule maths: the rendered CronJobs fire at the right minutes.

The CronJobs come from ``render`` (the objects as the cluster gets them); a small cron
evaluator of their own fields runs them over every minute of a week, in their ``timeZone``,
and what fires is compared with the timetable written as a person reads it. The same week,
played minute by minute, must agree with ``room_states`` (what `lab` shows).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from kuploy_gitops import config, layout, render, timetable, yamlio

# b204: two Monday classes 15 min apart (one window), a Wednesday class at Monday's time (one
# CronJob for both days), a Tuesday class just after midnight (its lead starts on Monday).
# c301: a Monday class just after midnight, whose lead starts on Sunday, and a late Sunday
# class: the two windows meet across the week's end.
ROOMS = {
    "b204": [
        ("mon", "09:00", "10:15"),
        ("mon", "10:30", "11:45"),
        ("wed", "09:00", "10:15"),
        ("tue", "00:05", "01:00"),
    ],
    "c301": [("mon", "00:10", "01:00"), ("sun", "23:00", "23:58")],
}
# What a person reads off that timetable with a 15-minute lead.
EXPECTED = {
    ("b204", "cordon", "mon 08:45"),
    ("b204", "uncordon", "mon 11:45"),
    ("b204", "cordon", "wed 08:45"),
    ("b204", "uncordon", "wed 10:15"),
    ("b204", "cordon", "mon 23:50"),
    ("b204", "uncordon", "tue 01:00"),
    ("c301", "cordon", "sun 22:45"),
    ("c301", "uncordon", "mon 01:00"),
}
MONDAY = dt.date(2026, 11, 30)  # a Monday


def config_data(rooms: dict[str, list[tuple[str, str, str]]], **options: Any) -> dict[str, Any]:
    data = config.default_config_data()
    data["timetable"].update(options)
    data["timetable"]["rooms"] = {
        room: {"slots": [{"day": d, "start": s, "end": e} for d, s, e in slots]}
        for room, slots in rooms.items()
    }
    return data


def cron_jobs(data: dict[str, Any]) -> list[dict[str, Any]]:
    files = render.render_platform(config.parse_config(data))
    objects = yamlio.load_all(files[layout.platform_file("timetable")])
    return [o for o in objects if o["kind"] == "CronJob"]


def _field(text: str, low: int, high: int) -> set[int]:
    """One cron field: ``*`` or a comma list of numbers (all the timetable writes)."""
    if text == "*":
        return set(range(low, high + 1))
    values = {int(v) for v in text.split(",")}
    assert all(low <= v <= high for v in values), text
    return values


def fires(schedule: str, local: dt.datetime) -> bool:
    """Whether a five-field cron schedule fires at the wall-clock minute ``local``."""
    minute, hour, dom, month, dow = schedule.split()
    assert (dom, month) == ("*", "*"), schedule
    cron_dow = (local.weekday() + 1) % 7  # cron: Sunday = 0
    return (
        local.minute in _field(minute, 0, 59)
        and local.hour in _field(hour, 0, 23)
        and cron_dow in _field(dow, 0, 6)
    )


def week_of_firings(
    jobs: list[dict[str, Any]], start_utc: dt.datetime
) -> list[tuple[dt.datetime, str, str]]:
    """(UTC instant, room, action) of every firing in the week from ``start_utc``, in order."""
    out = []
    for i in range(7 * 24 * 60):
        instant = start_utc + dt.timedelta(minutes=i)
        for job in jobs:
            local = instant.astimezone(zoneinfo.ZoneInfo(job["spec"]["timeZone"]))
            if fires(job["spec"]["schedule"], local):
                labels = job["metadata"]["labels"]
                action = job["metadata"]["name"].split("-")[-2]
                out.append((instant, labels[layout.ROOM_LABEL], action))
    return out


def seoul_week_start() -> dt.datetime:
    return dt.datetime.combine(MONDAY, dt.time(), zoneinfo.ZoneInfo("Asia/Seoul")).astimezone(
        dt.UTC
    )


def test_cron_jobs_fire_at_the_timetable_minutes_in_seoul() -> None:
    jobs = cron_jobs(config_data(ROOMS))
    assert {j["spec"]["timeZone"] for j in jobs} == {"Asia/Seoul"}
    seen = week_of_firings(jobs, seoul_week_start())
    seoul = zoneinfo.ZoneInfo("Asia/Seoul")
    got = {
        (room, action, timetable.week_clock(timetable.week_minute(t.astimezone(seoul))))
        for t, room, action in seen
    }
    assert got == EXPECTED
    assert len(seen) == len(EXPECTED)  # each fires once a week
    # The zone is real: Sunday 22:45 in Seoul is 13:45 UTC, and Monday 08:45 is Sunday 23:45 UTC.
    utc = {(room, action, t.strftime("%a %H:%M")) for t, room, action in seen}
    assert ("c301", "cordon", "Sun 13:45") in utc
    assert ("b204", "cordon", "Sun 23:45") in utc


def test_one_cron_job_per_room_action_and_time_of_day() -> None:
    jobs = {j["metadata"]["name"]: j["spec"]["schedule"] for j in cron_jobs(config_data(ROOMS))}
    assert jobs["b204-cordon-0845"] == "45 8 * * 1,3"
    assert len(jobs) == 7  # 8 firings; two share a time of day


def test_another_zone_moves_every_firing() -> None:
    jobs = cron_jobs(config_data(ROOMS, time_zone="Europe/Berlin"))
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    start = dt.datetime.combine(MONDAY, dt.time(), berlin).astimezone(dt.UTC)
    got = {
        (room, action, timetable.week_clock(timetable.week_minute(t.astimezone(berlin))))
        for t, room, action in week_of_firings(jobs, start)
    }
    assert got == EXPECTED
    assert {j["spec"]["timeZone"] for j in jobs} == {"Europe/Berlin"}


@pytest.mark.parametrize("lead", [0, 15, 45])
def test_a_week_played_by_the_cron_jobs_matches_what_lab_shows(lead: int) -> None:
    data = config_data(ROOMS, lead_minutes=lead)
    cfg = config.parse_config(data)
    start = seoul_week_start()
    events = {(t, room): action for t, room, action in week_of_firings(cron_jobs(data), start)}
    seoul = cfg.timetable.zone()
    # The state at the week's start is what the end of the week left: play it twice.
    taken = {room: False for room in ROOMS}
    for lap in range(2):
        for i in range(7 * 24 * 60):
            instant = start + dt.timedelta(minutes=i)
            for room in ROOMS:
                action = events.get((instant, room))
                if action:
                    # Cordon and uncordon alternate (unknown before the first of lap 0).
                    assert lap == 0 or taken[room] != (action == "cordon"), (room, instant)
                    taken[room] = action == "cordon"
            if lap == 1:
                states = timetable.room_states(cfg.timetable, instant.astimezone(seoul))
                shown = {s.room: s.state != timetable.FREE for s in states}
                assert shown == taken, instant.astimezone(seoul)


def test_room_states_name_the_class_and_the_stretch() -> None:
    cfg = config.parse_config(config_data(ROOMS))
    seoul = cfg.timetable.zone()

    def state(day: int, clock: str) -> dict[str, tuple[str, str, str, str]]:
        hour, minute = map(int, clock.split(":"))
        at = dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(hour, minute), seoul)
        return {
            s.room: (s.state, s.slot.describe(), s.since.strftime("%a %H:%M"),
                     s.until.strftime("%a %H:%M"))
            for s in timetable.room_states(cfg.timetable, at)
        }  # fmt: skip

    assert state(0, "08:50")["b204"] == (
        "before-class",
        "mon 09:00-10:15",
        "Mon 08:45",
        "Mon 11:45",
    )
    assert state(0, "10:20")["b204"] == (
        "before-class",
        "mon 10:30-11:45",
        "Mon 08:45",
        "Mon 11:45",
    )
    assert state(0, "11:00")["b204"] == ("in-class", "mon 10:30-11:45", "Mon 08:45", "Mon 11:45")
    assert state(0, "11:45")["b204"] == ("free", "tue 00:05-01:00", "Mon 11:45", "Mon 23:50")
    # Across the week's end: Sunday night's class runs into Monday's lead.
    assert state(6, "23:59")["c301"] == (
        "before-class",
        "mon 00:10-01:00",
        "Sun 22:45",
        "Mon 01:00",
    )
    assert state(0, "00:30")["c301"] == ("in-class", "mon 00:10-01:00", "Sun 22:45", "Mon 01:00")


def test_no_rooms_render_nothing() -> None:
    files = render.render_platform(config.parse_config(config.default_config_data()))
    assert layout.platform_file("timetable") not in files
