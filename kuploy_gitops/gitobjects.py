"""Commits and status of a few paths in a big repo without git reading its whole index.

Every porcelain git command reads (and many rewrite) the index, whose size grows with the
repo: ~12 entries per student, so tens of thousands in a platform repo of thousands of
students. Onboarding one student touches a dozen files; this module lets that cost stay flat:

- :func:`changed_files` compares the working tree with HEAD for the given paths: ``git
  ls-tree`` reads only the trees on those paths, and the files are hashed here as git would;
- :func:`commit_tree` builds the new commit's tree from HEAD's, rewriting only the trees on
  the changed paths: blobs and trees are written as loose objects here, the commit by ``git
  commit-tree``.

The caller then moves the branch (``git update-ref``) and brings the index up to date for the
changed paths only (``git update-index``). Repos this does not cover (no HEAD yet, a SHA-256
object format, a symlink or submodule on a changed path) raise :class:`Unsupported`, and the
caller falls back to porcelain git.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import subprocess
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

TREE = b"40000"
FILE = b"100644"
EXECUTABLE = b"100755"


# Loose objects bigger than this are written without compression (see write_object).
_STORE_ABOVE = 64 * 1024


class Unsupported(Exception):
    """The repo or the change needs porcelain git (see the module's docstring)."""


def blob_id(data: bytes) -> bytes:
    """The object id (SHA-1) git gives a file with ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).digest()


def write_object(objects: Path, kind: bytes, body: bytes) -> bytes:
    """Store an object loose (as ``git hash-object -w`` does); return its id."""
    raw = kind + b" %d\0" % len(body) + body
    oid = hashlib.sha1(raw, usedforsecurity=False).digest()
    hexid = oid.hex()
    path = objects / hexid[:2] / hexid[2:]
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        tmp = path.parent / f"tmp_obj_{os.getpid()}_{hexid[:8]}"
        with tmp.open("wb") as fh:
            # Big trees (one entry per student) are stored, not deflated: deflating one costs
            # ten times as much, and git's next repack delta-compresses them to almost nothing.
            fh.write(zlib.compress(raw, 0 if len(raw) > _STORE_ABOVE else 1))
        tmp.chmod(0o444)
        tmp.replace(path)
    return oid


# One entry of a tree object: mode, space, name, NUL, then exactly 20 bytes of object id.
_ENTRY = re.compile(rb"[0-7]{5,6} [^\0]+\0.{20}", re.DOTALL)
_OID_SIZE = 20
_TREE_PREFIX = TREE + b" "


def _sort_key(entry: bytes) -> bytes:
    """The name of an entry's bytes, with "/" after a folder's (git sorts folders so)."""
    name = entry[entry.index(b" ") + 1 : -_OID_SIZE - 1]
    return name + b"/" if entry.startswith(_TREE_PREFIX) else name


class Tree:
    """A tree object's entries, kept in git's order, changed one entry at a time.

    Big trees (one entry per student) are spliced rather than re-sorted: the entries' bytes
    are found by one regular-expression scan of the body, and an entry by binary search
    (names are taken from the few entries it looks at), so reading, changing a few entries
    and writing back cost about one scan and one copy of the body, without a Python step per
    entry.
    """

    def __init__(self, body: bytes = b"") -> None:
        """The tree of ``body`` (a tree object's content)."""
        self._entries: list[bytes] = _ENTRY.findall(body)
        # The matches are disjoint, so they cover the body exactly when their sizes add up.
        if sum(map(len, self._entries)) != len(body):
            raise Unsupported("a tree that does not parse")

    def _find(self, name: bytes) -> int | None:
        for key in (name, name + b"/"):
            i = bisect.bisect_left(self._entries, key, key=_sort_key)
            if i < len(self._entries) and _sort_key(self._entries[i]) == key:
                return i
        return None

    def mode(self, name: bytes) -> bytes | None:
        """The mode of entry ``name`` (None when there is none)."""
        i = self._find(name)
        return None if i is None else self._entries[i].split(b" ", 1)[0]

    def set(self, name: bytes, mode: bytes, oid: bytes) -> None:
        """Add or replace entry ``name``."""
        self.remove(name)
        entry = mode + b" " + name + b"\0" + oid
        i = bisect.bisect_left(self._entries, _sort_key(entry), key=_sort_key)
        self._entries.insert(i, entry)

    def remove(self, name: bytes) -> None:
        """Drop entry ``name`` if there is one."""
        i = self._find(name)
        if i is not None:
            del self._entries[i]

    def __len__(self) -> int:
        return len(self._entries)

    def body(self) -> bytes:
        """The tree object's content."""
        return b"".join(self._entries)


def read_trees(git: Sequence[str], commit: str, folders: Iterable[str]) -> dict[str, Tree]:
    """The trees of ``commit`` at ``folders`` ("" is the root; missing ones are left out)."""
    names = sorted(set(folders))
    spec = "".join(f"{commit}:{f}\n" if f else f"{commit}^{{tree}}\n" for f in names)
    proc = subprocess.run(
        [*git, "cat-file", "--batch"], input=spec.encode(), capture_output=True, check=True
    )
    out: dict[str, Tree] = {}
    data, i = proc.stdout, 0
    for folder in names:
        end = data.index(b"\n", i)
        header = data[i:end].split(b" ")
        i = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        if header[1] != b"tree":
            raise Unsupported(f"{folder} is not a folder in HEAD")
        out[folder] = Tree(data[i : i + size])
        i += size + 1
    return out


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts))]


def commit_tree(
    root: Path, objects: Path, git: Sequence[str], head: str, paths: Sequence[str]
) -> str:
    """The id of HEAD's tree with ``paths`` as they are in the working tree (absent: deleted).

    Only the trees on the changed paths are read and written.
    """
    folders = {p for path in paths for p in _parents(path)}
    trees = read_trees(git, head, folders)
    for folder in folders:
        trees.setdefault(folder, Tree())
    for path in paths:
        folder, _, name = path.rpartition("/")
        entries = trees[folder]
        key = name.encode()
        if entries.mode(key) not in (None, FILE, EXECUTABLE):
            raise Unsupported(f"{path} is not a plain file in HEAD")
        full = root / path
        if full.is_symlink():
            raise Unsupported(f"{path} is a symlink")
        if full.is_file():
            mode = EXECUTABLE if os.access(full, os.X_OK) else FILE
            entries.set(key, mode, write_object(objects, b"blob", full.read_bytes()))
        else:
            entries.remove(key)
    # Deepest folders first: each new tree goes into its parent (an empty one leaves it).
    for folder in sorted(folders, key=lambda f: -f.count("/") if f else 1):
        if not folder:
            continue
        parent, _, name = folder.rpartition("/")
        tree = trees[folder]
        if len(tree):
            trees[parent].set(name.encode(), TREE, write_object(objects, b"tree", tree.body()))
        else:
            trees[parent].remove(name.encode())
    return write_object(objects, b"tree", trees[""].body()).hex()


def changed_files(git: Sequence[str], root: Path, head: str, paths: Sequence[str]) -> list[str]:
    """Files under ``paths`` whose working-tree content or presence differs from HEAD.

    (Git-ignored files are not left out here: the caller asks git about the few found.)
    """
    proc = subprocess.run(
        [*git, "ls-tree", "-r", "-z", "--full-tree", head, "--", *paths],
        capture_output=True,
        check=True,
    )
    committed: dict[str, tuple[bytes, bytes]] = {}
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _, oid = meta.split(b" ")
        committed[name.decode()] = (mode, bytes.fromhex(oid.decode()))
    on_disk: list[str] = []
    for path in paths:
        full = root / path
        if full.is_file():
            on_disk.append(path)
        elif full.is_dir():
            for dirpath, dirnames, filenames in os.walk(full):
                dirnames[:] = [d for d in dirnames if d != ".git"]
                rel = Path(dirpath).relative_to(root).as_posix()
                on_disk.extend(f"{rel}/{f}" for f in filenames)
    changed = [p for p in committed if not (root / p).is_file()]
    for path in on_disk:
        known = committed.get(path)
        if known is None or known[1] != blob_id((root / path).read_bytes()):
            changed.append(path)
    return sorted(set(changed))
