"""Fixtures for the Argo CD tests: the fake server, clients on it, a fake clock, TLS material."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argocd_fake import FakeArgoCD
from argocd_support import ADMIN_TOKEN, FakeClock
from argocd_swagger import ARGOCD_DATA
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import self_signed

from kuploy_gitops import api
from kuploy_gitops.argocd.client import ArgoCDClient, Connection, Credentials


@pytest.fixture(scope="session", autouse=True)
def _argocd_data_present() -> None:
    if not (ARGOCD_DATA / "swagger.json").is_file():
        pytest.fail(f"Argo CD data missing at {ARGOCD_DATA.resolve()}")


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo platform repo, built once (with an isolated git identity) and copied per test."""
    home = tmp_path_factory.mktemp("argocd-home")
    cfg = home / "gitconfig"
    cfg.write_text(
        "[user]\n\tname = Test Admin\n\temail = admin@example.test\n"
        "[init]\n\tdefaultBranch = main\n"
    )
    repo = tmp_path_factory.mktemp("argocd-demo") / "demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CONFIG_GLOBAL", str(cfg))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        api.demo(repo)
    return repo


@pytest.fixture
def demo_repo(_demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo repo (a real git repo) for this test."""
    repo = tmp_path / "demo"
    shutil.copytree(_demo_template, repo, symlinks=True)
    return repo


@pytest.fixture
def fake() -> Iterator[FakeArgoCD]:
    server = FakeArgoCD()
    server.add_token(ADMIN_TOKEN, "kuploy")
    yield server
    server.stop()
    expected = getattr(server, "expected_violations", 0)
    assert len(server.violations) == expected, server.violations


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(fake: FakeArgoCD, clock: FakeClock) -> Iterator[Callable[..., ArgoCDClient]]:
    """Clients on the fake: over MockTransport by default, or a given server URL."""
    made: list[ArgoCDClient] = []

    def make(
        server: str = "https://argocd.test",
        *,
        token: str = ADMIN_TOKEN,
        username: str = "",
        password: str = "",
        transport: Any = "mock",
        **conn: Any,
    ) -> ArgoCDClient:
        creds = Credentials(token=token, username=username, password=password)
        client = ArgoCDClient(
            Connection(server=server, **conn),
            creds,
            transport=fake.transport() if transport == "mock" else transport,
            sleep=clock.sleep,
            clock=clock,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def argocd_env(monkeypatch: pytest.MonkeyPatch, fake: FakeArgoCD) -> Callable[..., str]:
    """Start the fake as a real local HTTP server and point the environment at it."""

    def start(*, root_path: str = "", tls: ssl.SSLContext | None = None) -> str:
        fake.root_path = root_path
        url = fake.start(tls)
        monkeypatch.setenv("ARGOCD_SERVER", url)
        monkeypatch.setenv("ARGOCD_AUTH_TOKEN", ADMIN_TOKEN)
        monkeypatch.delenv("ARGOCD_USERNAME", raising=False)
        monkeypatch.delenv("ARGOCD_PASSWORD", raising=False)
        monkeypatch.delenv("ARGOCD_OPTS", raising=False)
        return url

    return start


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        self_signed(key.public_key(), "fake-argocd.test", days=2)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "argocd.pem"
    key_path = folder / "argocd.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*tls_files)
    return ctx
