"""Unit tests of the Argo CD client over httpx.MockTransport: auth, retries, error mapping."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from argocd_support import ADMIN_TOKEN, PASSWORD, FakeClock

from kuploy_gitops.argocd.client import (
    ArgoCDClient,
    Connection,
    Credentials,
    SyncResource,
    declared,
    opts_from_env,
)
from kuploy_gitops.errors import ArgoCDError, CredentialsError, InvalidInputError

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A scripted MockTransport handler that records every request."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        status, body = reply
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=body)


def client_with(
    rec: Recorder, clock: FakeClock, *, creds: Credentials | None = None, **conn: Any
) -> ArgoCDClient:
    return ArgoCDClient(
        Connection(server=conn.pop("server", "https://argocd.test"), **conn),
        creds or Credentials(token=ADMIN_TOKEN),
        transport=httpx.MockTransport(rec),
        sleep=clock.sleep,
        clock=clock,
    )


def err_text(exc: ArgoCDError) -> str:
    return " ".join([str(exc), repr(exc), exc.message, exc.server_message, exc.hint or ""])


# ------------------------------------------------------------------ credentials and connection


def test_credentials_from_env_prefers_token_and_hides_secrets() -> None:
    creds = Credentials.from_env(
        {"ARGOCD_AUTH_TOKEN": ADMIN_TOKEN, "ARGOCD_USERNAME": "admin", "ARGOCD_PASSWORD": PASSWORD}
    )
    assert not creds.can_login
    assert ADMIN_TOKEN not in repr(creds) and PASSWORD not in repr(creds)
    login = Credentials.from_env({"ARGOCD_USERNAME": "admin", "ARGOCD_PASSWORD": PASSWORD})
    assert login.can_login
    assert PASSWORD not in repr(login) and "admin" in repr(login)


def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(CredentialsError, match="ARGOCD_AUTH_TOKEN"):
        Credentials.from_env({"ARGOCD_USERNAME": "admin"})


@pytest.mark.parametrize(
    ("server", "root", "expected"),
    [
        ("argocd.lab.test", "", "https://argocd.lab.test"),
        ("https://argocd.lab.test/", "", "https://argocd.lab.test"),
        ("http://10.0.0.5:8080", "/argocd/", "http://10.0.0.5:8080/argocd"),
        ("https://lab.test", "tools/argocd", "https://lab.test/tools/argocd"),
    ],
)
def test_base_url(server: str, root: str, expected: str) -> None:
    assert Connection(server=server, root_path=root).base_url == expected


def test_bad_server_is_named() -> None:
    with pytest.raises(InvalidInputError, match="ftp://x"):
        _ = Connection(server="ftp://x").base_url


def test_argocd_opts_parsing() -> None:
    env = {"ARGOCD_OPTS": "--grpc-web --insecure --grpc-web-root-path /argocd --server=a.test"}
    assert opts_from_env(env) == {"insecure": True, "root_path": "/argocd", "server": "a.test"}
    assert opts_from_env({}) == {}


def test_repr_of_client_hides_token(clock: FakeClock) -> None:
    with client_with(Recorder((200, {})), clock) as client:
        assert ADMIN_TOKEN not in repr(client)
        assert "argocd.test" in repr(client)


def test_declared_drops_server_owned_fields() -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "a",
            "namespace": "argocd",
            "uid": "x",
            "resourceVersion": "3",
            "labels": {"k": "v"},
        },
        "spec": {"project": "p"},
        "status": {"sync": {}},
    }
    assert declared(app) == {
        "metadata": {"name": "a", "namespace": "argocd", "labels": {"k": "v"}},
        "spec": {"project": "p"},
    }


# ------------------------------------------------------------------ auth


def test_bearer_token_sent_and_root_path_prefixed(clock: FakeClock) -> None:
    rec = Recorder((200, {"items": []}))
    with client_with(rec, clock, root_path="argocd") as client:
        assert client.list_applications(projects=["kim", "lee"], selector="a=b") == []
    req = rec.requests[0]
    assert req.headers["authorization"] == f"Bearer {ADMIN_TOKEN}"
    assert req.url.path == "/argocd/api/v1/applications"
    assert req.url.params.get_list("projects") == ["kim", "lee"]
    assert req.url.params["selector"] == "a=b"


def test_session_login_then_relogin_once_on_401(clock: FakeClock) -> None:
    tokens = iter(["session-1", "session-2"])

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/session":
            body = json.loads(request.content)
            assert body == {"username": "admin", "password": PASSWORD}
            return httpx.Response(200, json={"token": next(tokens)})
        if request.headers["authorization"] == "Bearer session-1":
            return httpx.Response(401, json={"code": 16, "message": "token is expired"})
        return httpx.Response(200, json={"metadata": {"name": "p"}})

    rec = Recorder(route)
    creds = Credentials(username="admin", password=PASSWORD)
    with client_with(rec, clock, creds=creds) as client:
        assert client.get_project("p")["metadata"]["name"] == "p"
    paths = [(r.method, r.url.path) for r in rec.requests]
    assert paths == [
        ("POST", "/api/v1/session"),
        ("GET", "/api/v1/projects/p"),
        ("POST", "/api/v1/session"),
        ("GET", "/api/v1/projects/p"),
    ]


def test_relogin_happens_only_once(clock: FakeClock) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/session":
            return httpx.Response(200, json={"token": "session-x"})
        return httpx.Response(401, json={"code": 16, "message": "no session information"})

    rec = Recorder(route)
    with (
        client_with(rec, clock, creds=Credentials(username="admin", password=PASSWORD)) as c,
        pytest.raises(ArgoCDError) as info,
    ):
        c.get_project("p")
    assert info.value.status == 401
    assert len(rec.requests) == 4
    assert PASSWORD not in err_text(info.value) and "session-x" not in err_text(info.value)


def test_bad_password_is_one_clear_error(clock: FakeClock) -> None:
    rec = Recorder(
        (
            401,
            {
                "error": "Invalid username or password",
                "code": 16,
                "message": "Invalid username or password",
            },
        )
    )
    with (
        client_with(rec, clock, creds=Credentials(username="admin", password=PASSWORD)) as c,
        pytest.raises(ArgoCDError) as info,
    ):
        c.get_project("p")
    assert (info.value.method, info.value.path, info.value.status) == (
        "POST",
        "/api/v1/session",
        401,
    )
    assert info.value.server_message == "Invalid username or password"
    assert len(rec.requests) == 1


def test_static_token_rejected_says_what_to_do_without_leaking(clock: FakeClock) -> None:
    # A server that echoes the token back must not get it into our error.
    rec = Recorder((401, {"code": 16, "message": f"token {ADMIN_TOKEN} is expired"}))
    with client_with(rec, clock) as client, pytest.raises(ArgoCDError) as info:
        client.get_application("kim-web")
    assert info.value.status == 401
    assert "ARGOCD_AUTH_TOKEN" in (info.value.hint or "")
    assert ADMIN_TOKEN not in err_text(info.value)
    assert "***" in info.value.server_message
    assert len(rec.requests) == 1


# ------------------------------------------------------------------ retries


def test_idempotent_get_retries_502_503_504_with_backoff(clock: FakeClock) -> None:
    rec = Recorder(
        (502, "bad gateway"),
        (503, {"message": "unavailable"}),
        (504, ""),
        (200, {"metadata": {"name": "kim-web"}}),
    )
    with client_with(rec, clock) as client:
        assert client.get_application("kim-web")["metadata"]["name"] == "kim-web"
    assert len(rec.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_retries_give_up_with_the_last_status(clock: FakeClock) -> None:
    rec = Recorder((503, {"error": "x", "code": 14, "message": "the server is restarting"}))
    with client_with(rec, clock, retries=2) as client, pytest.raises(ArgoCDError) as info:
        client.list_applications()
    assert info.value.status == 503
    assert info.value.server_message == "the server is restarting"
    assert len(rec.requests) == 3


def test_sync_is_not_retried(clock: FakeClock) -> None:
    rec = Recorder((503, {"message": "unavailable"}))
    with client_with(rec, clock) as client, pytest.raises(ArgoCDError) as info:
        client.sync("kim-web")
    assert info.value.status == 503
    assert len(rec.requests) == 1 and clock.sleeps == []


def test_connect_errors_retried_for_reads_only(clock: FakeClock) -> None:
    rec = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    with client_with(rec, clock) as client:
        with pytest.raises(ArgoCDError) as info:
            client.get_project("kim")
        assert info.value.status is None
        assert "cannot connect" in info.value.message
        assert len(rec.requests) == 4
        rec.requests.clear()
        with pytest.raises(ArgoCDError):
            client.sync("kim-web")
        assert len(rec.requests) == 1


def test_connect_error_then_success(clock: FakeClock) -> None:
    rec = Recorder(httpx.ConnectError("refused"), (200, {"items": [{"metadata": {"name": "a"}}]}))
    with client_with(rec, clock) as client:
        assert [a["metadata"]["name"] for a in client.list_applications()] == ["a"]
    assert clock.sleeps == [0.5]


def test_dns_failure_is_named_at_once_not_retried(clock: FakeClock) -> None:
    lookup = socket.gaierror(-2, "Name or service not known")
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = lookup
    rec = Recorder(error)
    client = client_with(rec, clock, server="https://argocd.lab.exmaple.ac.kr")
    with client, pytest.raises(ArgoCDError) as info:
        client.get_project("kim")
    assert len(rec.requests) == 1 and clock.sleeps == []
    assert "'argocd.lab.exmaple.ac.kr' does not resolve (DNS)" in str(info.value)
    assert "check the spelling of --server" in str(info.value)


def test_read_timeout_is_mapped_not_retried(clock: FakeClock) -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    with client_with(rec, clock, timeout=2.5) as client, pytest.raises(ArgoCDError) as info:
        client.get_application("kim-web")
    assert "within 2.5s" in info.value.message
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(rec.requests) == 1


# ------------------------------------------------------------------ error mapping


def test_http_error_carries_method_path_status_and_message(clock: FakeClock) -> None:
    rec = Recorder(
        (
            404,
            {
                "error": 'applications.argoproj.io "x" not found',
                "code": 5,
                "message": 'applications.argoproj.io "x" not found',
            },
        )
    )
    with client_with(rec, clock) as client, pytest.raises(ArgoCDError) as info:
        client.get_application("x")
    exc = info.value
    assert (exc.method, exc.path, exc.status) == ("GET", "/api/v1/applications/x", 404)
    assert exc.server_message == 'applications.argoproj.io "x" not found'
    assert exc.exit_code == 9
    assert "register" in (exc.hint or "")


def test_non_json_error_and_reply(clock: FakeClock) -> None:
    rec = Recorder((502, "<html>Bad Gateway</html>"))
    with client_with(rec, clock, retries=0) as client, pytest.raises(ArgoCDError) as info:
        client.get_project("kim")
    assert info.value.server_message == "<html>Bad Gateway</html>"
    rec2 = Recorder((200, "<!doctype html><title>Argo CD</title>"))
    with client_with(rec2, clock) as client, pytest.raises(ArgoCDError) as info2:
        client.get_project("kim")
    assert "grpc-web-root-path" in (info2.value.hint or "")


def test_refused_arguments_never_reach_the_server(clock: FakeClock) -> None:
    rec = Recorder((200, {}))
    with client_with(rec, clock) as client:
        with pytest.raises(InvalidInputError, match="cascade"):
            client.delete_application("kim-web", cascade=False, propagation_policy="foreground")
        with pytest.raises(InvalidInputError, match="orphan"):
            client.delete_application("kim-web", propagation_policy="orphan")
        with pytest.raises(InvalidInputError, match="expire"):
            client.create_project_token("kim", "student", expires_in=0, token_id="t")
        with pytest.raises(InvalidInputError, match="soft"):
            client.get_application("kim-web", refresh="soft")  # type: ignore[arg-type]
    assert rec.requests == []


def test_request_shapes(clock: FakeClock) -> None:
    rec = Recorder((200, {}))
    with client_with(rec, clock) as client:
        client.sync(
            "kim-web",
            revision="abc",
            prune=True,
            dry_run=True,
            resources=[SyncResource(kind="Deployment", name="web", group="apps")],
        )
        client.delete_application("kim-web", propagation_policy="background")
        client.get_application("kim-web", refresh="hard", project="kim")
        client.upsert_application(
            {"kind": "Application", "metadata": {"name": "kim-web"}, "spec": {}},
            upsert=False,
            validate=False,
        )
    sync, delete, get, create = rec.requests
    assert json.loads(sync.content) == {
        "name": "kim-web",
        "prune": True,
        "dryRun": True,
        "revision": "abc",
        "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
    }
    assert dict(delete.url.params) == {"cascade": "true", "propagationPolicy": "background"}
    assert dict(get.url.params) == {"refresh": "hard", "project": "kim"}
    assert dict(create.url.params) == {"upsert": "false", "validate": "false"}
    assert json.loads(create.content) == {"metadata": {"name": "kim-web"}, "spec": {}}


def test_logs_never_carry_the_token(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rec = Recorder((503, {"message": f"echo {ADMIN_TOKEN}"}), (200, {"items": []}))
    with client_with(rec, clock) as client:
        client.list_applications()
    assert caplog.records, "expected debug/info records"
    assert ADMIN_TOKEN not in caplog.text
