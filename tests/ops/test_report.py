"""`kuploy-gitops report --out DIR`: one self-contained page whose numbers are `capacity -o json`'s,
hostile names escaped; and the page in a real headless Chromium (slow tier)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kuploy_gitops import cli, config, layout, yamlio
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec, dump_spec

AT = "2026-12-02 10:00"
HOSTILE_COURSE = "</td><script>alert(1)</script>"
HOSTILE_NAME = '"><img src=x onerror=alert(2)>'
TENANTS = [
    TenantSpec("kim-minji", "small", course=HOSTILE_COURSE, name=HOSTILE_NAME, expires="2026-12-10",
               apps=(AppSpec("web", "managed", image="ghcr.io/x/web:1", port=8080),)),
    TenantSpec("lee-jun", "large", course="cs101", expires="2026-11-01"),
    TenantSpec("park-sol", "small", course="cs101", expires="2027-02-01"),
    TenantSpec("choi-ara", "small", course="cs102"),
]  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "platform"
    data = config.default_config_data()
    data["timetable"]["rooms"] = {
        "b204": {"slots": [{"day": "tue", "start": "09:00", "end": "12:00"}]}
    }
    data["capacity"] = {
        "rooms": {"b204": {"nodes": 4, "cpu": "8", "memory": "16Gi", "ephemeral_storage": "50Gi"}},
        "pools": {"lab": {"nodes": 1, "cpu": "4", "memory": "8Gi"}},
    }
    path.mkdir()
    (path / layout.CONFIG_FILE).write_text(yamlio.dump(data))
    (path / layout.TENANTS_DIR).mkdir()
    for spec in TENANTS:  # written as files: the page must escape what a spec may hold
        (path / layout.tenant_spec(spec.student)).write_text(dump_spec(spec))
    return path


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, ["-C", str(repo), *args], env={"NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def page(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    code, stdout, err = run(repo, "report", "--out", str(out), "--at", AT, "--warn-days", "10")
    assert code == 0, err
    assert stdout.strip() == f"wrote {out / 'index.html'}"
    return out / "index.html"


class Page(HTMLParser):
    """The elements of a page: tags with attributes, script bodies, table rows' cell texts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.rows: dict[str, list[list[str]]] = {}
        self._table: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._script: dict[str, str | None] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
        elif tag == "table":
            self._table.append(dict(attrs).get("id") or "")
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table.pop()
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._table[-1], []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts.append((self._script, data))
            self._script = None
        elif self._cell is not None:
            self._cell.append(data)


def json_at(data: Any, key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def test_the_page_carries_capacity_json_and_shows_its_numbers(repo: Path, page: Path) -> None:
    code, out, _ = run(repo, "capacity", "--at", AT, "-o", "json")
    assert code == 0
    expected = json.loads(out)
    parsed = Page(page.read_text(encoding="utf-8"))
    data = [body for attrs, body in parsed.scripts if attrs.get("id") == "capacity-data"]
    assert len(data) == 1 and json.loads(data[0]) == expected
    cells = [attrs for tag, attrs in parsed.tags if "data-key" in attrs]
    assert len(cells) >= 20
    for attrs in cells:
        value = json_at(expected, str(attrs["data-key"]))
        assert attrs["data-value"] == ("" if value is None else str(value)), attrs
    # The worst hour: Tuesday 08:45-12:00, when b204's four PCs are out and one PC is left.
    assert expected["worst"]["from"] == "tue 08:45" and expected["worst"]["nodes"] == 1


def test_the_chart_and_the_tables(page: Path) -> None:
    parsed = Page(page.read_text(encoding="utf-8"))
    svg = [attrs for tag, attrs in parsed.tags if tag == "svg"]
    assert len(svg) == 1 and svg[0]["id"] == "week-chart"
    line = next(attrs for tag, attrs in parsed.tags if attrs.get("id") == "allocatable-line")
    points = str(line["points"]).split()
    assert len(points) == 2 * 3  # three segments: free, Tuesday's class, free
    heights = [float(p.split(",")[1]) for p in points]
    assert heights[0] == heights[-1] < heights[2]  # lower on the chart is less: SVG's y is down
    in_class = [attrs for tag, attrs in parsed.tags if tag == "rect"]
    assert len(in_class) == 1
    tenants = {row[0]: row for row in parsed.rows["tenants-table"][1:]}
    assert set(tenants) == {s.student for s in TENANTS}
    assert tenants["kim-minji"] == ["kim-minji", HOSTILE_NAME, HOSTILE_COURSE, "", "small", "web",
                                    "2026-12-10", "active"]  # fmt: skip
    assert tenants["lee-jun"][-1] == "expired" and tenants["choi-ara"][-1] == "active"
    # --warn-days 10 from 2026-12-02: kim-minji (8 days); park-sol (61) is not; lee-jun expired.
    assert [row[0] for row in parsed.rows["expiring-table"][1:]] == ["kim-minji"]
    assert parsed.rows["expiring-table"][1][-1] == "8"


def test_hostile_names_are_text_not_markup(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    parsed = Page(text)
    assert not [t for t, _ in parsed.tags if t == "img"]
    # The page's own three scripts only: the error recorder, the data, the figure check.
    assert len([t for t, _ in parsed.tags if t == "script"]) == 3
    assert "alert(" not in "".join(body for attrs, body in parsed.scripts if not attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert" not in text and "<img" not in text


def test_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+", text))
    assert urls <= {"http://www.w3.org"}, urls  # the SVG namespace is a name, never fetched
    tags = Page(text).tags
    assert not [(t, a) for t, a in tags if {"src", "href"} & set(a) or t in ("link", "iframe")]


def test_out_cannot_be_made(repo: Path, tmp_path: Path) -> None:
    file = tmp_path / "a-file"
    file.write_text("x")
    code, out, err = run(repo, "report", "--out", str(file / "site"), "--at", AT)
    assert code == 4 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"error: --out {file / 'site'}: cannot write index.html there")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.mark.slow
def test_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required (Debian package chromium; .ci/run installs it)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = Page(proc.stdout)
    html = next(attrs for tag, attrs in dom.tags if tag == "html")
    # The page's own check ran: every figure with a data-key equals the embedded JSON.
    assert html["data-errors"] == "0", html.get("data-last-error")
    assert int(str(html["data-checked"])) >= 20 and html["data-mismatches"] == ""
    assert html["data-tenants"] == str(len(TENANTS))
    assert "Uncaught" not in proc.stderr
    assert any(tag == "svg" for tag, _ in dom.tags)
    assert any(tag == "polyline" for tag, _ in dom.tags)
    assert len(dom.rows["tenants-table"]) == 1 + len(TENANTS)
    assert not any(tag == "img" for tag, _ in dom.tags)
