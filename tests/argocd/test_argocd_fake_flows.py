"""The client against the in-process fake Argo CD (swagger- and CRD-checked), via MockTransport.

Fixtures are built with the project's own manifest builders, so the bodies are what kuploy
renders; the fake rejects anything Argo CD's API would not accept.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from argocd_fake import FakeArgoCD
from argocd_support import ADMIN_TOKEN, PASSWORD, FakeClock, register, tenant

from kuploy_gitops.argocd.client import AppState, ArgoCDClient, SyncResource
from kuploy_gitops.errors import ArgoCDError

MakeClient = Callable[..., ArgoCDClient]


@pytest.fixture
def client(make_client: MakeClient) -> ArgoCDClient:
    return make_client()


def test_upsert_get_and_list(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    register(client, "kim", "web", "api")
    register(client, "lee")
    assert set(fake.apps) == {"kim-web", "kim-api", "lee-web"}
    assert fake.projects["kim"]["spec"]["roles"][0]["name"] == "student"
    got = client.get_application("kim-web", refresh="normal")
    assert AppState.of(got).summary() == "OutOfSync/Missing"
    names = sorted(a["metadata"]["name"] for a in client.list_applications(projects=["kim"]))
    assert names == ["kim-api", "kim-web"]
    selected = client.list_applications(selector="kuploy.io/owner=lee,kuploy.io/app=web")
    assert [a["metadata"]["name"] for a in selected] == ["lee-web"]
    # Upserting the same objects again is a no-op, not an error.
    register(client, "kim", "web", "api")


def test_spec_different_without_upsert(client: ArgoCDClient) -> None:
    project, (app,) = tenant()
    client.upsert_project(project)
    client.upsert_application(app)
    app["spec"]["source"]["targetRevision"] = "refs/heads/other"
    with pytest.raises(ArgoCDError) as info:
        client.upsert_application(app, upsert=False)
    assert info.value.status == 400
    assert "existing application spec is different" in info.value.server_message
    assert "upsert" in (info.value.hint or "")
    client.upsert_application(app, upsert=True)


def test_validate_refuses_a_foreign_destination(client: ArgoCDClient) -> None:
    project, (app,) = tenant()
    client.upsert_project(project)
    app["spec"]["destination"]["namespace"] = "kube-system"
    with pytest.raises(ArgoCDError, match="not permitted") as info:
        client.upsert_application(app)
    assert info.value.status == 400


def test_403_project_mismatch_and_404(client: ArgoCDClient) -> None:
    register(client)
    with pytest.raises(ArgoCDError) as info:
        client.get_application("kim-web", project="lee")
    assert info.value.status == 403
    assert "another project" in (info.value.hint or "")
    with pytest.raises(ArgoCDError) as missing:
        client.get_application("kim-nope")
    assert missing.value.status == 404
    assert missing.value.path == "/api/v1/applications/kim-nope"


def test_sync_and_wait_until_healthy(
    client: ArgoCDClient, fake: FakeArgoCD, clock: FakeClock
) -> None:
    register(client)
    client.sync(
        "kim-web",
        revision="main",
        prune=True,
        resources=[SyncResource(kind="Deployment", name="web", group="apps", namespace="kim")],
    )
    seen: list[str] = []
    outcome = client.wait(
        "kim-web", timeout=60, interval=2, progress=lambda s: seen.append(s.summary())
    )
    assert outcome.result == "healthy" and outcome.reason is None
    assert seen == [
        "OutOfSync/Missing (Running)",
        "Synced/Progressing (Succeeded)",
        "Synced/Healthy (Succeeded)",
    ]
    assert clock.sleeps == [2, 2]
    assert outcome.state.revision == "main"


def test_wait_does_not_trust_a_stale_success(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    register(client)
    client.sync("kim-web")
    assert client.wait("kim-web", timeout=60).result == "healthy"
    client.sync("kim-web", revision="v2")
    # The previous operation succeeded, but the new one is pending: wait must see it through.
    outcome = client.wait("kim-web", timeout=60)
    assert outcome.result == "healthy" and outcome.state.revision == "v2"


@pytest.mark.parametrize(
    ("scenario", "result", "expected"),
    [
        ("psa", "failed", "ReplicaSet/web-5d9c7b: refused by Pod Security: violates PodSecurity"),
        ("quota", "failed", "ReplicaSet/web-5d9c7b: quota exceeded: exceeded quota: kuploy-quota"),
        ("imagepull", "failed", "Pod/web-5d9c7b-x2x: ImagePullBackOff: Back-off pulling image"),
        ("crashloop", "failed", "Pod/web-5d9c7b-x2x: CrashLoopBackOff: back-off 40s restarting"),
        (
            "readiness",
            "timeout",
            "Pod/web-5d9c7b-x2x: readiness probe failing: Readiness probe "
            "failed: HTTP probe failed with statuscode: 503",
        ),
        ("syncfail", "failed", "Deployment/web: sync failed"),
    ],
)
def test_wait_reports_the_first_concrete_reason(
    client: ArgoCDClient, fake: FakeArgoCD, scenario: str, result: str, expected: str
) -> None:
    fake.scenario_for["kim-web"] = scenario
    register(client)
    client.sync("kim-web")
    outcome = client.wait("kim-web", timeout=30, interval=5)
    assert outcome.result == result
    assert outcome.reason is not None
    text = str(outcome.reason)
    if scenario == "syncfail":
        assert text.startswith("Deployment/web: ") and "Required value" in text
    else:
        assert text.startswith(expected), text
    called = {op for _, op, _ in fake.calls}
    assert "ApplicationService_ResourceTree" in called


def test_events_are_asked_per_resource(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    fake.scenario_for["kim-web"] = "psa"
    register(client)
    client.sync("kim-web")
    client.wait("kim-web", timeout=30)
    events = client.events("kim-web", namespace="kim", resource="web-5d9c7b", uid="uid-rs")
    assert {e["reason"] for e in events} == {"SuccessfulCreate", "FailedCreate"}
    assert client.events("kim-web") == []


def test_delete_app_then_project(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    register(client)
    with pytest.raises(ArgoCDError) as info:
        client.delete_project("kim")
    assert info.value.status == 400 and "referenced by 1" in info.value.server_message
    client.delete_application("kim-web", cascade=True, propagation_policy="foreground")
    assert client.list_applications(projects=["kim"])[0]["metadata"]["deletionTimestamp"]
    assert client.list_applications(projects=["kim"]) == []
    client.delete_project("kim")
    with pytest.raises(ArgoCDError) as gone:
        client.get_project("kim")
    assert gone.value.status == 404


def test_project_token_limits_the_student(
    client: ArgoCDClient, fake: FakeArgoCD, make_client: MakeClient
) -> None:
    register(client, "kim")
    register(client, "lee")
    grant = client.create_project_token(
        "kim", "student", expires_in=3600, token_id="ci-1", description="kim CI"
    )
    assert grant.token not in repr(grant)
    assert fake.projects["kim"]["status"]["jwtTokensByRole"]["student"]["items"][0]["id"] == "ci-1"
    student = make_client(token=grant.token)
    student.sync("kim-web")
    assert AppState.of(student.get_application("kim-web")).name == "kim-web"
    with pytest.raises(ArgoCDError) as info:
        student.sync("lee-web")
    assert info.value.status == 403
    assert grant.token not in str(info.value)
    with pytest.raises(ArgoCDError) as missing_role:
        client.create_project_token("kim", "admin", expires_in=60, token_id="x")
    assert missing_role.value.status == 404


def test_session_login_against_the_fake(make_client: MakeClient, fake: FakeArgoCD) -> None:
    client = make_client(token="", username="admin", password=PASSWORD)
    register(client)
    fake.expire_sessions()  # e.g. the API server restarted
    assert client.get_application("kim-web")["metadata"]["name"] == "kim-web"
    logins = [c for c in fake.calls if c[1] == "SessionService_Create"]
    assert len(logins) == 2


def test_5xx_then_success_against_the_fake(
    client: ArgoCDClient, fake: FakeArgoCD, clock: FakeClock
) -> None:
    register(client)
    fake.fail_next.extend([503, 502])
    assert client.get_application("kim-web")["metadata"]["name"] == "kim-web"
    assert clock.sleeps == [0.5, 1.0]


def test_the_fake_rejects_what_argocd_would_not_accept(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """The checker itself must be able to fail: an undeclared query parameter, a bad body."""
    fake.expected_violations = 3  # type: ignore[attr-defined]
    with pytest.raises(ArgoCDError) as info:
        client._call("GET", "/api/v1/applications", params={"owner": "kim"}, idempotent=True)
    assert "'owner' is not declared" in info.value.server_message
    project, (app,) = tenant()
    client.upsert_project(project)
    app["spec"]["destination"]["namespaces"] = ["kim"]  # a typo Argo CD would drop
    with pytest.raises(ArgoCDError, match="namespaces"):
        client.upsert_application(app)
    del app["spec"]["destination"]["namespaces"]
    app["spec"]["syncPolicy"]["retry"]["limit"] = "five"
    with pytest.raises(ArgoCDError, match="five"):
        client.upsert_application(app)
    assert len(fake.violations) == 3


def test_application_bodies_are_checked_against_the_crd(fake: FakeArgoCD) -> None:
    """A body that passes swagger but not the CRD (spec.destination missing) is refused."""
    fake.expected_violations = 1  # type: ignore[attr-defined]
    body = json.dumps({"metadata": {"name": "x"}, "spec": {"project": "kim"}}).encode()
    status, reply, _ = fake.handle(
        "POST",
        "/api/v1/applications?upsert=true",
        {"authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/json"},
        body,
    )
    assert status == 400
    assert b"application-crd.yaml" in reply and b"destination" in reply
