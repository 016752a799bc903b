"""CLI wiring of `github setup/teardown`, `onboard --github-setup` and `scaffold`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import argocd_double
import pytest
from argocd_double import FakeArgoCD
from click.testing import CliRunner
from helpers import git
from providers.fake_github import FakeGitHub

from kuploy_gitops import api, layout, yamlio
from kuploy_gitops.cli import main

ORG = "konkuk-kuploy"
TOKEN = "ghp_cliTestToken0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    # The CLI finds the fake through kuploy.yaml's api_url, as an Enterprise Server on 127.0.0.1.
    with FakeGitHub(ORG, web_host="127.0.0.1") as server:
        server.add_token(TOKEN)
        server.add_user("minji-k")
        server.add_user("jisoo-p")
        yield server
    assert server.violations == []


@pytest.fixture(autouse=True)
def argocd(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArgoCD]:
    """The Argo CD double as a local HTTP server, named by the environment as an admin would."""
    server = argocd_double.start(fake)
    monkeypatch.setenv("ARGOCD_SERVER", server.start())
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", argocd_double.ADMIN_TOKEN)
    monkeypatch.delenv("ARGOCD_OPTS", raising=False)
    yield server
    server.stop()
    assert server.violations == []


@pytest.fixture
def platform_repo(tmp_path: Path, fake: FakeGitHub) -> Path:
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    path = repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["github"]["api_url"] = fake.base_url
    path.write_text(yamlio.dump(data))
    git(repo, "commit", "-qam", "GitHub Enterprise URL")
    api.onboard(repo, api.OnboardOptions(student="kim-minji", github="minji-k"))
    return repo


def invoke(repo: Path, *args: str, token: str | None = TOKEN) -> tuple[int, str]:
    env = {"KUPLOY_GITHUB_THROTTLE": "0", "NO_COLOR": "1", "COLUMNS": "200"}
    env["GITHUB_TOKEN"] = token or ""
    result = CliRunner().invoke(main, ["-C", str(repo), *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_github_setup_and_rerun(platform_repo: Path, fake: FakeGitHub, argocd: FakeArgoCD) -> None:
    code, out = invoke(platform_repo, "github", "setup", "kim-minji")
    assert code == 0, out
    assert "ready: https://127.0.0.1/konkuk-kuploy/kim-minji-web" in out
    assert "created" in out and "collaborator" in out and "deploy key" in out
    assert "docker-registry" not in out  # public packages: no pull secret to create
    assert TOKEN not in out and argocd_double.ADMIN_TOKEN not in out
    assert "PRIVATE KEY" not in out and len(argocd.repositories) == 1
    code, out = invoke(platform_repo, "github", "setup", "kim-minji")
    assert code == 0 and "nothing to do: konkuk-kuploy/kim-minji-web is already set up." in out
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", "-o", "json")
    data = json.loads(out)
    assert data["repo"] == f"{ORG}/kim-minji-web" and data["changed"] is False
    assert [s["status"] for s in data["steps"]] == ["ok", "ok", "ok", "skipped", "ok", "ok"]
    assert "PRIVATE KEY" not in out


def test_errors_are_one_line_with_exit_codes(platform_repo: Path, fake: FakeGitHub) -> None:
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", token=None)
    assert code == 11 and "error: no GitHub credentials: GITHUB_TOKEN is not set" in out
    fake.fail("POST", r"/orgs/[^/]+/repos$", 403, message="Must have admin rights to Repository.")
    code, out = invoke(platform_repo, "github", "setup", "kim-minji")
    assert code == 10
    assert "403 Must have admin rights" in out and "Traceback" not in out and TOKEN not in out
    code, out = invoke(platform_repo, "github", "setup")
    assert code == 2 and "missing STUDENT" in out
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", "--stack", "rails")
    assert out.strip().splitlines() == [
        "error: stack 'rails' does not exist; use one of spring, node, fastapi, django, static"
    ]
    assert code == 4
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", "--all")
    assert code == 2


def test_scaffold_matches_what_setup_commits(
    platform_repo: Path, fake: FakeGitHub, tmp_path: Path
) -> None:
    """With a stack: its Dockerfile, .dockerignore, port and guide page come with both."""
    invoke(platform_repo, "github", "setup", "kim-minji", "--stack", "node")
    out_dir = tmp_path / "scaffold"
    code, out = invoke(
        platform_repo, "scaffold", "kim-minji", "web", "--out", str(out_dir), "--stack", "node"
    )
    assert code == 0 and "wrote" in out and "docker-registry" not in out
    committed = fake.files(f"{ORG}/kim-minji-web")
    assert "\nUSER 10001\n" in committed["Dockerfile"] and "npm ci" in committed["Dockerfile"]
    assert "node_modules" in committed[".dockerignore"].splitlines()
    assert "containerPort: 3000" in committed["deploy/deployment.yaml"]
    assert "### Your stack: Node.js" in committed["KUPLOY.md"]
    local = {
        p.relative_to(out_dir).as_posix(): p.read_text() for p in out_dir.rglob("*") if p.is_file()
    }
    rules_spec = ".kuploy/tenants/kim-minji.yaml"  # records each repo's own clone URL
    assert {p: t for p, t in local.items() if p != rules_spec} == {
        p: t for p, t in committed.items() if p in local and p != rules_spec
    }
    code, out = invoke(
        platform_repo, "scaffold", "kim-minji", "web", "--out", str(out_dir), "--stack", "node"
    )
    assert code == 0 and "nothing to do" in out
    (out_dir / "KUPLOY.md").write_text("mine")
    code, out = invoke(
        platform_repo, "scaffold", "kim-minji", "web", "--out", str(out_dir), "--stack", "node"
    )
    assert code == 5 and "--force" in out
    code, out = invoke(
        platform_repo, "scaffold", "kim-minji", "web", "--out", str(tmp_path / "pub"), "--public"
    )
    assert code == 0 and "docker-registry" not in out


def test_onboard_with_github_setup(platform_repo: Path, fake: FakeGitHub, tmp_path: Path) -> None:
    code, out = invoke(
        platform_repo, "onboard", "lee-jisoo", "--github", "jisoo-p", "--github-setup"
    )
    assert code == 0, out
    assert fake.repo(f"{ORG}/lee-jisoo-web").refs
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student_id,github_username,email,name\n"
        "kim-minji,minji-k,m@example.ac.kr,Minji\n"
        "choi-ghost,nobody-here,c@example.ac.kr,Ghost\n"
    )
    code, out = invoke(platform_repo, "onboard", "--roster", str(roster), "--github-setup")
    assert code == 10
    assert "failed choi-ghost" in out and "github setup failed for 1 of 2 student(s)" in out
    assert fake.repo(f"{ORG}/kim-minji-web").refs
    code, out = invoke(
        platform_repo, "onboard", "park", "--github", "park-gh", "--github-setup", "--dry-run"
    )
    assert code == 0 and "dry run: github setup skipped." in out


@pytest.mark.parametrize(
    ("unset", "says"),
    [("GITHUB_TOKEN", "no GitHub credentials"), ("ARGOCD_AUTH_TOKEN", "no Argo CD credentials")],
)
def test_onboard_with_github_setup_checks_credentials_before_committing(
    platform_repo: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, unset: str, says: str
) -> None:
    head = git(platform_repo, "rev-parse", "HEAD")
    if unset == "ARGOCD_AUTH_TOKEN":
        monkeypatch.delenv(unset)
    token = None if unset == "GITHUB_TOKEN" else TOKEN
    code, out = invoke(
        platform_repo, "onboard", "lee-jisoo", "--github", "jisoo-p", "--github-setup", token=token
    )
    assert code == 11 and says in out and len(out.strip().splitlines()) == 1
    assert git(platform_repo, "rev-parse", "HEAD") == head and fake.writes() == []
    assert git(platform_repo, "status", "--porcelain") == ""


def test_github_setup_dry_run_needs_no_credentials_and_writes_nothing(
    platform_repo: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARGOCD_AUTH_TOKEN")
    head = git(platform_repo, "rev-parse", "HEAD")
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", "--dry-run", token=None)
    assert code == 0, out
    assert f"{ORG}/kim-minji-web" in out and "minji-k with push access" in out
    assert "dry run: nothing created, nothing written." in out
    code, out = invoke(
        platform_repo, "github", "setup", "kim-minji", "api", "--dry-run", "-o", "json"
    )
    data = json.loads(out)
    assert data["repo"] == f"{ORG}/kim-minji-api" and data["changed"] is False
    assert [s["step"] for s in data["steps"]] == [
        "repo",
        "scaffold",
        "collaborator",
        "webhook",
        "deploy key",
        "application",
    ]
    assert fake.writes() == [] and git(platform_repo, "rev-parse", "HEAD") == head
    code, out = invoke(platform_repo, "github", "setup", "nobody", "--dry-run")
    assert code == 5 and "nobody" in out
    code, out = invoke(platform_repo, "github", "setup", "--all", "--dry-run")
    assert code == 2 and "--dry-run takes one STUDENT" in out


def test_github_setup_all(platform_repo: Path, fake: FakeGitHub) -> None:
    api.onboard(platform_repo, api.OnboardOptions(student="lee-jisoo", github="jisoo-p"))
    code, out = invoke(platform_repo, "github", "setup", "--all", "-o", "json")
    assert code == 0, out
    data = json.loads(out)
    assert [r["student"] for r in data["results"]] == ["kim-minji", "lee-jisoo"]
    assert data["failures"] == []


def test_github_teardown(platform_repo: Path, fake: FakeGitHub, argocd: FakeArgoCD) -> None:
    invoke(platform_repo, "github", "setup", "kim-minji")
    writes = len(fake.writes())
    code, out = invoke(platform_repo, "github", "teardown", "kim-minji", "--dry-run")
    assert code == 0 and "archive konkuk-kuploy/kim-minji-web (never deleted)" in out
    assert "remove minji-k" in out and "dry run: nothing contacted, nothing changed." in out
    code, out = invoke(platform_repo, "github", "teardown", "kim-minji")  # no terminal to ask
    assert code == 2 and "github teardown kim-minji --yes" in out
    assert len(fake.writes()) == writes and not fake.repo(f"{ORG}/kim-minji-web").archived
    code, out = invoke(platform_repo, "github", "teardown", "kim-minji", "--yes")
    assert code == 0 and "archived (not deleted)" in out
    assert fake.repo(f"{ORG}/kim-minji-web").archived
    assert fake.repo(f"{ORG}/kim-minji-web").keys == {} and argocd.repositories == {}


def test_offboard_github_tears_down_and_teardown_works_from_the_archive(
    platform_repo: Path, fake: FakeGitHub
) -> None:
    api.onboard(platform_repo, api.OnboardOptions(student="lee-jisoo", github="jisoo-p"))
    invoke(platform_repo, "github", "setup", "kim-minji")
    invoke(platform_repo, "github", "setup", "lee-jisoo")
    code, out = invoke(platform_repo, "offboard", "kim-minji", "--github", "--yes")  # no archive
    assert code == 0, out
    assert "offboard student kim-minji" in out and "archived (not deleted)" in out
    kim = fake.repo(f"{ORG}/kim-minji-web")
    assert kim.archived and kim.collaborators == {}
    # An archived spec still knows the repo and the login: no --app or --github needed.
    invoke(platform_repo, "offboard", "lee-jisoo", "--archive", "--yes")
    assert not fake.repo(f"{ORG}/lee-jisoo-web").archived
    code, out = invoke(platform_repo, "github", "teardown", "lee-jisoo", "-y")
    assert code == 0, out
    lee = fake.repo(f"{ORG}/lee-jisoo-web")
    assert lee.archived and lee.collaborators == {}


def test_github_setup_needs_argocd_credentials_first(
    platform_repo: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARGOCD_AUTH_TOKEN")
    code, out = invoke(platform_repo, "github", "setup", "kim-minji")
    assert code == 11 and "deploy key is registered in Argo CD: no Argo CD credentials" in out
    assert len(out.strip().splitlines()) == 1 and fake.writes() == []


def test_github_setup_rotate_key(platform_repo: Path, argocd: FakeArgoCD) -> None:
    invoke(platform_repo, "github", "setup", "kim-minji")
    (first,) = [r["sshPrivateKey"] for r in argocd.repositories.values()]
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", "--rotate-key")
    assert code == 0 and "rotated" in out
    (second,) = [r["sshPrivateKey"] for r in argocd.repositories.values()]
    assert second != first


@pytest.mark.parametrize(
    "command", [["github"], ["github", "setup"], ["github", "teardown"], ["scaffold"], ["onboard"]]
)
def test_help_has_examples(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output


def test_github_setup_as_a_github_app(
    platform_repo: Path, fake: FakeGitHub, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "kuploy-app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    fake.set_app(
        31337,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        5,
    )
    path = platform_repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["github"].update(app_id=31337, app_private_key_file=str(pem))
    path.write_text(yamlio.dump(data))
    git(platform_repo, "commit", "-qam", "GitHub App")
    code, out = invoke(platform_repo, "github", "setup", "kim-minji", token=None)
    assert code == 0, out
    assert fake.repo(f"{ORG}/kim-minji-web").refs
    assert "BEGIN" not in out and str(pem) not in out
