"""Real git through subprocess: init, status, commit, push with fetch/rebase retry, locking.

Every git failure becomes a :class:`GitError` whose message names what failed and what to do;
credentials embedded in remote URLs are redacted from every message.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kuploy_gitops import gitobjects, layout, repolock
from kuploy_gitops.errors import GitError, InvalidInputError

_CREDENTIALS = re.compile(r"(?i)(://)[^/@\s]+@")
DEFAULT_IDENTITY = ("kuploy-gitops", "kuploy-gitops@localhost")
LOCK_FILE = "kuploy.lock"
REBASE_MARKER = "kuploy-rebase"
PUSH_TIMEOUT_ENV = "KUPLOY_PUSH_TIMEOUT"
# git's messages for a push that lost a race for the remote's ref (not a refusal).
_LOST_RACE = re.compile(
    r"(?i)cannot lock ref|failed to update ref|incorrect old value|fetch first|non-fast-forward"
)


@dataclass(frozen=True)
class PushPolicy:
    """How long a push keeps trying while other admins push too.

    ``timeout`` bounds the whole push (seconds; ``KUPLOY_PUSH_TIMEOUT`` sets it); ``refusals``
    bounds pushes refused while the branch was not behind (no access, a hook said no), which
    waiting does not cure. Between attempts it sleeps a random time up to ``base * 2**n``
    (at most ``cap``): "full jitter", so pushers that collided spread out instead of
    colliding again.
    """

    timeout: float = 60.0
    refusals: int = 3
    base: float = 0.05
    cap: float = 2.0

    @classmethod
    def from_env(cls) -> PushPolicy:
        """The default policy, with ``KUPLOY_PUSH_TIMEOUT`` when set.

        Raises:
            InvalidInputError: the variable is not a positive number of seconds.
        """
        raw = os.environ.get(PUSH_TIMEOUT_ENV, "").strip()
        if not raw:
            return cls()
        try:
            timeout = float(raw)
        except ValueError:
            timeout = -1.0
        if not 0 < timeout < 86400:
            raise InvalidInputError(
                f"{PUSH_TIMEOUT_ENV}={raw!r} is not a number of seconds",
                hint=f"set it to e.g. 120, or unset it for the default of {cls.timeout:g}",
            )
        return cls(timeout=timeout)

    def delay(self, attempt: int) -> float:
        """The wait before attempt ``attempt + 1``."""
        return random.uniform(0, min(self.cap, self.base * 2 ** min(attempt, 30)))


def redact(text: str) -> str:
    """Remove ``user:token@`` from URLs in ``text``."""
    return _CREDENTIALS.sub(r"\1***@", text)


class GitRepo:
    """A git working tree at ``path`` (which need not exist yet)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def argv(self) -> list[str]:
        """The command line that runs git on this repo (``git -C path``)."""
        return ["git", "-C", str(self.path)]

    def run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``git -C path args``; raise GitError on failure when ``check``."""
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        if env:
            full_env.update(env)
        try:
            proc = subprocess.run(
                [*self.argv, *args],
                capture_output=True,
                text=True,
                input=input,
                env=full_env,
                check=False,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed", hint="install git and retry") from exc
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed in {self.path}: {_last_line(proc)}")
        return proc

    def is_repo(self) -> bool:
        """Whether ``path`` is the top of a git working tree."""
        if not self.path.is_dir():
            return False
        proc = self.run("rev-parse", "--show-toplevel", check=False)
        if proc.returncode != 0:
            return False
        return Path(proc.stdout.strip()).resolve() == self.path.resolve()

    @functools.cached_property
    def git_dir(self) -> Path:
        """The repo's .git directory (asked once per GitRepo)."""
        out = self.run("rev-parse", "--absolute-git-dir").stdout.strip()
        return Path(out)

    @functools.cached_property
    def objects_dir(self) -> Path:
        """Where the object database lives: the common dir's, also from a linked worktree."""
        out = self.run("rev-parse", "--git-common-dir").stdout.strip()
        common = Path(out) if Path(out).is_absolute() else self.path / out
        return common.resolve() / "objects"

    def tune_for_many_files(self) -> None:
        """Set git's own settings for repos with many files (index v4, no index checksum).

        A platform repo holds ~7 files per student; with thousands of students every git
        command reads and rewrites an index of tens of thousands of entries, and
        ``feature.manyFiles`` is what git offers to keep that cheap.
        """
        self.run("config", "feature.manyFiles", "true")

    def init(self, branch: str) -> None:
        """``git init`` with the given initial branch."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.run("init", "-q", "-b", branch)

    def head(self) -> str | None:
        """The commit HEAD points at, or None in a repo without commits."""
        proc = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def current_branch(self) -> str:
        """The checked-out branch name."""
        return self.run("symbolic-ref", "--short", "HEAD").stdout.strip()

    def is_empty(self) -> bool:
        """No commits and no files besides .git."""
        return self.head() is None and not any(p.name != ".git" for p in self.path.iterdir())

    def dirty_paths(self, pathspecs: Sequence[str]) -> list[str]:
        """Paths under ``pathspecs`` with uncommitted (staged, unstaged or untracked) changes."""
        proc = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *pathspecs)
        entries = [e for e in proc.stdout.split("\0") if e]
        out: list[str] = []
        skip = False
        for entry in entries:
            if skip:
                skip = False
                continue
            code, path = entry[:2], entry[3:]
            if code[0] in "RC":
                skip = True  # the next entry is the rename's source
            out.append(path)
        return sorted(out)

    def identity_env(self) -> dict[str, str]:
        """Author/committer env for repos (or machines) without a configured identity."""
        name = self.run("config", "user.name", check=False).stdout.strip()
        email = self.run("config", "user.email", check=False).stdout.strip()
        if name and email:
            return {}
        return {
            "GIT_AUTHOR_NAME": name or DEFAULT_IDENTITY[0],
            "GIT_AUTHOR_EMAIL": email or DEFAULT_IDENTITY[1],
            "GIT_COMMITTER_NAME": name or DEFAULT_IDENTITY[0],
            "GIT_COMMITTER_EMAIL": email or DEFAULT_IDENTITY[1],
        }

    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        """Commit exactly ``paths`` (added, changed or deleted) as they are in the working tree.

        Other staged changes stay staged and out of the commit (as ``git commit --only``).
        """
        spec = "\0".join(paths) + "\0"
        env = self.identity_env()
        parent = self.head()
        if parent is not None:
            try:
                return self._commit_objects(paths, parent, message, env)
            except gitobjects.Unsupported:
                pass
        self.run("add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul", input=spec)
        has_head = parent is not None
        args = ["commit", "-q", "--no-verify", "-m", message]
        if has_head:
            # --only: commit these paths even if the admin has other files staged.
            args += ["--only", "--pathspec-from-file=-", "--pathspec-file-nul"]
            self.run(*args, input=spec, env=env)
        else:
            self.run(*args, env=env)
        head = self.head()
        assert head is not None
        return head

    def _commit_objects(
        self, paths: Sequence[str], parent: str, message: str, env: dict[str, str]
    ) -> str:
        """Commit ``paths`` onto ``parent`` without reading the whole index (see gitobjects).

        The index is brought up to date for ``paths`` only afterwards.
        """
        if self.object_format != "sha1" or os.environ.get("GIT_OBJECT_DIRECTORY"):
            raise gitobjects.Unsupported("object format or object directory")
        tree = gitobjects.commit_tree(self.path, self.objects_dir, self.argv, parent, paths)
        text = _clean_message(message)
        commit = self.run("commit-tree", tree, "-p", parent, "-F", "-", input=text, env=env)
        sha = commit.stdout.strip()
        subject = text.split("\n", 1)[0]
        self.run("update-ref", "-m", f"commit: {subject}", "HEAD", sha, parent)
        self.refresh_index(paths)
        # As `git commit` does: pack loose objects once there are many (detached, cheap check).
        self.run("maintenance", "run", "--auto", "--quiet", check=False)
        return sha

    def refresh_index(self, paths: Sequence[str]) -> None:
        """Make the index hold ``paths`` as they are in the working tree (absent: removed)."""
        spec = "\0".join(paths) + "\0"
        self.run("update-index", "--add", "--remove", "-z", "--stdin", input=spec)

    @functools.cached_property
    def object_format(self) -> str:
        """``sha1`` or ``sha256``."""
        proc = self.run("rev-parse", "--show-object-format", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else "unknown"

    def changed_since_head(self, paths: Sequence[str]) -> list[str]:
        """Files under ``paths`` whose working tree differs from HEAD (git-ignored ones left out).

        Unlike ``git status`` this does not read the whole index: it costs the same in a repo
        of thousands of tenants as in an empty one. Staged-only changes are not seen.
        """
        head = self.head()
        if head is None:
            return self.dirty_paths(paths)
        changed = gitobjects.changed_files(self.argv, self.path, head, paths)
        if not changed:
            return []
        ignored = set(
            self.run(
                "check-ignore",
                "--no-index",
                "-z",
                "--stdin",
                input="\0".join(changed) + "\0",
                check=False,
            ).stdout.split("\0")
        )
        tracked = set(self.run("ls-files", "-z", "--", *changed).stdout.split("\0"))
        return [p for p in changed if p not in ignored or p in tracked]

    def remote(self) -> str | None:
        """The remote the current branch pushes to (``origin`` by default), if any."""
        remotes = self.run("remote").stdout.split()
        if not remotes:
            return None
        return "origin" if "origin" in remotes else remotes[0]

    def push(
        self, *, check: Callable[[], None] | None = None, policy: PushPolicy | None = None
    ) -> str:
        """Push the current branch; while the remote moves, fetch, rebase, check and retry.

        Each retry fetches the remote branch (into ``refs/remotes/<remote>/<branch>``),
        rebases the local commits onto it, calls ``check`` on the rebased tree (it raises to
        stop a push whose rebase made the tree inconsistent, e.g. drift after a change of
        ``kuploy.yaml`` there) and pushes again after a backoff with jitter. It gives up when
        ``policy.timeout`` seconds would pass, or after ``policy.refusals`` refusals that were
        not a moved remote (access, hooks). On failure the local commits are kept (rebased
        onto what was fetched when that worked), no rebase is left in progress, and the error
        says why and gives the command to run (``kuploy-gitops push``).
        """
        policy = policy or PushPolicy.from_env()
        remote = self.remote()
        if remote is None:
            raise GitError(
                "not pushed: the repo has no remote (what was committed stays committed here)",
                hint="add one with `git remote add origin URL`, then run `kuploy-gitops push`",
            )
        branch = self.current_branch()
        target, tracking = f"{remote}/{branch}", f"refs/remotes/{remote}/{branch}"
        start = time.monotonic()
        refused = attempt = 0
        while True:
            attempt += 1
            proc = self.run("push", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
            if proc.returncode == 0:
                self.run("update-ref", tracking, "HEAD", check=False)  # "ahead" counts see it
                return target
            last = _last_line(proc)
            fetch = self.run("fetch", "-q", remote, f"+refs/heads/{branch}:{tracking}", check=False)
            if fetch.returncode != 0:
                raise GitError(
                    f"push to {target} failed: {_last_line(fetch)}",
                    hint="your commit is kept locally; check the remote and your access, then "
                    "run `kuploy-gitops push`",
                )
            behind = self.run("merge-base", "--is-ancestor", tracking, "HEAD", check=False)
            if behind.returncode != 0:
                self._rebase(remote, branch)
                if check is not None:
                    check()
            elif not _LOST_RACE.search(proc.stderr):
                refused += 1  # not behind: refused for another reason (access, a hook)
                if refused >= policy.refusals:
                    raise GitError(
                        f"push to {target} failed after {refused} attempts: {last}",
                        hint="your commit is kept locally; check your access (and the remote's "
                        "hooks), then run `kuploy-gitops push`",
                    )
            wait = policy.delay(attempt)
            if time.monotonic() - start + wait > policy.timeout:
                raise GitError(
                    f"push to {target} did not land within {policy.timeout:g} s ({attempt} "
                    f"attempts, the remote kept moving): {last}",
                    hint=f"your commit is kept locally; run `kuploy-gitops push` (or set "
                    f"{PUSH_TIMEOUT_ENV} to wait longer)",
                )
            time.sleep(wait)

    def _rebase(self, remote: str, branch: str) -> None:
        """Rebase onto the fetched remote branch; on failure abort it and raise what happened."""
        onto = f"refs/remotes/{remote}/{branch}"
        marker = self.git_dir / REBASE_MARKER  # says whose rebase it is, if we die in it
        marker.write_text(f"{os.getpid()}\n")
        try:
            rebase = self.run("rebase", "-q", onto, check=False, env=self.identity_env())
        finally:
            if not self.rebasing():
                marker.unlink(missing_ok=True)
        if rebase.returncode == 0:
            return
        if not self.rebasing():
            # It never started (e.g. other uncommitted changes): not a conflict.
            raise GitError(
                f"push to {remote}/{branch} failed: git cannot rebase onto it: "
                f"{_last_line(rebase)}",
                hint="your commit is kept locally; fix that (commit or stash those changes), "
                "then run `kuploy-gitops push`",
            )
        conflicted = self.run("diff", "--name-only", "-z", "--diff-filter=U", check=False)
        paths = sorted(p for p in conflicted.stdout.split("\0") if p)
        self.abort_rebase()
        raise self._conflict_error(remote, branch, paths)

    def rebasing(self) -> bool:
        """Whether a rebase is in progress (stopped, or its process killed)."""
        return any((self.git_dir / d).exists() for d in ("rebase-merge", "rebase-apply"))

    def abort_rebase(self) -> None:
        """Abort the rebase in progress: the branch as before it, and kuploy's marker gone."""
        self.run("rebase", "--abort", check=False)
        (self.git_dir / REBASE_MARKER).unlink(missing_ok=True)

    def _conflict_error(self, remote: str, branch: str, paths: list[str]) -> GitError:
        """A push's rebase conflicted on ``paths``: who changed them there, and how to go on."""
        target = f"{remote}/{branch}"
        shown = ", ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")
        message = f"push to {target} failed: the remote has conflicting changes"
        if paths:
            message += f" in {shown}"
            base = self.run("merge-base", "HEAD", target, check=False).stdout.strip()
            span = f"{base}..{target}" if base else target
            who = self.run("log", "-1", "--format=%an: %s", span, "--", *paths, check=False)
            if who.stdout.strip():
                message += f" (changed there by {who.stdout.strip()})"
        drop = (
            f"`git reset --keep {target}`"
            if self.ahead_of(target) == 1
            else f"`git rebase -i {target}` (drop it)"
        )
        logins = [
            p.rsplit("/", 1)[1]
            for p in paths
            if p.startswith(layout.LOGINS_DIR + "/") and p != layout.LOGINS_README
        ]
        if logins:
            return GitError(
                message,
                hint=f"GitHub login {logins[0]!r} was bound to another tenant on {target} "
                f"meanwhile; your commit is kept locally: drop it with {drop} and onboard with "
                "the student's own login",
            )
        return GitError(
            message,
            hint=f"your commit is kept locally and the tree is clean: to keep their version, "
            f"drop yours with {drop} and run your command again; to keep both, run "
            f"`git pull --rebase {remote} {branch}`, resolve, `kuploy-gitops render`, then "
            "`kuploy-gitops push`",
        )

    def ahead_of(self, upstream: str) -> int | None:
        """How many commits HEAD has that ``upstream`` (e.g. ``origin/main``) has not.

        None when ``upstream`` is unknown here (never fetched). Reads local refs only.
        """
        proc = self.run("rev-list", "--count", f"{upstream}..HEAD", check=False)
        return int(proc.stdout.strip()) if proc.returncode == 0 else None

    def upstream(self) -> str | None:
        """``<remote>/<branch>`` the current branch pushes to, or None without a remote."""
        remote = self.remote()
        if remote is None:
            return None
        return f"{remote}/{self.current_branch()}"

    # -- locking -------------------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        """``.git/kuploy.lock``: the file whose ``flock`` one writing kuploy-gitops holds."""
        return self.git_dir / LOCK_FILE

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``.git/kuploy.lock`` so two kuploy-gitops runs never write the repo at once.

        The lock is an exclusive ``flock`` on that file, held while the block runs: the kernel
        drops it when the process dies, however it dies, so a lock left by a killed run is
        free at once and a live holder's lock is never taken (no pid guessing: a file created
        but not yet holding its pid cannot read as stale). The file holds the holder's pid for
        people to read, and is removed on release.

        Raises:
            GitError: another live process holds the lock (naming its pid when known).
        """
        with repolock.hold(self.lock_path) as owner:
            if owner:
                raise GitError(
                    f"another kuploy-gitops is writing {self.path} (pid {owner})"
                    if owner > 0
                    else f"another kuploy-gitops is writing {self.path}",
                    hint="wait for it to finish and run your command again",
                )
            yield


def _clean_message(message: str) -> str:
    """The message as ``git commit -m`` stores it (cleanup mode "whitespace")."""
    lines = [line.rstrip() for line in message.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return redact(lines[-1]) if lines else f"exit {proc.returncode}"
