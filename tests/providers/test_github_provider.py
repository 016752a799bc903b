"""GitHubProvider: PyGithub for real against the spec-checking fake GitHub server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth
from helpers import FakeClock

from kuploy_gitops.config import GitHubSettings
from kuploy_gitops.errors import ConfigError, CredentialsError, ProviderError
from kuploy_gitops.github.pygithub import GitHubProvider, RetryPolicy, connect, rate_limit_wait
from providers.fake_github import FakeGitHub

ORG = "konkuk-kuploy"
TOKEN = "ghp_s3cretTokenValue0123456789"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeGitHub]:
    with FakeGitHub(ORG) as server:
        server.now = clock.time
        server.add_token(TOKEN)
        server.add_user("minji-k")
        yield server
    assert server.violations == []


@pytest.fixture
def gh(fake: FakeGitHub, clock: FakeClock) -> Iterator[GitHubProvider]:
    provider = GitHubProvider(
        Auth.Token(TOKEN),
        base_url=fake.base_url,
        throttle=False,
        secrets=(TOKEN,),
        retry=RetryPolicy(clock=clock.time, sleep=clock.sleep, max_retries=3, max_wait=600),
    )
    yield provider
    provider.close()


def test_repo_lifecycle_and_one_commit(gh: GitHubProvider, fake: FakeGitHub) -> None:
    assert gh.get_repo(ORG, "kim-web") is None
    info = gh.create_repo(ORG, "kim-web", private=True, description="d")
    assert (info.full_name, info.private, info.archived, info.default_branch) == (
        f"{ORG}/kim-web",
        True,
        False,
        "main",
    )
    head = gh.branch_head(ORG, "kim-web", "main")
    assert head is not None
    assert gh.branch_head(ORG, "kim-web", "nope") is None
    new = gh.commit_files(
        ORG, "kim-web", "main", head, {"deploy/a.yaml": "a: 1\n", "KUPLOY.md": "hi\n"}, "scaffold"
    )
    assert fake.history(f"{ORG}/kim-web") == ["scaffold", "Initial commit"]
    blobs = gh.tree_blobs(ORG, "kim-web", new)
    assert set(blobs) == {"README.md", "deploy/a.yaml", "KUPLOY.md"}
    assert fake.files(f"{ORG}/kim-web")["deploy/a.yaml"] == "a: 1\n"
    archived = gh.update_repo(ORG, "kim-web", archived=True)
    assert archived.archived and fake.repo(f"{ORG}/kim-web").archived


def test_commit_refuses_a_moved_branch(gh: GitHubProvider, fake: FakeGitHub) -> None:
    gh.create_repo(ORG, "kim-web", private=False, description="")
    with pytest.raises(ProviderError, match="moved"):
        gh.commit_files(ORG, "kim-web", "main", "0" * 40, {"x": "y"}, "m")
    assert fake.history(f"{ORG}/kim-web") == ["Initial commit"]


def test_collaborators_invitations_and_hooks(gh: GitHubProvider, fake: FakeGitHub) -> None:
    gh.create_repo(ORG, "kim-web", private=True, description="")
    assert gh.collaborator_permission(ORG, "kim-web", "minji-k") is None
    assert gh.invitation_permission(ORG, "kim-web", "minji-k") is None
    gh.add_collaborator(ORG, "kim-web", "minji-k", "push")
    assert gh.invitation_permission(ORG, "kim-web", "minji-k") == "write"
    fake.add_user("member", member_of=ORG)
    gh.add_collaborator(ORG, "kim-web", "member", "push")
    assert gh.collaborator_permission(ORG, "kim-web", "member") == "write"
    gh.remove_collaborator(ORG, "kim-web", "member")
    assert gh.collaborator_permission(ORG, "kim-web", "member") is None

    hook = gh.create_hook(
        ORG,
        "kim-web",
        url="https://argocd.example/api/webhook",
        secret="hooksecret",
        events=("push",),
    )
    assert fake.repo(f"{ORG}/kim-web").hooks[hook.id]["config"]["secret"] == "hooksecret"
    (listed,) = gh.list_hooks(ORG, "kim-web")
    assert (listed.url, listed.events, listed.active, listed.content_type) == (
        "https://argocd.example/api/webhook",
        ("push",),
        True,
        "json",
    )
    gh.update_hook(
        ORG,
        "kim-web",
        hook.id,
        url="https://argocd.other/api/webhook",
        secret="s2",
        events=("push",),
    )
    assert gh.list_hooks(ORG, "kim-web")[0].url == "https://argocd.other/api/webhook"
    gh.delete_hook(ORG, "kim-web", hook.id)
    assert gh.list_hooks(ORG, "kim-web") == []


def test_team_membership(gh: GitHubProvider, fake: FakeGitHub) -> None:
    fake.add_team("cs101")
    gh.add_team_member(ORG, "cs101", "minji-k")
    assert fake.teams[(ORG, "cs101")] == {"minji-k": "pending"}


def test_users(gh: GitHubProvider) -> None:
    assert gh.user_exists("minji-k")
    assert not gh.user_exists("no-such-user")


def test_errors_carry_status_and_message_but_never_the_token(
    gh: GitHubProvider, fake: FakeGitHub
) -> None:
    fake.fail("POST", r"/orgs/.*/repos$", 422, message=f"Repository creation failed; echo {TOKEN}")
    with pytest.raises(ProviderError) as info:
        gh.create_repo(ORG, "kim-web", private=True, description="")
    err = info.value
    assert err.status == 422 and err.exit_code == 10
    assert "Repository creation failed" in err.server_message
    assert TOKEN not in str(err) and TOKEN not in err.server_message
    assert TOKEN not in repr(gh)
    assert isinstance(err.__cause__, Exception)  # raised from the PyGithub exception
    assert "github" not in type(err).__module__


def test_bad_token_is_a_provider_error_with_a_hint(fake: FakeGitHub, clock: FakeClock) -> None:
    with (
        GitHubProvider(
            Auth.Token("wrong"),
            base_url=fake.base_url,
            throttle=False,
            retry=RetryPolicy(clock=clock.time, sleep=clock.sleep),
        ) as bad,
        pytest.raises(ProviderError, match="401 Bad credentials") as info,
    ):
        bad.get_repo(ORG, "x")
    assert "GITHUB_TOKEN" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("kind", "expected_wait"),
    [("primary", 43.0), ("secondary", 30.0), ("429", 7.0)],
)
def test_rate_limits_are_waited_out(
    gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, kind: str, expected_wait: float
) -> None:
    fake.rate_limit("POST", r"/orgs/.*/repos$", kind=kind, times=2)
    info = gh.create_repo(ORG, "kim-web", private=True, description="")
    assert info.name == "kim-web"
    assert clock.sleeps[0] == expected_wait
    assert len(clock.sleeps) == 2
    assert [m for m, p in fake.writes()] == ["POST"]


def test_rate_limit_beyond_the_bounds_fails_with_when_it_lifts(
    gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.fail(
        "GET",
        r"/repos/",
        403,
        message="API rate limit exceeded for user.",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 3600)},
    )
    with pytest.raises(ProviderError, match="rate limited") as info:
        gh.get_repo(ORG, "x")
    assert clock.sleeps == []
    assert "re-run" in (info.value.hint or "")


def test_rate_limit_retries_are_bounded(
    gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.rate_limit("GET", r"/repos/", kind="429", times=10)
    with pytest.raises(ProviderError, match="rate limited"):
        gh.get_repo(ORG, "x")
    assert clock.sleeps == [7.0, 7.0, 7.0]


def test_a_plain_403_is_not_retried(gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail("POST", r"/orgs/.*/repos$", 403, message="Must have admin rights to Repository.")
    with pytest.raises(ProviderError, match="403 Must have admin rights"):
        gh.create_repo(ORG, "kim-web", private=True, description="")
    assert clock.sleeps == []


def test_rate_limit_wait_rules() -> None:
    assert rate_limit_wait(403, {"Retry-After": "12"}, "", now=0, attempt=0) == 12
    assert (
        rate_limit_wait(
            403,
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "100"},
            "API rate limit exceeded",
            now=40,
            attempt=0,
        )
        == 61
    )
    assert (
        rate_limit_wait(403, {}, "You have exceeded a secondary rate limit", now=0, attempt=2)
        == 240
    )
    assert (
        rate_limit_wait(403, {}, "Resource not accessible by integration", now=0, attempt=0) is None
    )
    assert rate_limit_wait(404, {"retry-after": "1"}, "", now=0, attempt=0) is None


def test_unreachable_server_is_a_provider_error(clock: FakeClock) -> None:
    with FakeGitHub(ORG) as server:
        url = server.base_url
    with (
        GitHubProvider(
            Auth.Token(TOKEN),
            base_url=url,
            throttle=False,
            retry=RetryPolicy(clock=clock.time, sleep=clock.sleep),
        ) as gh,
        pytest.raises(ProviderError, match="cannot reach"),
    ):
        gh.get_repo(ORG, "x")


def test_enterprise_base_url(clock: FakeClock) -> None:
    with FakeGitHub(ORG, prefix="/api/v3") as server:
        server.add_token(TOKEN)
        settings = GitHubSettings(api_url=server.base_url)
        assert server.base_url.endswith("/api/v3")
        with connect(
            settings,
            ORG,
            environ={"GITHUB_TOKEN": TOKEN},
            throttle=False,
            retry=RetryPolicy(clock=clock.time, sleep=clock.sleep),
        ) as gh:
            info = gh.create_repo(ORG, "kim-web", private=True, description="")
            assert gh.branch_head(ORG, info.name, info.default_branch)
        assert server.violations == []
        assert all(
            path.startswith("/orgs/") or path.startswith("/repos/")
            for _m, path in server.iter_requests()
        )


def test_connect_needs_credentials() -> None:
    with pytest.raises(CredentialsError, match="GITHUB_TOKEN"):
        connect(GitHubSettings(), ORG, environ={})


def test_connect_refuses_a_missing_or_bad_key_file(tmp_path: Path) -> None:
    settings = GitHubSettings(app_id="123", app_private_key_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="cannot read the GitHub App private key"):
        connect(settings, ORG, environ={})
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    settings = GitHubSettings(app_id="123", app_private_key_file=str(bad))
    with pytest.raises(ConfigError, match="not a PEM private key"):
        connect(settings, ORG, environ={})


def _rsa_pair(tmp_path: Path, name: str = "app.pem") -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / name
    path.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


def test_github_app_installation_auth(tmp_path: Path, fake: FakeGitHub, clock: FakeClock) -> None:
    key_path, public = _rsa_pair(tmp_path)
    fake.set_app(4242, public, installation_id=77)
    settings = GitHubSettings(
        api_url=fake.base_url, app_id="4242", app_private_key_file=str(key_path)
    )
    with connect(
        settings,
        ORG,
        environ={},
        throttle=False,
        retry=RetryPolicy(clock=clock.time, sleep=clock.sleep),
    ) as gh:
        info = gh.create_repo(ORG, "kim-web", private=True, description="")
        assert info.private
    paths = [p for _m, p in fake.iter_requests()]
    assert paths[:2] == [f"/orgs/{ORG}/installation", "/app/installations/77/access_tokens"]
    assert any(t.startswith("ghs_") for t in fake.tokens)


def test_github_app_with_a_wrong_key_is_refused(
    tmp_path: Path, fake: FakeGitHub, clock: FakeClock
) -> None:
    key_path, _public = _rsa_pair(tmp_path)
    _other, other_public = _rsa_pair(tmp_path, "other.pem")
    fake.set_app(4242, other_public, installation_id=77)
    settings = GitHubSettings(
        api_url=fake.base_url, app_id="4242", app_private_key_file=str(key_path)
    )
    with pytest.raises(ProviderError, match="401"):
        connect(
            settings,
            ORG,
            environ={},
            throttle=False,
            retry=RetryPolicy(clock=clock.time, sleep=clock.sleep),
        )
