"""A cache of what cross-tenant rules need from files a run does not check in full.

Host uniqueness and duplicate detection under the root Application must see every tenant, but
re-reading thousands of unchanged files on every `onboard` or `--changed-since` run would make
them cost as much as a full validation. This keeps, per file, its size and mtime with the few
facts those rules use (object identities, Ingress host claims); a file whose size or mtime
changed is read again. The cache is a JSON file per repo path in the cache folder; a corrupt
or missing one is simply rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

_VERSION = 1


class FileIndex:
    """Per-file facts keyed by (size, mtime); ``facts(path, compute)`` reads only on a miss."""

    def __init__(self, cache_dir: Path | None, root: Path) -> None:
        """Keep the index of the repo at ``root`` under ``cache_dir`` (None: memory only)."""
        self.root = root
        self.path: Path | None = None
        self._entries: dict[str, Any] = {}
        self._dirty = False
        if cache_dir is not None:
            digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:20]
            self.path = cache_dir / f"index-{digest}.json"
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("version") == _VERSION and isinstance(data.get("files"), dict):
                    self._entries = data["files"]
            except (OSError, ValueError, AttributeError):
                self._entries = {}

    def facts(self, rel: str, compute: Callable[[], Any]) -> Any:
        """The facts of file ``rel``: cached when its size and mtime are unchanged."""
        try:
            st = (self.root / rel).stat()
        except OSError:
            return compute()
        stamp = [st.st_size, st.st_mtime_ns]
        entry = self._entries.get(rel)
        if isinstance(entry, dict) and entry.get("stamp") == stamp:
            return entry.get("facts")
        value = compute()
        self._entries[rel] = {"stamp": stamp, "facts": value}
        self._dirty = True
        return value

    def save(self) -> None:
        """Write the index back if it changed (atomically; errors only cost a rebuild)."""
        if self.path is None or not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(
                json.dumps({"version": _VERSION, "files": self._entries}), encoding="utf-8"
            )
            tmp.replace(self.path)
        except OSError:
            return
        self._dirty = False
