"""What one tenant contributes to a report, and a cache of it for runs where nothing changed.

A tenant's :class:`TenantResult` (its findings, counts, host claims, object identities and
drift) depends only on its own files and on what every tenant shares: kuploy.yaml, the
validation rules and renderer (this kuploy-gitops), the schemas and CRDs, kubectl and the flags.
:class:`ResultCache` keeps each tenant's result under a key of all that plus the size and mtime
of each of the tenant's files, so a run where nothing changed reads one JSON file and ``stat``s
the tree instead of checking every tenant again. The rules across tenants (hosts, objects
defined twice) always run, on the cached facts.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import __version__
from kuploy_gitops.validate.crosstenant import Claim, ObjectKey
from kuploy_gitops.validate.findings import Finding

_VERSION = 3


@dataclass
class TenantResult:
    """Everything checking one tenant adds to a report (picklable, and JSON for the cache)."""

    student: str
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    objects: int = 0
    builds: int = 0
    cached_builds: int = 0
    known_builds: int = 0
    claims: list[tuple[str, str, Claim]] = field(default_factory=list)
    object_keys: list[ObjectKey] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    login: str | None = ""  # the spec's GitHub login, lower case (None: the spec is broken)

    def to_data(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "student": self.student,
            "findings": [f.to_data() for f in self.findings],
            "counts": [
                self.files,
                self.objects,
                self.builds,
                self.cached_builds,
                self.known_builds,
            ],
            "claims": [[host, path, c.to_data()] for host, path, c in self.claims],
            "object_keys": [list(k) for k in self.object_keys],
            "drift": self.drift,
            "login": self.login,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TenantResult:
        """The result stored by :meth:`to_data`."""
        files, objects, builds, cached, known = data["counts"]
        return cls(
            student=data["student"],
            findings=[Finding(**f) for f in data["findings"]],
            files=files,
            objects=objects,
            builds=builds,
            cached_builds=cached,
            known_builds=known,
            claims=[(host, path, Claim(**c)) for host, path, c in data["claims"]],
            object_keys=[
                (g, k, ns, n, f, int(line), t) for g, k, ns, n, f, line, t in data["object_keys"]
            ],
            drift=list(data["drift"]),
            login=data["login"],
        )


def code_stamp() -> str:
    """A hash of this kuploy-gitops itself (version, and size and mtime of its files).

    A change to a rule, a template or the renderer must not be hidden by a cached result, also
    in a checkout whose version string does not change.
    """
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parents[1]
    roots = [package, package.parent / "templates"]
    for root in roots:
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".pyc"):
                    continue
                st = Path(dirpath, name).stat()
                digest.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


RACY_NS = 2_000_000_000
"""A file changed this recently (2 s) may change again within the clock's granularity with
the same size and mtime: a result over it is not kept (git's "racily clean" entries)."""


def file_stamps(root: Path, paths: Iterable[str]) -> tuple[str, int]:
    """A hash of each path with its size, mtime, ctime and inode, and the newest change time.

    A missing file counts as missing.
    """
    digest = hashlib.sha256()
    base = str(root)
    newest = 0
    for path in paths:
        try:
            # os.stat on a joined string: a warm run stats every file of the repo (60,000 at
            # 5,000 tenants), and Path objects would add a tenth to that.
            st = os.stat(f"{base}/{path}")  # noqa: PTH116
        except OSError:
            digest.update(f"{path}:-\n".encode())
            continue
        digest.update(
            f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}\n".encode()
        )
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    return digest.hexdigest(), newest


class ResultCache:
    """Tenant results of earlier runs over the same repo, keyed by everything they depend on."""

    def __init__(self, cache_dir: Path | None, root: Path, shared_key: str) -> None:
        """Keep the results of the repo at ``root`` in ``cache_dir`` (None: nothing is kept).

        ``shared_key`` covers what every tenant depends on (see the module's docstring).
        """
        self.root = root
        self.shared_key = shared_key
        self.path: Path | None = None
        self._entries: dict[str, Any] = {}
        self._fresh: dict[str, Any] = {}
        if cache_dir is not None:
            digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:20]
            self.path = cache_dir / f"results-{digest}.json"
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("version") == _VERSION and data.get("shared") == shared_key:
                    self._entries = data["tenants"]
            except (OSError, ValueError, KeyError, AttributeError, TypeError):
                self._entries = {}

    def get(self, student: str, stamp: tuple[str, int]) -> TenantResult | None:
        """The cached result of ``student`` when its files' ``stamp`` is unchanged."""
        entry = self._entries.get(student)
        if not isinstance(entry, dict) or entry.get("stamp") != stamp[0]:
            return None
        try:
            result = TenantResult.from_data(entry["result"])
        except (KeyError, TypeError, ValueError):
            return None
        self._fresh[student] = entry
        return result

    def put(self, result: TenantResult, stamp: tuple[str, int]) -> None:
        """Keep ``result`` for the next run, unless one of its files changed just now."""
        digest, newest = stamp
        if newest > time.time_ns() - RACY_NS:
            self._fresh.pop(result.student, None)
            self._entries.pop(result.student, None)
            return
        self._fresh[result.student] = {"stamp": digest, "result": result.to_data()}

    def save(self, students: Iterable[str]) -> None:
        """Write the results of ``students`` (the repo's tenants: others are dropped).

        Errors only cost a rebuild on the next run.
        """
        if self.path is None:
            return
        kept = {s: self._fresh.get(s, self._entries.get(s)) for s in students}
        tenants = {s: entry for s, entry in kept.items() if entry is not None}
        data = {"version": _VERSION, "shared": self.shared_key, "tenants": tenants}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            return
