"""Project-scoped repositories through the client, against the swagger-checking double."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argocd_fake import FakeArgoCD, Reply

from kuploy_gitops.argocd.client import ArgoCDClient
from kuploy_gitops.argocd.repositories import RepoEntry
from kuploy_gitops.errors import ArgoCDError
from kuploy_gitops.repourl import normalise as normalise_git_url

URL = "git@github.com:konkuk-kuploy/kim-web.git"
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDx2aVXq3secretsecretsecretsecretsecretsecretAAAAJgAAAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # Argo CD's git.SameURL: case, .git and a trailing slash do not matter...
        ("git@github.com:Org/Repo.git", "git@github.com:org/repo", True),
        ("https://github.com/org/repo.git", "https://github.com/org/repo/", True),
        # ...scp-like and ssh:// forms are the same repository...
        ("git@github.com:org/repo.git", "ssh://git@github.com/org/repo", True),
        # ...but https and SSH are not (they need different credentials), nor other repos.
        ("git@github.com:org/repo.git", "https://github.com/org/repo.git", False),
        ("git@github.com:org/repo.git", "git@github.com:org/repo-2.git", False),
        ("git@github.com:org/kim.git", "git@github.com:org/kim-lee.git", False),
    ],
)
def test_normalise_git_url(a: str, b: str, same: bool) -> None:
    assert (normalise_git_url(a) == normalise_git_url(b)) is same


def test_upsert_find_and_delete(make_client: Callable[..., ArgoCDClient], fake: FakeArgoCD) -> None:
    client = make_client()
    client.upsert_ssh_repository(URL, "kim", KEY)
    client.upsert_ssh_repository(URL, "kim", KEY)  # the same again: no change, no error
    client.upsert_ssh_repository("git@github.com:konkuk-kuploy/lee-web.git", "lee", KEY + "x")
    assert fake.repositories[(normalise_git_url(URL), "kim")] == {
        "repo": URL,
        "type": "git",
        "project": "kim",
        "sshPrivateKey": KEY,
    }
    entries = client.list_repositories()
    assert RepoEntry(URL, "kim", "git", "Successful") in entries
    assert "PRIVATE" not in repr(entries)  # Argo CD never lists a key
    # Found only in its own project and by a URL Argo CD would take as the same.
    assert client.find_repository(URL.upper().removesuffix(".GIT"), "kim") is not None
    assert client.find_repository(URL, "lee") is None
    assert client.find_repository("https://github.com/konkuk-kuploy/kim-web.git", "kim") is None
    client.delete_repository(URL, "kim")
    assert client.find_repository(URL, "kim") is None
    assert [k[1] for k in fake.repositories] == ["lee"]
    # The URL travels as ONE path segment (its slashes and colon encoded).
    deletes = [c for c in fake.calls if c[1] == "RepositoryService_DeleteRepository"]
    assert deletes == [
        ("DELETE", "RepositoryService_DeleteRepository", f"/api/v1/repositories/{URL}")
    ]


def test_a_failing_connection_is_reported(
    make_client: Callable[..., ArgoCDClient], fake: FakeArgoCD
) -> None:
    fake.can_connect = lambda repo: False
    client = make_client()
    client.upsert_ssh_repository(URL, "kim", KEY)
    entry = client.find_repository(URL, "kim")
    assert entry is not None and entry.connection == "Failed"


def test_errors_never_carry_the_key(
    make_client: Callable[..., ArgoCDClient], fake: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    def echo(who: object, params: object, query: object, body: dict[str, str]) -> None:
        raise Reply(400, 3, f"ssh: cannot parse {body['sshPrivateKey']}")

    monkeypatch.setattr(fake, "op_RepositoryService_CreateRepository", echo)
    with pytest.raises(ArgoCDError) as info:
        make_client().upsert_ssh_repository(URL, "kim", KEY)
    text = f"{info.value} {info.value.server_message} {info.value.args}"
    assert "secretsecret" not in text and "BEGIN OPENSSH" not in text
    assert "ssh: cannot parse" in text and info.value.status == 400


def test_a_project_token_cannot_touch_repositories(
    make_client: Callable[..., ArgoCDClient], fake: FakeArgoCD
) -> None:
    fake.add_token("proj-token", "proj:kim:student", project="kim")
    with pytest.raises(ArgoCDError) as info:
        make_client(token="proj-token").upsert_ssh_repository(URL, "kim", KEY)
    assert info.value.status == 403 and fake.repositories == {}
