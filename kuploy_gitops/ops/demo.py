"""``demo``: the quick-start platform repo on the embedded default (no GitHub, no cluster)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kuploy_gitops import config, layout, render, tenant_spec
from kuploy_gitops.ops.apps import AppOptions, app_add
from kuploy_gitops.ops.platform import InitOptions, connect_command, init
from kuploy_gitops.ops.tenants import OnboardOptions, onboard_roster
from kuploy_gitops.ops.writing import Progress

DEMO_IMAGE = "ghcr.io/nginxinc/nginx-unprivileged:1.27-alpine"


def demo(directory: Path, *, progress: Progress | None = None) -> list[tuple[str, str]]:
    """Build a demo platform repo: init, the sample roster onboarded, an app added.

    Returns (what, where) rows describing what was made.
    """
    init(InitOptions(repo=directory))
    sample = render.templates_dir() / "demo" / "roster.csv"
    term_end = dt.date.today().replace(month=12, day=31) + dt.timedelta(days=60)
    defaults = OnboardOptions(student="", course="cs101", term="demo", expires=term_end.isoformat())
    if not tenant_spec.list_students(directory):
        onboard_roster(directory, sample, defaults, progress=progress)
    first = tenant_spec.list_students(directory)[0]
    spec = tenant_spec.require_spec(directory, first)
    if spec.app("web") is None:
        app_add(
            directory,
            AppOptions(
                student=first,
                app="web",
                image=DEMO_IMAGE,
                port=8080,
                env=(("GREETING", "hello: world"),),
                health_path="/",
                size="tiny",
            ),
        )
    cfg = config.load_config(directory)
    students = tenant_spec.list_students(directory)
    return [
        ("platform config", str(directory / layout.CONFIG_FILE)),
        ("root Application", str(directory / layout.ROOT_APP_FILE)),
        ("tenants onboarded", f"{len(students)}: {', '.join(students)}"),
        ("tenant manifests", str(directory / layout.TENANT_MANIFESTS_DIR)),
        ("platform-managed app", str(directory / layout.workload_dir(first, "web"))),
        ("app URL", f"https://{cfg.host(first, 'web')}"),
        ("next", connect_command(directory)),
    ]
