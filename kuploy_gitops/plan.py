"""FilePlan: a change set built in memory, shown as a diff, applied atomically and committed.

Atomicity. A plan is applied through a journal in ``.git/kuploy-txn/``:

1. every new file's content is written (and fsynced) to a temporary file in the journal folder;
2. ``journal.json`` (the list of operations, the commit message and the expected HEAD) is
   written to a temporary name and renamed into place: **the commit point**;
3. the operations are carried out (``os.replace`` of each temporary file onto its path, unlink
   of deletions) and the touched paths are committed;
4. the journal folder is removed.

A process killed before step 2 leaves the working tree untouched (the stray temporary files are
discarded by :func:`recover`); one killed after it is rolled forward by :func:`recover`, which
every command runs first (read commands too: see ``ops.writing.settle``): the remaining
operations are redone (each is idempotent) and the commit is made if HEAD has not moved. So the
repo is always either as before or as after. The journal names the process that wrote it; an
``index.lock`` that a git command of that process left when it was killed is removed by
:func:`recover` (it runs under kuploy's lock, so no other kuploy-gitops is running), but only
when no live process has that file open: a human's running git keeps its lock.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kuploy_gitops.errors import GitError
from kuploy_gitops.gitrepo import REBASE_MARKER, GitRepo

TXN_DIR = "kuploy-txn"
JOURNAL = "journal.json"

Step = Callable[[str], None]
"""Called after each durable step of an apply, with what was done (see :func:`apply`)."""


@dataclass
class FilePlan:
    """Desired file contents (``None`` = delete), keyed by repo-relative POSIX path."""

    root: Path
    changes: dict[str, str | None] = field(default_factory=dict)

    def write(self, path: str, text: str) -> None:
        """Plan ``path`` to hold ``text``."""
        self.changes[path] = text

    def write_all(self, files: Mapping[str, str]) -> None:
        """Plan several files."""
        self.changes.update(files)

    def delete(self, path: str) -> None:
        """Plan ``path`` to be removed."""
        self.changes[path] = None

    def current(self, path: str) -> str | None:
        """What ``path`` holds on disk now (None when absent)."""
        full = self.root / path
        try:
            return full.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def effective(self) -> dict[str, str | None]:
        """Only the changes that differ from disk, sorted by path."""
        out: dict[str, str | None] = {}
        for path in sorted(self.changes):
            new = self.changes[path]
            if new != self.current(path):
                out[path] = new
        return out

    def diff(self) -> str:
        """A unified diff of the effective changes (what ``--dry-run`` prints)."""
        chunks: list[str] = []
        for path, new in self.effective().items():
            old = self.current(path)
            chunks.extend(
                difflib.unified_diff(
                    (old or "").splitlines(keepends=True),
                    (new or "").splitlines(keepends=True),
                    fromfile=f"a/{path}" if old is not None else "/dev/null",
                    tofile=f"b/{path}" if new is not None else "/dev/null",
                )
            )
        return "".join(c if c.endswith("\n") else c + "\n" for c in chunks)


@dataclass
class ApplyResult:
    """What applying a plan did."""

    summary: str
    message: str = ""
    changed: list[str] = field(default_factory=list)
    diff: str = ""
    commit: str = ""
    pushed: str = ""
    upstream: str = ""
    """``<remote>/<branch>`` when the commit was not pushed and the branch has a remote."""
    ahead: int | None = None
    """How many commits the branch is ahead of ``upstream`` (as last fetched), when known."""


# Above this many files one sync(2) is cheaper than an fsync per file (~3 ms each on ext4):
# a 500-student roster writes 3,500 files. Linux's sync(2) returns only when the data is on
# disk, which is what the per-file fsyncs guarantee; elsewhere sync may return early, so other
# systems keep the per-file fsync.
_SYNC_ALL_OVER = 16


def _fsync_write(path: Path, text: str, *, fsync: bool = True) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


def _no_step(done: str) -> None:
    del done


def apply(
    git: GitRepo, plan: FilePlan, message: str, *, summary: str, on_step: Step = _no_step
) -> ApplyResult:
    """Apply the plan's effective changes atomically and commit them (caller holds the lock).

    ``on_step`` is called after every durable step: each new file staged in the journal
    folder, the journal written (the commit point), each operation carried out, the commit.
    A process that dies between any two steps leaves what :func:`recover` turns into the repo
    as before or as after (the crash tests kill a process from this callback).
    """
    changes = plan.effective()
    result = ApplyResult(summary=summary, message=message, changed=list(changes))
    if not changes:
        return result
    txn = git.git_dir / TXN_DIR
    shutil.rmtree(txn, ignore_errors=True)
    txn.mkdir()
    ops: list[dict[str, str | None]] = []
    sync_once = sys.platform == "linux" and len(changes) > _SYNC_ALL_OVER
    for i, (path, text) in enumerate(changes.items()):
        if text is None:
            ops.append({"path": path, "tmp": None})
            continue
        tmp = txn / f"{i}.new"
        _fsync_write(tmp, text, fsync=not sync_once)
        ops.append({"path": path, "tmp": tmp.name})
        on_step(f"staged {path}")
    if sync_once:
        os.sync()  # every new file is on disk before the journal names it
    journal = {"ops": ops, "message": message, "head": git.head(), "pid": os.getpid()}
    tmp_journal = txn / (JOURNAL + ".tmp")
    _fsync_write(tmp_journal, json.dumps(journal))
    tmp_journal.replace(txn / JOURNAL)  # the commit point
    on_step("journal written")
    result.commit = _roll_forward(git, txn, journal, on_step)
    return result


def _roll_forward(
    git: GitRepo, txn: Path, journal: Mapping[str, object], on_step: Step = _no_step
) -> str:
    ops = journal["ops"]
    assert isinstance(ops, list)
    touched_dirs: set[Path] = set()
    for op in ops:
        target = git.path / str(op["path"])
        tmp = op["tmp"]
        if tmp is None:
            target.unlink(missing_ok=True)
            touched_dirs.add(target.parent)
        else:
            src = txn / str(tmp)
            if src.exists():  # absent: already moved by an earlier, interrupted run
                target.parent.mkdir(parents=True, exist_ok=True)
                src.replace(target)
        on_step(f"{'deleted' if tmp is None else 'moved'} {op['path']}")
    _prune_empty_dirs(git.path, touched_dirs)
    commit = ""
    paths = [str(op["path"]) for op in ops]
    if git.head() == journal["head"]:
        commit = git.commit_paths(paths, str(journal["message"]))
        on_step("committed")
    else:
        # Committed already: a crash may have come before the index was brought up to date.
        git.refresh_index(paths)
    shutil.rmtree(txn, ignore_errors=True)
    return commit or (git.head() or "")


def _prune_empty_dirs(root: Path, dirs: Iterable[Path]) -> None:
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        cur = d
        while cur != root and cur.is_dir() and root in cur.parents:
            try:
                cur.rmdir()
            except OSError:
                break
            cur = cur.parent


def interrupted(repo: Path) -> bool:
    """Whether ``repo`` holds an interrupted (or running) apply: cheap, runs no git.

    Every command asks this first, so it only looks for the journal folder in the repo's git
    folder (``.git``, or the one a worktree's ``.git`` file names).
    """
    dot_git = repo / ".git"
    if dot_git.is_file():
        try:
            line = dot_git.read_text(encoding="utf-8").strip()
        except OSError:
            return False
        if not line.startswith("gitdir:"):
            return False
        dot_git = repo / line.removeprefix("gitdir:").strip()
    return (dot_git / TXN_DIR).is_dir() or (dot_git / REBASE_MARKER).is_file()


def recover(git: GitRepo) -> str:
    """Finish or discard an apply that was interrupted (the caller holds the repo lock).

    Returns what was done, in words ("" when there was nothing to do). A push's rebase that
    was killed (kuploy's marker is there, and its process is gone since we hold the lock) is
    aborted: the branch is back to the local commits as they were before it.
    """
    if not git.is_repo():
        return ""
    undone = ""
    if (git.git_dir / REBASE_MARKER).is_file():
        if git.rebasing():
            git.abort_rebase()
            undone = "undid the rebase of an interrupted push (run `kuploy-gitops push`)"
        (git.git_dir / REBASE_MARKER).unlink(missing_ok=True)
    txn = git.git_dir / TXN_DIR
    if not txn.is_dir():
        return undone
    journal_path = txn / JOURNAL
    if not journal_path.is_file():
        # Killed before the commit point: nothing in the working tree was touched.
        shutil.rmtree(txn, ignore_errors=True)
        return "discarded a write interrupted before it changed any file"
    journal = json.loads(journal_path.read_text(encoding="utf-8"))
    index_lock = git.git_dir / "index.lock"
    if index_lock.exists():
        if _open_elsewhere(index_lock):
            raise GitError(
                f"cannot finish the interrupted write {journal['message']!r}: {index_lock} is "
                "held by a running git",
                hint="let that git command finish, then run `kuploy-gitops recover`",
            )
        # Left by a git command of the killed process (see the module docstring).
        index_lock.unlink(missing_ok=True)
    before = git.head()
    commit = _roll_forward(git, txn, journal)
    subject = str(journal["message"]).splitlines()[0]
    if git.head() != before:
        return f"finished an interrupted write: committed {commit[:12]} {subject}"
    return f"finished an interrupted write ({subject}, committed before it stopped)"


def _open_elsewhere(path: Path) -> bool:
    """Whether a live process (other than this one) has ``path`` open, as /proc shows it.

    Where there is no /proc, a file older than a minute counts as abandoned.
    """
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        try:
            return path.stat().st_mtime > time.time() - 60
        except FileNotFoundError:
            return False
    target = str(path.resolve())
    me = str(os.getpid())
    for fd_dir in proc.glob("[0-9]*/fd"):
        if fd_dir.parent.name == me:
            continue
        try:
            links = [str(fd.readlink()) for fd in fd_dir.iterdir()]
        except OSError:  # gone, or another user's process (git runs as us)
            continue
        if target in links:
            return True
    return False
