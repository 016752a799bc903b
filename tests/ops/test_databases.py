"""`db add`, `db remove` and `db show` (ops/databases.py, cli/db.py) on a real platform repo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from app_repo import STUDENT, app_repo, app_template
from click.testing import CliRunner
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import api, layout, tenant_spec, yamlio
from kuploy_gitops.cli import main
from kuploy_gitops.errors import ConflictError, InvalidInputError
from kuploy_gitops.plan import ApplyResult
from kuploy_gitops.validate.engine import Options, validate_repo

__all__ = ["app_repo", "app_template"]  # fixtures
pytestmark = pytest.mark.platform_repo


def add(repo: Path, *, dry_run: bool = False, **kw: Any) -> ApplyResult:
    return api.db_add(repo, api.DatabaseOptions(student=STUDENT, **kw), dry_run=dry_run)


def objects(repo: Path, name: str = "db") -> dict[str, dict[str, Any]]:
    path = repo / layout.tenant_file(STUDENT, f"database-{name}.yaml")
    return {o["kind"]: o for o in yamlio.load_all(path.read_text())}


def web_env(repo: Path) -> list[dict[str, Any]]:
    dep = yamlio.load_all(
        (repo / layout.workload_dir(STUDENT, "web") / "deployment.yaml").read_text()
    )
    return dep[0]["spec"]["template"]["spec"]["containers"][0]["env"]  # type: ignore[no-any-return]


def policy_names(repo: Path) -> list[str]:
    text = (repo / layout.tenant_file(STUDENT, "networkpolicies.yaml")).read_text()
    return [p["metadata"]["name"] for p in yamlio.load_all(text)]


def run(repo: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, ["-C", str(repo), *args], input=stdin)


def test_add_renders_the_cluster_its_backup_policy_and_the_apps_url(app_repo: Path) -> None:
    repo = app_repo
    start = tree_snapshot(repo)
    count = commit_count(repo)
    result = add(repo)
    assert commit_count(repo) == count + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == (
        f"kuploy: add database db for {STUDENT} (PostgreSQL 17, 1Gi, 1 instance(s))"
    )
    assert result.commit == git(repo, "rev-parse", "HEAD").strip()
    objs = objects(repo)
    spec = objs["Cluster"]["spec"]
    assert objs["Cluster"]["apiVersion"] == "postgresql.cnpg.io/v1"
    assert spec["imageName"] == "ghcr.io/cloudnative-pg/postgresql:17"
    assert spec["bootstrap"] == {"initdb": {"database": "app", "owner": "app"}}
    assert spec["storage"] == {"size": "1Gi", "storageClass": "kuploy-nfs"}
    assert spec["instances"] == 1
    assert spec["enablePDB"] is False  # the timetable's drains are never held by the database
    # Explicit requests and limits: the quota admits the instance pods whatever the defaults.
    assert set(spec["resources"]) == {"requests", "limits"}
    assert objs["PersistentVolumeClaim"]["spec"]["storageClassName"] == "kuploy-nfs"
    job = objs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job["securityContext"]["runAsNonRoot"] is True
    assert {
        "name": "DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": "db-app", "key": "uri"}},
    } in (job["containers"][0]["env"])
    # The managed app reads both URLs from the operator's Secret; the student-repo app is not ours.
    assert web_env(repo)[-2:] == [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db-app", "key": "uri"}}},
        {
            "name": "SPRING_DATASOURCE_URL",
            "valueFrom": {"secretKeyRef": {"name": "db-app", "key": "jdbc-uri"}},
        },
    ]
    assert "allow-database-db" in policy_names(repo)
    rbac = yamlio.load_all((repo / layout.tenant_file(STUDENT, "rbac.yaml")).read_text())
    assert {
        "apiGroups": [""],
        "resources": ["secrets"],
        "resourceNames": ["db-app"],
        "verbs": ["get"],
    } in rbac[0]["rules"]
    # The tenants' project may sync what the tenant folder now holds.
    project = (repo / layout.platform_file("tenants-project")).read_text()
    assert "postgresql.cnpg.io" in project
    # No password anywhere in git: only Secret references.
    text = "\n".join(
        (repo / p).read_text() for p in git(repo, "ls-files").split() if p.endswith(".yaml")
    )
    assert "password" not in text.lower()
    # db show: how to connect and back up, no secret value.
    (view,) = api.db_show(repo, STUDENT, "db")
    assert view["host"] == f"db-rw.{STUDENT}.svc"
    assert view["injected_into"] == ["web"]
    assert view["connect"]["port_forward"] == (
        f"kubectl -n {STUDENT} port-forward svc/db-rw 5432:5432"
    )
    assert view["connect"]["uri"] == (
        f"kubectl -n {STUDENT} get secret db-app -o jsonpath='{{.data.uri}}' | base64 -d"
    )
    assert view["backup"]["kind"] == "pg_dump" and view["backup"]["volume"] == "db-backup"
    # Refusals after it: nothing written.
    before = tree_snapshot(repo)
    with pytest.raises(ConflictError, match="already has a database 'db'"):
        add(repo)
    with pytest.raises(ConflictError, match="'nobody' is not onboarded"):
        api.db_add(repo, api.DatabaseOptions(student="nobody"))
    with pytest.raises(ConflictError, match="has no database 'shop'"):
        api.db_remove(repo, STUDENT, "shop")
    with pytest.raises(InvalidInputError, match="DATABASE_URL from both database 'big' and 'db'"):
        add(repo, name="big", size="256Mi")
    with pytest.raises(InvalidInputError, match="would set DATABASE_URL itself") as exc:
        api.app_set(repo, api.AppChange(student=STUDENT, app="web", env=[("DATABASE_URL", "x")]))
    assert "leave DATABASE_URL to the database" in exc.value.hint
    assert tree_snapshot(repo) == before
    # The CLI: show, then remove (refused without --yes where it cannot ask), which undoes add.
    out = run(repo, "db", "show", STUDENT)
    assert "port-forward svc/db-rw 5432:5432" in out.output
    assert json.loads(run(repo, "db", "show", STUDENT, "-o", "json").output)[0]["size"] == "1Gi"
    out = run(repo, "db", "remove", STUDENT, "db")
    assert (out.exit_code, tree_snapshot(repo)) == (2, before)
    assert "without --yes" in out.output
    out = run(repo, "db", "remove", STUDENT, "db", "--yes", "-o", "json")
    assert out.exit_code == 0, out.output
    assert (
        layout.tenant_file(STUDENT, "database-db.yaml") in json.loads(out.output)["changed_files"]
    )
    assert "its data is deleted" in git(repo, "log", "-1", "--format=%s")
    assert tree_snapshot(repo) == start  # remove undoes add exactly


@pytest.mark.slow
def test_what_db_add_renders_passes_validate(app_repo: Path) -> None:
    # Slow tier: a whole-repo validate with a kubectl build (the write itself validated the
    # change set already, without the build).
    add(app_repo, name="shop", size="2Gi", apps=["web"])
    report = validate_repo(Options(repo=app_repo))
    assert report.findings == []


@pytest.mark.slow
def test_options_and_app_choice(app_repo: Path) -> None:
    big = "big"
    api.onboard(app_repo, api.OnboardOptions(student=big, tier="large"))
    for app in ("web", "admin"):
        image = f"ghcr.io/konkuk-kuploy/{app}:1"
        api.app_add(app_repo, api.AppOptions(student=big, app=app, image=image, port=80))
    opts = api.DatabaseOptions(
        student=big, name="shop", size="2Gi", version=16, instances=2, apps=["web"]
    )
    api.db_add(app_repo, opts)
    path = app_repo / layout.tenant_file(big, "database-shop.yaml")
    spec = yamlio.load_all(path.read_text())[0]["spec"]
    assert (spec["imageName"], spec["instances"], spec["storage"]["size"]) == (
        "ghcr.io/cloudnative-pg/postgresql:16",
        2,
        "2Gi",
    )
    admin = yamlio.load_all(
        (app_repo / layout.workload_dir(big, "admin") / "deployment.yaml").read_text()
    )[0]["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in admin  # --app web: only web gets the URL
    saved = tenant_spec.read_spec(app_repo, big)
    assert saved is not None and saved.databases[0].apps == ("web",)
    # The app a database serves by name cannot go before the database.
    with pytest.raises(ConflictError, match="serves app 'web' by name"):
        api.app_remove(app_repo, big, "web")
    # A second database for the app that has one is refused.
    with pytest.raises(InvalidInputError, match="from both database 'logs' and 'shop'"):
        api.db_add(app_repo, api.DatabaseOptions(student=big, name="logs", size="256Mi"))


# -- the CLI (slow tier: the default test above runs show and remove) ----------------------------


@pytest.mark.slow
def test_cli_add_dry_run_options_and_refusal(app_repo: Path) -> None:
    before = tree_snapshot(app_repo)
    out = run(app_repo, "db", "add", STUDENT, "--dry-run", "-o", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["dry_run"] is True and data["commit"] == "" and "kind: Cluster" in data["diff"]
    assert tree_snapshot(app_repo) == before
    out = run(app_repo, "db", "add", STUDENT, "x", "--version", "9")
    assert out.exit_code == 4
    assert "PostgreSQL 9 is not supported" in out.output
    out = run(app_repo, "db", "add", STUDENT, "--size", "2Gi")
    assert out.exit_code == 0, out.output
    assert f"kuploy-gitops db show {STUDENT} db" in out.output
    assert objects(app_repo)["Cluster"]["spec"]["storage"]["size"] == "2Gi"


@pytest.mark.slow
def test_cli_remove_asks_on_a_terminal(app_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add(app_repo)
    import kuploy_gitops.cli.db as cli_db

    monkeypatch.setattr(cli_db, "interactive", lambda: True)
    head = git(app_repo, "rev-parse", "HEAD")
    out = run(app_repo, "db", "remove", STUDENT, "db", stdin="n\n")
    assert out.exit_code == 1 and "data is deleted" in out.output
    assert git(app_repo, "rev-parse", "HEAD") == head
    out = run(app_repo, "db", "remove", STUDENT, "db", stdin="y\n")
    assert out.exit_code == 0, out.output
    assert not (app_repo / layout.tenant_file(STUDENT, "database-db.yaml")).exists()
