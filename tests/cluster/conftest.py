"""Fixtures of the API server tier: the real kube-apiserver on 127.0.0.1 (docs/testing.md).

Every test in this folder is marked ``apiserver``. Where Go is missing the tier is skipped with
one line saying so; with ``KUPLOY_REQUIRE_APISERVER=1`` (``.ci/run`` sets it) that skip is a
failure instead, so CI cannot pass without the tier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_harness import REQUIRE_ENV, BuildResult, Cluster, HarnessUnavailable, build, start

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.apiserver)


@pytest.fixture(scope="session")
def apiserver_binary() -> BuildResult:
    """The harness binary (built once per version and source hash, then cached)."""
    try:
        return build()
    except HarnessUnavailable as e:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{e}; {REQUIRE_ENV}=1 requires the tier", pytrace=False)
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def cluster(apiserver_binary: BuildResult) -> Iterator[Cluster]:
    """One control plane per test process (each xdist worker starts its own)."""
    c = start(apiserver_binary.binary)
    try:
        yield c
    finally:
        c.stop()
