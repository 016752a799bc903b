"""`app set` and `app show` through click's runner: output, JSON, dry run, push, error lines.

Argo CD's part of `app show` (reachable, unreachable) is in tests/argocd/test_argocd_appview.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_repo import IMAGE, STUDENT, app_repo, app_template
from click.testing import CliRunner, Result
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import cli, layout

__all__ = ["app_repo", "app_template"]  # fixtures
pytestmark = pytest.mark.platform_repo


@pytest.fixture(autouse=True)
def no_argocd_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ARGOCD_SERVER", "ARGOCD_AUTH_TOKEN", "ARGOCD_USERNAME", "ARGOCD_OPTS"):
        monkeypatch.delenv(name, raising=False)


def run(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["-C", str(repo), *args], catch_exceptions=False)


def test_set_pushes_one_commit_and_show_describes_it(app_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(app_repo, "remote", "add", "origin", str(bare))
    git(app_repo, "push", "-q", "origin", "main")
    count = commit_count(app_repo)
    args = ["--tag", "1.1", "--env", "STRIPE_TOKEN=abc123xyz", "--unset-env", "MODE"]
    done = run(app_repo, "app", "set", STUDENT, "web", *args, "--replicas", "2", "--push")
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].startswith("committed ") and lines[0].endswith(
        f"kuploy: set app web of {STUDENT}: image {IMAGE} -> ghcr.io/konkuk-kuploy/web:1.1, "
        "replicas 1 -> 2, env STRIPE_TOKEN set, env MODE unset (3 file(s))"
    )
    assert lines[1].startswith("pushed to ")
    assert lines[2] == f"URL: https://web-{STUDENT}.apps.konkuk.example/"
    assert done.stderr.startswith("warning: env STRIPE_TOKEN looks like a secret by its name")
    assert "abc123xyz" not in done.output
    assert commit_count(app_repo) == count + 1
    assert git(bare, "rev-parse", "main") == git(app_repo, "rev-parse", "HEAD")

    before = tree_snapshot(app_repo)
    dry = run(app_repo, "app", "set", STUDENT, "web", "--size", "tiny", "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    assert (
        data["dry_run"] is True
        and data["commit"] == ""
        and data["changes"] == ["size small -> tiny"]
    )
    assert f"+++ b/{layout.workload_dir(STUDENT, 'web')}/deployment.yaml" in data["diff"]
    same = run(app_repo, "app", "set", STUDENT, "web", "--replicas", "2")
    assert same.stdout.splitlines()[0] == f"nothing to do: app {STUDENT}/web already is that way."
    assert tree_snapshot(app_repo) == before and commit_count(app_repo) == count + 1

    show = run(app_repo, "app", "show", STUDENT, "web")
    assert show.exit_code == 0, show.output
    assert show.stdout.splitlines() == [
        f"app:          {STUDENT}/web (platform-managed)",
        f"URL:          https://web-{STUDENT}.apps.konkuk.example/",
        "image:        ghcr.io/konkuk-kuploy/web:1.1",
        "port:         8080 (health path /)",
        "replicas:     2 x small (requests 100m/128Mi, limits 500m/512Mi each)",
        "env:          API_KEY=(hidden), STRIPE_TOKEN=(hidden)",
        f"manifests:    {layout.workload_dir(STUDENT, 'web')}",
        f"Application:  {STUDENT}-web ({layout.application_file(STUDENT, 'web')})",
        "Argo CD:      unavailable (not configured: no Argo CD credentials)",
    ]
    shown = json.loads(run(app_repo, "app", "show", STUDENT, "api", "-o", "json").stdout)
    assert (shown["mode"], shown["revision"]) == ("repo", "main")
    assert shown["argocd"] == {
        "reachable": False,
        "reason": "not configured: no Argo CD credentials",
    }
    offline = run(app_repo, "app", "show", STUDENT, "api", "--no-argocd")
    assert offline.stdout.splitlines()[1:4] == [
        f"URL:          https://api-{STUDENT}.apps.konkuk.example/",
        "repo:         https://github.com/konkuk-kuploy/kim-api.git",
        "path:         deploy",
    ]
    assert "Argo CD" not in offline.stdout

    # `app add` gives the same warning for a secret-named variable, by name only.
    added = run(
        app_repo,
        "app",
        "add",
        STUDENT,
        "shop",
        "--image",
        IMAGE,
        "--port",
        "80",
        "--env",
        "DB_PASSWORD=pw4shop",
    )
    assert added.exit_code == 0, added.output
    assert added.stderr.startswith("warning: env DB_PASSWORD looks like a secret by its name")
    assert "pw4shop" not in added.output


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["set", STUDENT, "web"], 2, "nothing to change for app kim/web"),
        (["set", STUDENT, "web", "--tag", "2", "--image", "x:2"], 2, "do not go together"),
        (["set", STUDENT, "api", "--replicas", "2"], 2, "deploys from the student's repo"),
        (["set", STUDENT, "shop", "--replicas", "2"], 5, "has no app 'shop'"),
        (["set", "lee", "web", "--replicas", "2"], 5, "'lee' is not onboarded"),
        (["set", STUDENT, "web", "--env", "NOEQ"], 4, "'NOEQ' is not KEY=VALUE"),
        (["set", STUDENT, "web", "--replicas", "50"], 4, "replicas 50 is out of range"),
        (["set", STUDENT, "web", "--image", "quay.io/x/y:1"], 8, "image.registry"),
        (["show", STUDENT, "shop"], 5, "has no app 'shop'"),
    ],
)
def test_errors_are_one_line_and_write_nothing(
    app_template: Path, args: list[str], code: int, needle: str
) -> None:
    repo = app_template  # every case fails before writing: checked byte for byte
    before = tree_snapshot(repo)
    got = run(repo, "app", *args)
    assert got.exit_code == code
    lines = [line for line in got.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert "Traceback" not in got.output
    assert tree_snapshot(repo) == before
