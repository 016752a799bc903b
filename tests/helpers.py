"""Small helpers shared by the tests (git inspection, tree snapshots)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Third-party API descriptions and CRDs the tests check against (see data/*/SOURCE.md).
DATA_DIR = Path(__file__).resolve().parent / "data"


GITCONFIG = (
    "[user]\n\tname = Test Admin\n\temail = admin@example.test\n[init]\n\tdefaultBranch = main\n"
)


@contextlib.contextmanager
def isolated_env(base: Path, *, cache: bool = True) -> Iterator[None]:
    """The isolated git config (and a temporary XDG cache) for module-scoped fixtures.

    The function-scoped ``isolated_git`` of conftest.py is not active yet when a module's
    fixtures run; child processes (the CLI, git) inherit this environment.
    """
    gitconfig = base / "gitconfig"
    gitconfig.write_text(GITCONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("NO_COLOR", "1")
        mp.delenv("KUPLOY_REPO", raising=False)
        if cache:
            mp.setenv("XDG_CACHE_HOME", str(base / "xdg-cache"))
        yield


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").strip())


def tree_snapshot(repo: Path) -> dict[str, bytes]:
    """Every file of the working tree (without .git) with its bytes."""
    out: dict[str, bytes] = {}
    for p in sorted(repo.rglob("*")):
        if ".git" in p.relative_to(repo).parts or not p.is_file():
            continue
        out[p.relative_to(repo).as_posix()] = p.read_bytes()
    return out


class FakeClock:
    """Epoch time that only moves when someone "sleeps" (rate-limit waits without waiting)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def self_signed(public_key: Any, common_name: str, *, days: float) -> Any:
    """A ``cryptography`` CertificateBuilder for a self-signed certificate of ``public_key``,
    valid from an hour ago for ``days`` (sign it with the matching private key)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
    )
