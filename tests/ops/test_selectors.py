"""Listing selectors: key=value and key!=value, all must hold, list columns by membership."""

from __future__ import annotations

import pytest

from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.ops.selectors import matching, parse_selector

KEYS = ("student", "tier", "course", "app")
ROWS = [
    {"student": "kim", "tier": "small", "course": "cs101", "apps": ["web"]},
    {"student": "lee", "tier": "large", "course": "cs101", "apps": []},
    {"student": "park", "tier": "small", "course": "cs202", "apps": ["web", "api"]},
]


@pytest.mark.parametrize(
    ("selector", "students"),
    [
        ("", ["kim", "lee", "park"]),
        ("course=cs101", ["kim", "lee"]),
        ("course==cs101,tier!=large", ["kim"]),
        (" tier = small , app=api ", ["park"]),
        ("app!=web", ["lee"]),
        ("course=cs999", []),
    ],
)
def test_selectors_select(selector: str, students: list[str]) -> None:
    assert [r["student"] for r in matching(ROWS, selector, KEYS)] == students


@pytest.mark.parametrize(
    ("selector", "says"),
    [("course", "'course' is not key=value"), ("colour=red", "'colour' is not a column")],
)
def test_bad_selectors_are_one_line_naming_them(selector: str, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        parse_selector(selector, KEYS)
