"""`app show` with Argo CD (argocd/appview.py): live status from the double, or one line why not.

The double checks every call against Argo CD's swagger (the `fake` fixture fails the test on a
violation). The repo is only read, so the demo template is used as it is.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from argocd_fake import FakeArgoCD
from argocd_support import ADMIN_TOKEN
from click.testing import CliRunner

from kuploy_gitops import cli, layout
from kuploy_gitops.argocd import appview
from kuploy_gitops.argocd import ops as argocd_ops
from kuploy_gitops.argocd.client import ArgoCDClient

STUDENT = "kim-minji"
APP = "kim-minji-web"
ENV = {"ARGOCD_SERVER": "https://argocd.test", "ARGOCD_AUTH_TOKEN": ADMIN_TOKEN}


def test_show_adds_sync_and_health(
    _demo_template: Path, fake: FakeArgoCD, make_client: Callable[..., ArgoCDClient]
) -> None:
    repo = _demo_template
    data = appview.show(repo, STUDENT, "web", env=ENV, transport=fake.transport())
    assert data["url"] == f"https://web-{STUDENT}.apps.konkuk.example/"
    assert data["argocd"]["reachable"] is True and data["argocd"]["registered"] is False
    assert data["argocd"]["reason"] == (
        f"not registered in Argo CD: run `kuploy-gitops register {STUDENT}`"
    )
    client = make_client()
    argocd_ops.register(client, repo, [STUDENT])
    argocd_ops.sync(client, repo, STUDENT, "web", wait=True, timeout=60)
    fake.calls.clear()
    live = appview.show(repo, STUDENT, "web", env=ENV, transport=fake.transport())["argocd"]
    assert (live["reachable"], live["registered"], live["sync"], live["health"]) == (
        True,
        True,
        "Synced",
        "Healthy",
    )
    assert len(live["revision"]) == 40 and live["reason"] == ""
    # One call for a healthy app, scoped to the student's project.
    assert fake.calls == [("GET", "ApplicationService_Get", f"/api/v1/applications/{APP}")]
    assert ADMIN_TOKEN not in repr(live)


def test_show_says_why_argo_cd_is_not_there(_demo_template: Path, fake: FakeArgoCD) -> None:
    repo = _demo_template
    tries: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        tries.append(request.url.path)
        raise httpx.ConnectError("connection refused", request=request)

    down = appview.show(repo, STUDENT, "web", env=ENV, transport=httpx.MockTransport(refuse))
    assert down["argocd"] == {
        "reachable": False,
        "reason": f"Argo CD GET /api/v1/applications/{APP}: cannot connect to https://argocd.test",
    }
    assert len(tries) == 1  # no retries: `app show` answers quickly
    no_token = appview.show(repo, STUDENT, "web", env={"ARGOCD_SERVER": "https://argocd.test"})
    assert no_token["argocd"] == {
        "reachable": False,
        "reason": "not configured: no Argo CD credentials",
    }
    wrong = {**ENV, "ARGOCD_AUTH_TOKEN": "not-a-token"}
    refused = appview.show(repo, STUDENT, "web", env=wrong, transport=fake.transport())
    assert refused["argocd"]["reachable"] is False and "401" in refused["argocd"]["reason"]
    assert "not-a-token" not in refused["argocd"]["reason"]
    assert "argocd" not in appview.show(repo, STUDENT, "web", ask_argocd=False, env=ENV)
    assert fake.violations == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_show_reachable_and_unreachable(
    _demo_template: Path,
    fake: FakeArgoCD,
    make_client: Callable[..., ArgoCDClient],
    argocd_env: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _demo_template
    client = make_client()
    argocd_ops.register(client, repo, [STUDENT])
    argocd_ops.sync(client, repo, STUDENT, "web", wait=True, timeout=60)
    argocd_env()
    args = ["-C", str(repo), "app", "show", STUDENT, "web"]
    shown = CliRunner().invoke(cli.main, args, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    (line,) = [x for x in shown.stdout.splitlines() if x.startswith("Argo CD:")]
    assert line.startswith("Argo CD:      Synced/Healthy at ") and "last sync Succeeded" in line
    assert f"Application:  {APP} ({layout.application_file(STUDENT, 'web')})" in shown.stdout

    port = closed_port()
    monkeypatch.setenv("ARGOCD_SERVER", f"http://127.0.0.1:{port}")
    down = CliRunner().invoke(cli.main, [*args, "--timeout", "2"], catch_exceptions=False)
    assert down.exit_code == 0, down.output
    (line,) = [x for x in down.stdout.splitlines() if x.startswith("Argo CD:")]
    assert line == (
        f"Argo CD:      unavailable (Argo CD GET /api/v1/applications/{APP}: cannot connect "
        f"to http://127.0.0.1:{port})"
    )
    assert down.stderr == "" and ADMIN_TOKEN not in down.output
