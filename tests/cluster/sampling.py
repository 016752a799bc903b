"""Which cases of a differential test the default tier runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest


def sampled(values: Sequence[Any], ids: Sequence[str], every: int = 3) -> list[Any]:
    """One case in ``every`` in the default tier, the others in the slow tier.

    By position, so the sample is stable and spread over the corpus. The README's test command
    stays under five minutes; CI's slow tier runs every case (docs/testing.md).
    """
    return [
        pytest.param(v, id=i, marks=() if n % every == 0 else pytest.mark.slow)
        for n, (v, i) in enumerate(zip(values, ids, strict=True))
    ]
