"""Rate-limit waits (github/ratelimit.py): GitHub's documented order, and a back-off that grows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import Auth
from helpers import FakeClock
from providers.fake_github import FakeGitHub

from kuploy_gitops.errors import ProviderError
from kuploy_gitops.github.pygithub import GitHubProvider
from kuploy_gitops.github.ratelimit import RetryPolicy, rate_limit_wait

ORG = "konkuk-kuploy"
TOKEN = "ghp_s3cretTokenValue0123456789"
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."


def wait(
    status: int = 403, headers: dict[str, str] | None = None, message: str = "", **kw: float
) -> float | None:
    return rate_limit_wait(
        status, headers or {}, message, now=kw.get("now", 0.0), attempt=int(kw.get("attempt", 0))
    )


def test_backoff_without_headers_doubles_from_one_minute() -> None:
    assert [wait(message=SECONDARY, attempt=a) for a in range(5)] == [60, 120, 240, 480, 960]
    assert [wait(429, attempt=a) for a in range(3)] == [60, 120, 240]
    assert wait(403, message="Please try again later.", attempt=1) == 120
    assert wait(403, message="API RATE LIMIT exceeded", attempt=0) == 60


def test_retry_after_first() -> None:
    assert wait(headers={"Retry-After": "12"}, message=SECONDARY, attempt=3) == 12
    assert wait(429, headers={"retry-after": "0.5"}) == 0.5
    assert wait(429, headers={"retry-after": "-5"}) == 0.0
    # unreadable: the next rule decides
    assert wait(429, headers={"retry-after": "soon"}, attempt=1) == 120
    assert (
        wait(
            403,
            headers={
                "retry-after": "soon",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": "130",
            },
            now=100,
        )
        == 31
    )


def test_reset_when_nothing_remains() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "100"}
    assert wait(headers=headers, now=40) == 61
    assert wait(headers=headers, now=500) == 1.0  # reset already passed: one second
    # requests remain: not a primary limit (and no words of one: not limited at all)
    assert wait(headers={**headers, "X-RateLimit-Remaining": "3"}, now=40) is None
    assert wait(headers={"x-ratelimit-remaining": "0"}, message=SECONDARY, attempt=1) == 120
    bad = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "later"}
    assert wait(headers=bad, message=SECONDARY, attempt=2) == 240
    assert wait(headers=bad) is None


@pytest.mark.parametrize("status", [200, 401, 404, 422, 500])
def test_other_statuses_are_never_rate_limits(status: int) -> None:
    assert wait(status, {"retry-after": "1"}, SECONDARY) is None


def test_a_plain_403_is_no_rate_limit() -> None:
    assert wait(403, message="Resource not accessible by integration") is None


def test_retry_policy_defaults_and_injection() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.max_wait) == (5, 900.0)
    clock = FakeClock()
    policy = RetryPolicy(max_retries=2, max_wait=10, clock=clock.time, sleep=clock.sleep)
    assert (policy.max_retries, policy.max_wait) == (2, 10)
    start = policy.clock()
    policy.sleep(3)
    assert clock.sleeps == [3] and policy.clock() == start + 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeGitHub]:
    with FakeGitHub(ORG) as server:
        server.now = clock.time
        server.add_token(TOKEN)
        yield server
    assert server.violations == []


def provider(fake: FakeGitHub, clock: FakeClock, **retry: float) -> GitHubProvider:
    return GitHubProvider(
        Auth.Token(TOKEN),
        base_url=fake.base_url,
        throttle=False,
        secrets=(TOKEN,),
        retry=RetryPolicy(clock=clock.time, sleep=clock.sleep, **retry),  # type: ignore[arg-type]
    )


def test_the_provider_backs_off_longer_each_time(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail("GET", r"/repos/", 403, message=SECONDARY, times=3)
    gh = provider(fake, clock, max_retries=5, max_wait=900)
    try:
        assert gh.get_repo(ORG, "x") is None
    finally:
        gh.close()
    assert clock.sleeps == [60.0, 120.0, 240.0]


def test_the_backoff_stops_at_the_longest_wait(fake: FakeGitHub, clock: FakeClock) -> None:
    fake.fail("GET", r"/repos/", 403, message=SECONDARY, times=10)
    gh = provider(fake, clock, max_retries=9, max_wait=300)
    try:
        with pytest.raises(ProviderError, match="rate limited"):
            gh.get_repo(ORG, "x")
    finally:
        gh.close()
    assert clock.sleeps == [60.0, 120.0, 240.0]  # the next wait, 480 s, is over 300
