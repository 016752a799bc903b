"""The Argo CD double of tests/argocd for tests outside that folder, wired to the fake GitHub.

``github setup`` registers each student repo's deploy key in Argo CD; its tests run it against
the same swagger-checking double as the Argo CD tests, whose repo-server "connects" only when
the fake GitHub holds the read-only deploy key whose private half Argo CD was given.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

ARGOCD_TESTS = Path(__file__).resolve().parent / "argocd"
if str(ARGOCD_TESTS) not in sys.path:
    sys.path.insert(0, str(ARGOCD_TESTS))

from argocd_fake import FakeArgoCD, Reply  # noqa: E402
from argocd_support import ADMIN_TOKEN  # noqa: E402

from kuploy_gitops.argocd.client import ArgoCDClient, Connection, Credentials  # noqa: E402

__all__ = ["ADMIN_TOKEN", "FakeArgoCD", "Reply", "client", "deploy_key_holds", "public_of", "start"]


def public_of(private_key: str) -> str:
    """``ssh-ed25519 AAAA...`` of an OpenSSH private key (what GitHub stores for it)."""
    key = serialization.load_ssh_private_key(private_key.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def deploy_key_holds(github: Any) -> Any:
    """A ``can_connect`` for the Argo CD double: the repo has the key read-only on the fake."""

    def can_connect(repo: dict[str, Any]) -> bool:
        url = str(repo.get("repo", ""))
        full_name = url.split(":", 1)[-1].removesuffix(".git").lower()
        hosted = github.repos.get(full_name)
        private = str(repo.get("sshPrivateKey", ""))
        if hosted is None or not private:
            return False
        public = public_of(private)
        return any(k["key"] == public and k["read_only"] for k in hosted.keys.values())

    return can_connect


def start(github: Any = None) -> FakeArgoCD:
    """A fresh double with the admin token (wired to ``github``'s deploy keys when given)."""
    fake = FakeArgoCD()
    fake.add_token(ADMIN_TOKEN, "kuploy")
    if github is not None:
        fake.can_connect = deploy_key_holds(github)
    return fake


def client(fake: FakeArgoCD) -> ArgoCDClient:
    """An admin client on the double, in memory."""
    return ArgoCDClient(
        Connection(server="https://argocd.test"),
        Credentials(token=ADMIN_TOKEN),
        transport=fake.transport(),
        sleep=lambda _: None,
    )
