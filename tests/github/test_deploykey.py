"""Deploy key material and URL helpers of kuploy_gitops.github.deploykey."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuploy_gitops import config
from kuploy_gitops.errors import ProviderError
from kuploy_gitops.github import deploykey
from kuploy_gitops.github.provider import RepoInfo


def test_generated_pair_matches_and_hides_its_private_half() -> None:
    pair = deploykey.generate_key_pair("kuploy test")
    assert pair.public.startswith("ssh-ed25519 ") and pair.public.endswith(" kuploy test")
    private = serialization.load_ssh_private_key(pair.private.encode(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)  # unencrypted: Argo CD reads it as is
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert pair.public.split()[:2] == public.decode().split()
    for text in (repr(pair), str(pair), repr([pair])):
        assert "PRIVATE" not in text and pair.private.splitlines()[2] not in text
    assert deploykey.generate_key_pair("x").private != deploykey.generate_key_pair("x").private


def info(ssh_url: str) -> RepoInfo:
    return RepoInfo("org", "kim-web", True, False, "main", "https://h/org/kim-web.git", "", ssh_url)


def test_source_url_is_the_ssh_url() -> None:
    assert deploykey.source_url(info("git@h:org/kim-web.git")) == "git@h:org/kim-web.git"
    with pytest.raises(ProviderError, match="org/kim-web has no SSH URL"):
        deploykey.source_url(info(""))


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("git@github.com:org/kim-web.git", True),
        ("https://github.com/ORG/kim-web.git", True),
        ("ssh://git@github.com/org/kim-web", True),
        ("https://github.com/org/lee-kim-web.git", False),
        ("https://github.com/other/kim-web.git", False),
    ],
)
def test_same_repo(url: str, same: bool) -> None:
    assert deploykey.same_repo(url, "org", "kim-web") is same


def test_key_title_names_the_platform() -> None:
    cfg = config.parse_config(config.default_config_data())
    assert deploykey.key_title(cfg) == f"kuploy Argo CD read-only ({cfg.cluster_name})"
