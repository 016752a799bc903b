"""The sealing format against the real sealed-secrets code (Go), in both directions (slow tier).

tests/sealedsecrets_binary.py builds a small program of ours over sealed-secrets' own packages
(``SealedSecret.Unseal``, ``crypto.HybridEncrypt``, ``v1alpha1.EncryptionLabel``; the version is
in tests/sealedsecrets_harness/go.mod). The controller's role is played by a test keypair.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
import sealedsecrets_binary
from app_repo import STUDENT, app_repo, app_template
from helpers import git
from sealing_keys import install_cert, keypair, private_pem

from kuploy_gitops import layout, sealing, yamlio
from kuploy_gitops.ops import secrets

__all__ = ["app_repo", "app_template"]  # fixtures
pytestmark = [pytest.mark.slow, pytest.mark.platform_repo]


@pytest.fixture(scope="module")
def harness() -> Path:
    try:
        return sealedsecrets_binary.build()
    except sealedsecrets_binary.HarnessUnbuildable as exc:
        if os.environ.get(sealedsecrets_binary.REQUIRE_ENV):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def run(harness: Path, *args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(harness), *args], input=stdin, capture_output=True, timeout=60)


def test_what_secret_set_commits_is_unsealed_by_the_controllers_code(
    harness: Path, app_repo: Path, tmp_path: Path
) -> None:
    install_cert(app_repo)
    git(app_repo, "add", "-A")
    git(app_repo, "commit", "-q", "-m", "cert")
    values = {"APP_TOKEN": b"k3y-9Zq", "DATABASE_URL": "postgres://u:비밀@db/app".encode()}
    secrets.secret_set(app_repo, STUDENT, "web", values)
    secrets.secret_set(app_repo, STUDENT, "web", {"EXTRA": b"\x00binary\xff"})
    rendered = app_repo / layout.workload_dir(STUDENT, "web") / layout.SEALED_SECRET_FILE
    key = tmp_path / "key.pem"
    key.write_bytes(private_pem())
    done = run(harness, "unseal", str(key), stdin=rendered.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    secret = json.loads(done.stdout)
    made = (secret["name"], secret["namespace"], secret["type"])
    assert made == ("web-secrets", STUDENT, "Opaque")
    assert secret["data"] == {
        "APP_TOKEN": "k3y-9Zq",
        "DATABASE_URL": "postgres://u:비밀@db/app",
        "EXTRA": "\x00binary\ufffd",  # Go's string() of invalid UTF-8, as JSON
    }
    # Strict scope, by the controller's rule: the same ciphertexts under another name fail.
    obj = yamlio.load(rendered.read_text())
    obj["metadata"]["name"] = obj["spec"]["template"]["metadata"]["name"] = "other-secrets"
    moved = run(harness, "unseal", str(key), stdin=yamlio.dump(obj).encode())
    assert moved.returncode != 0 and b"no key could decrypt secret" in moved.stderr


def test_what_the_controllers_code_seals_opens_here(harness: Path, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_bytes(keypair()[1])
    value = "비밀 value\nwith lines".encode()
    done = run(harness, "seal", str(cert), STUDENT, "web-secrets", stdin=value)
    assert done.returncode == 0, done.stderr.decode()
    sealed = base64.b64decode(done.stdout.strip(), validate=True)
    label = sealing.strict_label(STUDENT, "web-secrets")
    assert sealing.hybrid_decrypt(keypair()[0], sealed, label) == value
    with pytest.raises(ValueError):
        sealing.hybrid_decrypt(keypair()[0], sealed, sealing.strict_label(STUDENT, "api-secrets"))
