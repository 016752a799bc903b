"""The seam between PyGithub and kuploy: every GitHub call runs through :class:`Seam`.

It waits out rate limits within the bounds of a :class:`RetryPolicy` and turns every PyGithub or
transport failure into a :class:`~kuploy_gitops.errors.ProviderError` that carries GitHub's
status and message, with every secret it was given scrubbed out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import requests
from github import GithubException

from kuploy_gitops.errors import ProviderError
from kuploy_gitops.github.ratelimit import RetryPolicy, rate_limit_wait

T = TypeVar("T")

_HINTS = {
    401: "check GITHUB_TOKEN (or the GitHub App id and private key in kuploy.yaml)",
    403: "the token or GitHub App lacks a permission (administration, contents, workflows, "
    "webhooks, members)",
    404: "check the org and repo names, and that the token or GitHub App can see them",
    409: "the repository is empty or changed meanwhile; re-run to finish",
    422: "GitHub refused the request's data",
}


class Seam:
    """Runs PyGithub calls: waits out rate limits within bounds, translates every failure."""

    def __init__(self, base_url: str, retry: RetryPolicy, secrets: tuple[str, ...]) -> None:
        self.base_url = base_url
        self._retry = retry
        self._secrets = tuple(s for s in secrets if s)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn``; wait out rate limits within bounds; translate every failure."""
        attempt = 0
        while True:
            try:
                return fn()
            except GithubException as exc:
                headers = dict(exc.headers or {})
                message = _server_message(exc)
                wait = rate_limit_wait(
                    exc.status, headers, message, now=self._retry.clock(), attempt=attempt
                )
                if wait is None:
                    raise self._error(what, exc.status, message) from exc
                if attempt >= self._retry.max_retries or wait > self._retry.max_wait:
                    raise self._rate_limited(what, exc.status, message, wait) from exc
                attempt += 1
                self._retry.sleep(wait)
            except requests.RequestException as exc:
                raise ProviderError(
                    f"GitHub {what}: cannot reach {self.base_url} ({type(exc).__name__})",
                    hint="check the network and github.api_url in kuploy.yaml",
                ) from exc

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, what: str, status: int, message: str) -> ProviderError:
        message = self._scrub(message)
        return ProviderError(
            f"GitHub {what}: {status} {message}".rstrip(),
            status=status,
            server_message=message,
            hint=_HINTS.get(status),
        )

    def _rate_limited(self, what: str, status: int, message: str, wait: float) -> ProviderError:
        message = self._scrub(message)
        until = dt.datetime.fromtimestamp(self._retry.clock() + wait, dt.UTC)
        return ProviderError(
            f"GitHub {what}: rate limited ({status} {message}); it lifts at {until:%H:%M:%S} UTC",
            status=status,
            server_message=message,
            hint="re-run the same command then: it resumes where it stopped",
        )


def _server_message(exc: GithubException) -> str:
    """GitHub's message, with the first field error of a 422 appended."""
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") or first.get("code") if isinstance(first, dict) else first
        if detail:
            message = f"{message} ({detail})"
    return " ".join(message.split())
