"""Rate limits of git hosts: how long to wait, and the bounded, injectable waiting policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping


class RetryPolicy:
    """How long to wait out rate limits: at most ``max_retries`` waits of ``max_wait`` s each.

    ``clock`` (epoch seconds) and ``sleep`` are injected so tests never really sleep.
    """

    def __init__(
        self,
        *,
        max_retries: int = 5,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep


def rate_limit_wait(
    status: int, headers: Mapping[str, str], message: str, *, now: float, attempt: int
) -> float | None:
    """Seconds to wait before retrying a rate-limited request, or ``None`` if not rate limited.

    GitHub's documented order: honour ``retry-after``; else, when ``x-ratelimit-remaining`` is
    0, wait until ``x-ratelimit-reset``; else a secondary limit without headers: back off
    exponentially from one minute.
    """
    if status not in (403, 429):
        return None
    low = {k.lower(): v for k, v in headers.items()}
    retry_after = low.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    if low.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in low:
        try:
            return max(0.0, float(low["x-ratelimit-reset"]) - now) + 1.0
        except ValueError:
            pass
    text = message.lower()
    if status == 429 or "rate limit" in text or text.endswith("try again later."):
        return float(60 * 2**attempt)
    return None
