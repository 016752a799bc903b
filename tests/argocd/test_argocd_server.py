"""The client against the fake served by a real HTTP(S) server on 127.0.0.1.

Covers what a MockTransport cannot: TCP connection refused, a server that does not answer in
time, TLS verification against a self-signed certificate, and a served sub-path.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from argocd_fake import FakeArgoCD
from argocd_support import register

from kuploy_gitops.argocd.client import AppState, ArgoCDClient
from kuploy_gitops.errors import ArgoCDError, InvalidInputError

MakeClient = Callable[..., ArgoCDClient]


def test_register_sync_wait_over_http_under_a_sub_path(
    fake: FakeArgoCD, make_client: MakeClient
) -> None:
    fake.root_path = "/argocd"
    url = fake.start()
    client = make_client(url, transport=None, root_path="argocd")
    register(client)
    client.sync("kim-web")
    assert client.wait("kim-web", timeout=60).result == "healthy"
    assert AppState.of(client.get_application("kim-web")).ready
    # Without the prefix the server answers with its UI's 404 page, not the API.
    bare = make_client(url, transport=None)
    with pytest.raises(ArgoCDError) as info:
        bare.get_project("kim")
    assert info.value.status == 404


def test_connection_refused(make_client: MakeClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", transport=None, retries=2)
    with pytest.raises(ArgoCDError) as info:
        client.list_applications()
    assert info.value.status is None
    assert "cannot connect to http://127.0.0.1" in info.value.message
    assert "ARGOCD_SERVER" in (info.value.hint or "")


def test_timeout(fake: FakeArgoCD, make_client: MakeClient) -> None:
    fake.hold = threading.Event()  # the server sits on every request until released
    url = fake.start()
    client = make_client(url, transport=None, timeout=0.2)
    with pytest.raises(ArgoCDError) as info:
        client.get_application("kim-web")
    assert info.value.status is None
    assert "within 0.2s" in info.value.message
    assert "--timeout" in (info.value.hint or "")
    fake.hold.set()


def test_tls_self_signed_refused_by_default(
    fake: FakeArgoCD, make_client: MakeClient, server_tls: ssl.SSLContext
) -> None:
    url = fake.start(server_tls)
    client = make_client(url, transport=None)
    with pytest.raises(ArgoCDError) as info:
        client.list_applications()
    assert "TLS certificate" in info.value.message
    assert "--ca-file" in (info.value.hint or "")
    assert fake.calls == []


def test_tls_with_ca_file_or_insecure(
    fake: FakeArgoCD,
    make_client: MakeClient,
    server_tls: ssl.SSLContext,
    tls_files: tuple[Path, Path],
) -> None:
    url = fake.start(server_tls)
    verified = make_client(url, transport=None, ca_file=tls_files[0])
    register(verified)
    insecure = make_client(url, transport=None, insecure=True)
    assert [a["metadata"]["name"] for a in insecure.list_applications()] == ["kim-web"]


def test_bad_ca_file_is_named(make_client: MakeClient, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello\n")
    with pytest.raises(InvalidInputError, match="not-a-cert.pem"):
        make_client("https://127.0.0.1:1", transport=None, ca_file=bad)


def test_5xx_then_success_over_http(fake: FakeArgoCD, make_client: MakeClient) -> None:
    url = fake.start()
    client = make_client(url, transport=None)
    register(client)
    fake.fail_next.extend([504])
    assert client.list_applications(projects=["kim"])[0]["metadata"]["name"] == "kim-web"
