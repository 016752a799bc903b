"""kuploy.yaml's timetable is read strictly: each bad value is one line naming the key and value."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config, timetable
from kuploy_gitops.errors import ConfigError


def data(**timetable_keys: Any) -> dict[str, Any]:
    d = config.default_config_data()
    d["timetable"] = {
        "rooms": {"b204": {"slots": [{"day": "mon", "start": "09:00", "end": "10:15"}]}},
        **timetable_keys,
    }
    return d


def slots(*items: dict[str, Any]) -> dict[str, Any]:
    return {"b204": {"slots": list(items)}}


MON = {"day": "mon", "start": "09:00", "end": "10:15"}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"time_zone": "Mars/Olympus"},
            "timetable.time_zone: 'Mars/Olympus' is not an IANA time zone",
        ),
        ({"time_zone": "Local"}, "timetable.time_zone: 'Local' is not an IANA time zone"),
        ({"lead_minutes": -5}, "timetable.lead_minutes: -5 is not a whole number from 0 to 240"),
        ({"lead_minutes": "15"}, "timetable.lead_minutes: '15' is not a whole number"),
        ({"drain_timeout_seconds": 0}, "timetable.drain_timeout_seconds: 0 is not a whole number"),
        ({"kubectl_image": "a b"}, "timetable.kubectl_image: 'a b' is not an image reference"),
        ({"lead": 15}, "timetable.lead: unknown key"),
        ({"rooms": {"B 204": MON}}, "timetable.rooms.B 204: 'B 204' is not a room name"),
        ({"rooms": {"r" * 39: {"slots": [MON]}}}, "is not a room name"),
        (
            {"rooms": {"b204": {"slots": []}}},
            "timetable.rooms.b204.slots: expected a list of class",
        ),
        ({"rooms": {"b204": {"slot": [MON]}}}, "timetable.rooms.b204.slot: unknown key"),
        (
            {"rooms": slots({**MON, "day": "funday"})},
            "rooms.b204.slots[0].day: 'funday' is not a day",
        ),
        ({"rooms": slots({**MON, "start": "9:00"})}, "slots[0].start: '9:00' is not a time of day"),
        ({"rooms": slots({**MON, "start": 540})}, "slots[0].start: 540 is not a time of day"),
        ({"rooms": slots({**MON, "end": "24:00"})}, "slots[0].end: '24:00' is not a time of day"),
        ({"rooms": slots({**MON, "end": "08:00"})}, "slots[0].end: 08:00 is not after start 09:00"),
        ({"rooms": slots({**MON, "room": "x"})}, "slots[0].room: unknown key"),
        (
            {"rooms": slots(MON, {"day": "monday", "start": "10:00", "end": "11:00"})},
            "timetable.rooms.b204.slots: mon 09:00-10:15 and mon 10:00-11:00 overlap",
        ),
    ],
)
def test_each_bad_value_is_one_clear_line(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse_config(data(**keys))
    text = str(info.value)
    assert message in text and "\n" not in text
    assert info.value.exit_code == 3


def test_a_room_taken_all_week_is_refused() -> None:
    every_day = [{"day": d, "start": "00:00", "end": "23:59"} for d in timetable.DAYS]
    with pytest.raises(ConfigError, match="room b204 would never be free"):
        config.parse_config(data(rooms={"b204": {"slots": every_day}}))


def test_defaults_and_full_day_names() -> None:
    cfg = config.parse_config(data())
    assert (cfg.timetable.time_zone, cfg.timetable.lead, cfg.timetable.drain_timeout) == (
        "Asia/Seoul", 15, 120,
    )  # fmt: skip
    cfg = config.parse_config(
        data(rooms=slots({"day": "Sunday", "start": "23:00", "end": "23:30"}))
    )
    assert cfg.timetable.rooms[0].slots == (timetable.Slot(6, 23 * 60, 23 * 60 + 30),)


def test_a_config_without_a_timetable_has_no_rooms() -> None:
    d = config.default_config_data()
    del d["timetable"]
    assert config.parse_config(d).timetable.rooms == ()
