"""CLI end to end on the demo repo against the fake served on 127.0.0.1.

register → status → sync → wait → token → offboard --verify, exit codes, and no token leaks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from argocd_fake import FakeArgoCD
from argocd_support import ADMIN_TOKEN, PASSWORD
from click.testing import CliRunner, Result

from kuploy_gitops import layout, yamlio
from kuploy_gitops.argocd import ops as argocd_ops
from kuploy_gitops.cli import main

STUDENT = "kim-minji"
APP = "kim-minji-web"
FAST = ["--poll-interval", "0"]


def cli(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-C", str(repo), *args], catch_exceptions=False)


def everything(result: Result) -> str:
    return result.output + result.stderr


def with_root_app(repo: Path, fake: FakeArgoCD) -> None:
    """Put the admin project and root Application in the fake, as `kubectl apply` would."""
    for obj in yamlio.load_all((repo / layout.ROOT_APP_FILE).read_text()):
        if obj["kind"] == "AppProject":
            fake.projects[obj["metadata"]["name"]] = {
                "metadata": obj["metadata"],
                "spec": obj["spec"],
            }
        else:
            fake.apps[obj["metadata"]["name"]] = {
                "metadata": obj["metadata"],
                "spec": obj["spec"],
                "status": {},
            }


def test_end_to_end(
    demo_repo: Path,
    fake: FakeArgoCD,
    argocd_env: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    argocd_env(root_path="/argocd")
    outputs = []

    reg = cli(
        demo_repo, "register", "--all", "--sync", "--wait", *FAST, "--grpc-web-root-path", "/argocd"
    )
    outputs.append(reg)
    assert reg.exit_code == 0, everything(reg)
    assert f"registered AppProject {STUDENT} and 1 Application(s)" in reg.output
    assert "healthy" in reg.output
    assert f"{APP}: Synced/Healthy (Succeeded)" in reg.stderr  # progress lines (not a tty)

    status = cli(demo_repo, "status", "-o", "json", "--grpc-web-root-path", "argocd")
    outputs.append(status)
    assert status.exit_code == 0, everything(status)
    (row,) = json.loads(status.output)
    assert (row["application"], row["sync"], row["health"], row["reason"]) == (
        APP,
        "Synced",
        "Healthy",
        "",
    )

    table = cli(demo_repo, "status", STUDENT, "--grpc-web-root-path", "argocd")
    outputs.append(table)
    assert table.exit_code == 0 and "Synced" in table.output and "Healthy" in table.output

    sync = cli(
        demo_repo,
        "sync",
        STUDENT,
        "web",
        "--prune",
        "--wait",
        *FAST,
        "--revision",
        "v2",
        "--grpc-web-root-path",
        "argocd",
    )
    outputs.append(sync)
    assert sync.exit_code == 0, everything(sync)
    assert fake.apps[APP]["status"]["sync"]["revision"] == "v2"

    tok = cli(demo_repo, "token", STUDENT, "--expires", "14d", "--grpc-web-root-path", "argocd")
    assert tok.exit_code == 0, everything(tok)
    student_token = tok.stdout.strip()
    assert fake.tokens[student_token].subject == f"proj:{STUDENT}:student"
    assert "shown once" in tok.stderr and student_token not in tok.stderr

    with_root_app(demo_repo, fake)
    fake.deletion_reads = 2
    # What the ApplicationSet does once it sees the tenant folder gone (the fake has no git).
    fake.remove_project_tree(STUDENT)
    # offboard has no connection flags: ARGOCD_OPTS carries the sub-path, as for argocd's CLI.
    monkeypatch.setenv("ARGOCD_OPTS", "--grpc-web-root-path argocd")
    off = cli(demo_repo, "offboard", STUDENT, "--yes", "--verify", "--verify-timeout", "30")
    outputs.append(off)
    assert off.exit_code == 0, everything(off)
    assert f"verified: Argo CD has no Applications or AppProject of {STUDENT}" in off.output
    assert not (demo_repo / layout.tenant_spec(STUDENT)).exists()
    assert APP not in fake.apps and STUDENT not in fake.projects

    for result in outputs:
        assert ADMIN_TOKEN not in everything(result)
    assert ADMIN_TOKEN not in caplog.text


def test_offboard_verify_names_what_is_left(
    demo_repo: Path, fake: FakeArgoCD, argocd_env: Callable[..., str]
) -> None:
    argocd_env()
    assert cli(demo_repo, "register", STUDENT).exit_code == 0
    with_root_app(demo_repo, fake)
    fake.stuck.add(APP)
    fake.remove_project_tree(STUDENT)
    off = cli(demo_repo, "offboard", STUDENT, "--yes", "--verify", "--verify-timeout", "0")
    assert off.exit_code == 9, everything(off)
    assert "committed" in off.output  # the offboarding itself happened
    assert f"Application/{APP} (deleting), AppProject/{STUDENT} of {STUDENT}" in off.stderr
    assert len(off.stderr.strip().splitlines()) == 1


def test_failing_app_exits_9_with_the_reason(
    demo_repo: Path, fake: FakeArgoCD, argocd_env: Callable[..., str]
) -> None:
    argocd_env()
    fake.scenario_for[APP] = "psa"
    reg = cli(demo_repo, "register", STUDENT, "--sync", "--wait", *FAST, "-o", "json")
    assert reg.exit_code == 9
    (data,) = json.loads(reg.stdout)
    assert data["result"] == "failed"
    assert "refused by Pod Security" in data["reason"]
    assert f"error: {APP} failed: ReplicaSet/web-5d9c7b: refused by Pod Security" in reg.stderr
    status = cli(demo_repo, "status", STUDENT)
    assert "Degraded" in status.output and "refused by" in status.output
    (row,) = json.loads(cli(demo_repo, "status", STUDENT, "-o", "json").stdout)
    assert row["reason"].startswith("ReplicaSet/web-5d9c7b: refused by Pod Security: violates")


def test_session_login_and_nothing_secret_in_output(
    demo_repo: Path,
    fake: FakeArgoCD,
    argocd_env: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    argocd_env()
    monkeypatch.delenv("ARGOCD_AUTH_TOKEN")
    monkeypatch.setenv("ARGOCD_USERNAME", "admin")
    monkeypatch.setenv("ARGOCD_PASSWORD", PASSWORD)
    ok = cli(demo_repo, "register", STUDENT)
    assert ok.exit_code == 0, everything(ok)
    sessions = [t for t, info in fake.tokens.items() if info.subject == "user:admin"]
    assert sessions
    monkeypatch.setenv("ARGOCD_PASSWORD", "wrong-" + PASSWORD)
    bad = cli(demo_repo, "status")
    assert bad.exit_code == 9
    assert "HTTP 401: Invalid username or password" in bad.stderr
    for text in (everything(ok), everything(bad), caplog.text):
        assert PASSWORD not in text
        for token in sessions:
            assert token not in text


def test_rejected_token_does_not_leak(
    demo_repo: Path,
    fake: FakeArgoCD,
    argocd_env: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argocd_env()
    revoked = "revoked-token-SHOULD-NOT-APPEAR-91b2"
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", revoked)
    result = cli(demo_repo, "status", STUDENT)
    assert result.exit_code == 9
    assert "ARGOCD_AUTH_TOKEN was rejected" in result.stderr
    assert revoked not in everything(result)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["register"], 2, "give one STUDENT or --all"),
        (["register", STUDENT, "--all"], 2, "give one STUDENT or --all"),
        (["register", STUDENT, "--wait"], 4, "--wait needs --sync"),
        (["register", "nobody"], 5, "'nobody' is not onboarded"),
        (["sync", STUDENT, "api"], 5, "has no app 'api'"),
        (["sync", STUDENT, "web", "--dry-run", "--wait"], 4, "--dry-run and --wait"),
        (["sync", STUDENT, "--resource", "web"], 4, "--resource 'web' is not GROUP:KIND:NAME"),
        (["token", STUDENT, "--expires", "forever"], 4, "--expires 'forever'"),
        (["status", "--timeout", "0"], 4, "--timeout 0 is not positive"),
    ],
)
def test_cli_errors_are_one_line(
    demo_repo: Path,
    fake: FakeArgoCD,
    argocd_env: Callable[..., str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    argocd_env()
    result = cli(demo_repo, *args)
    assert result.exit_code == code, everything(result)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fake.calls == []


def test_no_credentials(
    demo_repo: Path, argocd_env: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argocd_env()
    monkeypatch.delenv("ARGOCD_AUTH_TOKEN")
    result = cli(demo_repo, "status")
    assert result.exit_code == 11
    assert "set ARGOCD_AUTH_TOKEN, or ARGOCD_USERNAME and ARGOCD_PASSWORD" in result.stderr


def test_tls_failure_through_the_cli(
    demo_repo: Path,
    fake: FakeArgoCD,
    argocd_env: Callable[..., str],
    server_tls: object,
    tls_files: tuple[Path, Path],
) -> None:
    argocd_env(tls=server_tls)
    refused = cli(demo_repo, "status")
    assert refused.exit_code == 9
    assert "TLS certificate" in refused.stderr and "--ca-file" in refused.stderr
    trusted = cli(demo_repo, "status", "--ca-file", str(tls_files[0]))
    assert trusted.exit_code == 0, everything(trusted)


@pytest.mark.parametrize("command", ["register", "status", "sync", "token"])
def test_help_has_examples(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"kuploy-gitops {command}" in result.output
    assert "--grpc-web-root-path" in result.output


def test_offboard_help_mentions_verify() -> None:
    result = CliRunner().invoke(main, ["offboard", "--help"])
    assert "--verify" in result.output


def test_defaults_are_shared() -> None:
    assert argocd_ops.DEFAULT_WAIT > 0


def test_token_dry_run_contacts_nobody(demo_repo: Path, fake: FakeArgoCD) -> None:
    result = cli(demo_repo, "token", STUDENT, "--expires", "120d", "--dry-run")
    assert result.exit_code == 0, everything(result)
    assert result.output.strip() == (
        f"dry run: would create a token for proj:{STUDENT}:student expiring in 120d; "
        "nothing created."
    )
    assert fake.calls == []
    bad = cli(demo_repo, "token", STUDENT, "--expires", "2y", "--dry-run")
    assert bad.exit_code == 4 and fake.calls == []
