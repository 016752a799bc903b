"""argocd_ops against the fake: register from the rendered repo, status, sync, offboard, tokens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from argocd_fake import FakeArgoCD
from argocd_support import FakeClock

from kuploy_gitops import api, config, layout, platform_manifests, yamlio
from kuploy_gitops.argocd import offboarding
from kuploy_gitops.argocd import ops as argocd_ops
from kuploy_gitops.argocd.client import ArgoCDClient, declared
from kuploy_gitops.errors import ArgoCDError, ConfigError, ConflictError, InvalidInputError

MakeClient = Callable[..., ArgoCDClient]
STUDENT = "kim-minji"
APP = "kim-minji-web"


@pytest.fixture
def client(make_client: MakeClient) -> ArgoCDClient:
    return make_client()


def rendered(repo: Path, rel: str) -> dict[str, object]:
    data = yamlio.load((repo / rel).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ------------------------------------------------------------------ server resolution


def test_server_resolution_order(demo_repo: Path) -> None:
    opts = argocd_ops.ConnectOptions
    env = {
        "ARGOCD_SERVER": "env.test",
        "ARGOCD_OPTS": "--server opts.test --insecure --grpc-web-root-path argocd",
    }
    assert argocd_ops.resolve_connection(demo_repo, opts(server="flag.test"), env).server == (
        "flag.test"
    )
    conn = argocd_ops.resolve_connection(demo_repo, opts(), env)
    assert (conn.server, conn.insecure, conn.root_path) == ("env.test", True, "argocd")
    assert (
        argocd_ops.resolve_connection(
            demo_repo, opts(), {"ARGOCD_OPTS": "--server opts.test"}
        ).server
        == "opts.test"
    )
    assert argocd_ops.resolve_connection(demo_repo, opts(), {}).server == (
        "https://argocd.apps.konkuk.example"
    )
    plain = argocd_ops.resolve_connection(
        demo_repo, opts(), {"ARGOCD_SERVER": "10.0.0.5:8080", "ARGOCD_OPTS": "--plaintext"}
    )
    assert plain.base_url == "http://10.0.0.5:8080"


def test_no_server_anywhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--server"):
        argocd_ops.resolve_connection(tmp_path, argocd_ops.ConnectOptions(), {})


def test_conflicting_tls_flags(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    with pytest.raises(InvalidInputError, match="--insecure and --ca-file"):
        argocd_ops.resolve_connection(
            tmp_path, argocd_ops.ConnectOptions(server="a", insecure=True, ca_file=pem), {}
        )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2592000), ("12h", 43200), ("90m", 5400), ("2w", 1209600), ("3600s", 3600)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert argocd_ops.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "0d", "-1d", "1y", "400d", "d30"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(InvalidInputError, match="--expires"):
        argocd_ops.parse_duration(text)


# ------------------------------------------------------------------ register


def test_register_upserts_exactly_the_rendered_objects(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    results = argocd_ops.register(client, demo_repo, None)
    students = [r.student for r in results]
    assert students == sorted(students) and STUDENT in students
    for student in students:
        project = rendered(demo_repo, layout.tenant_file(student, "appproject.yaml"))
        assert fake.projects[student]["spec"] == project["spec"]
    app = rendered(demo_repo, layout.application_file(STUDENT, "web"))
    stored = fake.apps[APP]
    assert declared(stored)["spec"] == app["spec"]
    assert stored["metadata"]["labels"] == app["metadata"]["labels"]  # type: ignore[index]
    assert [a.app for r in results for a in r.apps] == [APP]


def test_register_one_with_sync_and_wait(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    seen: list[str] = []
    (result,) = argocd_ops.register(
        client,
        demo_repo,
        [STUDENT],
        sync=True,
        wait=True,
        timeout=60,
        progress=lambda s: seen.append(s.summary()),
    )
    (app,) = result.apps
    assert app.outcome is not None and app.outcome.result == "healthy"
    assert app.to_data()["result"] == "healthy"
    assert seen[-1] == "Synced/Healthy (Succeeded)"
    argocd_ops.ensure_ready(result.apps)


def test_register_refuses_before_any_call(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    (demo_repo / layout.application_file(STUDENT, "web")).unlink()
    with pytest.raises(ConflictError, match="app-web.yaml is missing"):
        argocd_ops.register(client, demo_repo, None)
    with pytest.raises(ConflictError, match="nobody"):
        argocd_ops.register(client, demo_repo, ["nobody"])
    with pytest.raises(InvalidInputError, match="--sync"):
        argocd_ops.register(client, demo_repo, [STUDENT], wait=True)
    assert fake.calls == []


def test_register_refuses_a_tampered_file(demo_repo: Path, client: ArgoCDClient) -> None:
    path = demo_repo / layout.application_file(STUDENT, "web")
    path.write_text(path.read_text().replace("project: kim-minji", "project: kuploy-platform"))
    with pytest.raises(ConfigError, match="kuploy-platform"):
        argocd_ops.register(client, demo_repo, [STUDENT])


# ------------------------------------------------------------------ status and sync


def test_status_rows(demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD) -> None:
    rows = argocd_ops.status(client, demo_repo, STUDENT)
    assert rows == [
        {
            "student": STUDENT,
            "app": "web",
            "application": APP,
            "registered": False,
            "sync": "-",
            "health": "-",
            "revision": "",
            "last_operation": "-",
            "reason": f"not registered in Argo CD: run `kuploy-gitops register {STUDENT}`",
        }
    ]
    argocd_ops.register(client, demo_repo, [STUDENT])
    (row,) = argocd_ops.status(client, demo_repo, STUDENT)
    assert (row["sync"], row["health"], row["registered"]) == ("OutOfSync", "Missing", True)
    assert "nothing deployed yet" in row["reason"]
    argocd_ops.sync(client, demo_repo, STUDENT, "web", wait=True, timeout=60)
    (row,) = argocd_ops.status(client, demo_repo, None)
    assert (row["sync"], row["health"], row["reason"]) == ("Synced", "Healthy", "")
    assert row["last_operation"].startswith("Succeeded 2026-")
    assert len(row["revision"]) == 40


def test_status_names_the_reason(demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD) -> None:
    fake.scenario_for[APP] = "imagepull"
    argocd_ops.register(client, demo_repo, [STUDENT])
    results = argocd_ops.sync(client, demo_repo, STUDENT, wait=True, timeout=60)
    with pytest.raises(ArgoCDError, match="ImagePullBackOff"):
        argocd_ops.ensure_ready(results)
    (row,) = argocd_ops.status(client, demo_repo, STUDENT)
    assert row["health"] == "Degraded"
    assert row["reason"].startswith("Pod/web-5d9c7b-x2x: ImagePullBackOff: Back-off pulling")


def test_status_reports_leftovers(demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD) -> None:
    argocd_ops.register(client, demo_repo, [STUDENT])
    app = rendered(demo_repo, layout.application_file(STUDENT, "web"))
    app["metadata"]["name"] = f"{STUDENT}-old"  # type: ignore[index]
    client.upsert_application(app)
    rows = argocd_ops.status(client, demo_repo, None)
    old = next(r for r in rows if r["application"] == f"{STUDENT}-old")
    assert old["reason"].startswith("not in the repo's specs (left over?")
    assert old["student"] == STUDENT


def test_sync_unknown_app(demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD) -> None:
    with pytest.raises(ConflictError, match="no app 'api'"):
        argocd_ops.sync(client, demo_repo, STUDENT, "api")
    students = [s for s in (demo_repo / layout.TENANTS_DIR).glob("*.yaml") if s.stem != STUDENT]
    with pytest.raises(ConflictError, match="has no apps"):
        argocd_ops.sync(client, demo_repo, students[0].stem)
    assert fake.calls == []


# ------------------------------------------------------------------ offboarding and tokens


def test_verify_offboarded(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD, clock: FakeClock
) -> None:
    argocd_ops.register(client, demo_repo, None)
    tenants_project = rendered(demo_repo, layout.platform_file("tenants-project"))
    client.upsert_project(tenants_project)
    cfg = config.load_config(demo_repo)
    client.upsert_application(platform_manifests.tenant_application(cfg, STUDENT))
    fake.deletion_reads = 3  # reads (of any kind) until the finalizer is done
    fake.remove_project_tree(STUDENT)  # the ApplicationSet deletes the tenant's Application
    fake.remove_project_tree(layout.TENANTS_PROJECT)
    left_seen: list[list[str]] = []
    check = offboarding.verify_offboarded(
        client, STUDENT, timeout=60, interval=3, progress=left_seen.append
    )
    assert check.gone and check.left == ()
    assert left_seen[0] == [
        f"Application/{layout.tenant_application_name(STUDENT)} (deleting)",
        f"Application/{APP} (deleting)",
        f"AppProject/{STUDENT}",
    ]
    assert left_seen[-1] == []
    assert clock.sleeps == [3] * (len(left_seen) - 1)
    assert STUDENT not in fake.projects and APP not in fake.apps


def test_verify_offboarded_names_what_is_left(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD, clock: FakeClock
) -> None:
    argocd_ops.register(client, demo_repo, [STUDENT])
    fake.stuck.add(APP)
    fake.remove_project_tree(STUDENT)
    check = offboarding.verify_offboarded(client, STUDENT, timeout=10, interval=3)
    assert not check.gone
    assert check.left == (f"Application/{APP} (deleting)", f"AppProject/{STUDENT}")
    assert clock.now >= 10


def test_student_token(demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD) -> None:
    argocd_ops.register(client, demo_repo, [STUDENT])
    grant = argocd_ops.token(client, demo_repo, STUDENT, "7d")
    assert grant.expires_in == 7 * 86400 and grant.role == "student"
    assert fake.tokens[grant.token].subject == f"proj:{STUDENT}:student"
    with pytest.raises(ConflictError):
        argocd_ops.token(client, demo_repo, "nobody", "7d")


def test_offboard_then_register_other_students_still_works(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    argocd_ops.register(client, demo_repo, None)
    api.offboard(demo_repo, STUDENT)
    results = argocd_ops.register(client, demo_repo, None)
    assert STUDENT not in [r.student for r in results]


def test_sync_dry_run_of_selected_resources(
    demo_repo: Path, client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    argocd_ops.register(client, demo_repo, [STUDENT])
    (result,) = argocd_ops.sync(
        client,
        demo_repo,
        STUDENT,
        "web",
        dry_run=True,
        resources=["apps:Deployment:web", ":Service:web"],
    )
    assert result.action == "dry-run sync requested"
    op = fake.apps[APP]["operation"]["sync"]
    assert op["dryRun"] is True
    assert op["resources"] == [
        {"group": "apps", "kind": "Deployment", "name": "web", "namespace": STUDENT},
        {"group": "", "kind": "Service", "name": "web", "namespace": STUDENT},
    ]
    with pytest.raises(InvalidInputError, match="--dry-run and --wait"):
        argocd_ops.sync(client, demo_repo, STUDENT, dry_run=True, wait=True)
    with pytest.raises(InvalidInputError, match="'Deployment/web'"):
        argocd_ops.sync(client, demo_repo, STUDENT, resources=["Deployment/web"])
