"""``report --out DIR``: one static page (index.html) of the week's capacity and the tenants.

The page is self-contained (inline CSS and SVG, no script but a tiny error recorder, no URL
outside itself) so it opens from a file, offline, and can be mailed or published as is. Its
numbers come from :func:`ops.capacity.capacity_report`, the function behind ``capacity -o
json``, whose answer the page also carries verbatim in ``<script type="application/json"
id="capacity-data">``. Every value reaches the HTML through jinja2's autoescape (the template,
``templates/report/index.html.j2``, is for humans to restyle).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kuploy_gitops import capacity, render, timetable
from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.ops.capacity import capacity_report, read_summaries

TEMPLATE = "report/index.html.j2"
PAGE = "index.html"
DEFAULT_WARN_DAYS = 14
# The chart's drawing area, in SVG user units (the SVG scales to the page's width).
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 840, 260, 56, 28, 12
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def tenant_rows(
    tenants: Sequence[Mapping[str, Any]], today: dt.date, warn_days: int
) -> list[dict[str, Any]]:
    """One row per tenant summary (ops.capacity.summary) with its status and days left.

    Status: ``suspended`` when the spec says so (term operations), else ``expired`` past its
    expiry date, else ``active``. ``expiring`` marks an active tenant within ``warn_days``.
    """
    rows = []
    for t in tenants:
        days: int | None = None
        with contextlib.suppress(ValueError):  # a hand-edited date: shown, never counted
            days = (dt.date.fromisoformat(t["expires"]) - today).days if t["expires"] else None
        status = "active"
        if t.get("suspended"):
            status = "suspended"
        elif days is not None and days < 0:
            status = "expired"
        rows.append(
            {
                **t,
                "apps": ", ".join(t["apps"]),
                "status": status,
                "days_left": days,
                "expiring": status == "active" and days is not None and days <= warn_days,
            }
        )
    return rows


def chart(report: Mapping[str, Any]) -> dict[str, Any]:
    """The week as an SVG step chart, Monday 00:00 to Sunday 24:00 (coordinates as data).

    It draws the allocatable CPU of the tenants' nodes against the quotas' requested CPU.
    """
    week = report["week"]
    requested = float(report["quota"]["requests"]["cpu"])
    top = max([requested, *(float(s["allocatable"]["cpu"]) for s in week), 1.0]) * 1.1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP

    def x(minute: int) -> float:
        return round(LEFT + plot_w * minute / timetable.WEEK, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    points: list[str] = []
    bars = []
    for s in week:
        cpu = float(s["allocatable"]["cpu"])
        points += [f"{x(s['start'])},{y(cpu)}", f"{x(s['end'])},{y(cpu)}"]
        if s["taken"]:
            bars.append(
                {
                    "x": x(s["start"]),
                    "w": round(x(s["end"]) - x(s["start"]), 1),
                    "title": f"{s['from']}-{s['until']}: {', '.join(s['taken'])} in class",
                }
            )
    ticks = [round(top / 1.1 * i / 4, 2) for i in range(5)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "right": WIDTH - 8,
        "allocatable": " ".join(points),
        "requested_y": y(requested),
        "requested": requested,
        "bars": bars,
        "y_ticks": [{"y": y(t), "label": f"{t:g}"} for t in ticks],
        "days": [{"x": x(i * timetable.DAY), "label": DAY_NAMES[i]} for i in range(7)],
        "worst_x": x(week[_worst_index(report)]["start"]),
    }


def _worst_index(report: Mapping[str, Any]) -> int:
    worst = report["worst"]
    return next(i for i, s in enumerate(report["week"]) if s["from"] == worst["from"])


def script_json(data: Any) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_report(
    repo: Path,
    out: Path,
    *,
    nodes_file: Path | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    at: str | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
    today: dt.date | None = None,
) -> Path:
    """Write ``out/index.html`` (creating ``out``) and return its path.

    Raises:
        InvalidInputError: ``out`` is a file, or cannot be written; the node sources' errors.
    """
    if warn_days < 0:
        raise InvalidInputError(
            f"--warn-days {warn_days} is negative", hint="give days ahead, e.g. 14"
        )
    tenants = read_summaries(repo)
    report = capacity_report(
        repo, nodes_file=nodes_file, kubeconfig=kubeconfig, context=context, at=at, tenants=tenants
    )
    today = today or dt.date.fromisoformat(report["at"][:10])
    rows = tenant_rows(tenants, today, warn_days)
    expiring = sorted(
        (r for r in rows if r["expiring"]), key=lambda r: (r["days_left"], r["student"])
    )
    page = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            chart=chart(report),
            tenant_cells=[
                tuple(
                    r[k] for k in ("student", "name", "course", "term", "tier", "apps", "expires")
                )
                + (r["status"], r["expiring"])
                for r in rows
            ],
            expiring=expiring,
            warn_days=warn_days,
            data_json=script_json(report),
            resources=capacity.NODE_RESOURCES,
            fmt=capacity.human,
            statuses=_status_counts(rows),
        )
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        target = out / PAGE
        tmp = target.with_suffix(".html.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)  # all or nothing: a reader never sees half a page
    except OSError as exc:
        raise InvalidInputError(
            f"--out {out}: cannot write {PAGE} there ({exc.strerror or exc})",
            hint="give a folder you can write (it is created if missing)",
        ) from None
    return target


def _status_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return dict(sorted(counts.items()))


def _environment() -> Any:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    # Autoescape on (unlike the YAML templates' environment): this is HTML of untrusted names.
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(render.templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )
