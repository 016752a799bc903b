"""Real git through subprocess: init, status, commit, push with fetch/rebase retry, locking.

Every git failure becomes a :class:`GitError` whose message names what failed and what to do;
credentials embedded in remote URLs are redacted from every message.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from kuploy_gitops import gitobjects, layout
from kuploy_gitops.errors import GitError

_CREDENTIALS = re.compile(r"(?i)(://)[^/@\s]+@")
DEFAULT_IDENTITY = ("kuploy-gitops", "kuploy-gitops@localhost")


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

    def push(self, *, attempts: int = 3) -> str:
        """Push the current branch; when the remote moved, fetch, rebase and retry.

        On final failure the local repo is left clean (no rebase in progress) with the local
        commits kept, and the error says what to do.
        """
        remote = self.remote()
        if remote is None:
            raise GitError(
                "cannot --push: the repo has no remote",
                hint="add one with `git remote add origin URL`, or drop --push",
            )
        branch = self.current_branch()
        last = ""
        for _ in range(attempts):
            proc = self.run("push", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
            if proc.returncode == 0:
                return f"{remote}/{branch}"
            last = _last_line(proc)
            fetch = self.run("fetch", "-q", remote, branch, check=False)
            if fetch.returncode != 0:
                last = _last_line(fetch)
                break
            rebase = self.run("rebase", "-q", "FETCH_HEAD", check=False, env=self.identity_env())
            if rebase.returncode != 0:
                if not any((self.git_dir / d).exists() for d in ("rebase-merge", "rebase-apply")):
                    # It never started (e.g. other uncommitted changes): not a conflict.
                    raise GitError(
                        f"push to {remote}/{branch} failed: git cannot rebase onto it: "
                        f"{_last_line(rebase)}",
                        hint=f"your commit is kept locally; fix that, then run "
                        f"`git pull --rebase {remote} {branch}` and `git push`",
                    )
                conflicted = self.run(
                    "diff", "--name-only", "-z", "--diff-filter=U", check=False
                ).stdout.split("\0")
                self.run("rebase", "--abort", check=False)
                raise _conflict_error(remote, branch, sorted(p for p in conflicted if p))
        raise GitError(
            f"push to {remote}/{branch} failed after {attempts} attempts: {last}",
            hint=f"your commit is kept locally; check access and run `git push {remote} {branch}`",
        )

    # -- locking -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``.git/kuploy.lock`` so two kuploy-gitops runs never write the repo at once."""
        path = self.git_dir / "kuploy.lock"
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if _stale(path):
                    path.unlink(missing_ok=True)
                    continue
                raise GitError(
                    f"another kuploy-gitops is writing {self.path} ({path} exists)",
                    hint="wait for it to finish; if none is running, delete the lock file",
                ) from None
            break
        else:  # pragma: no cover - only when the lock is re-created between our attempts
            raise GitError(f"could not lock {path}", hint="retry")
        try:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            yield
        finally:
            path.unlink(missing_ok=True)


def _conflict_error(remote: str, branch: str, paths: list[str]) -> GitError:
    """The error of a push whose rebase conflicts on ``paths`` (a login's file: a clash)."""
    shown = ", ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")
    where = f" in {shown}" if paths else ""
    message = f"push to {remote}/{branch} failed: the remote has conflicting changes{where}"
    logins = [
        p.rsplit("/", 1)[1]
        for p in paths
        if p.startswith(layout.LOGINS_DIR + "/") and p != layout.LOGINS_README
    ]
    if logins:
        return GitError(
            message,
            hint=f"GitHub login {logins[0]!r} was bound to another tenant on {remote}/{branch} "
            "meanwhile; your commit is kept locally: undo it (`git reset --keep HEAD~1`), run "
            f"`git pull --rebase {remote} {branch}`, and onboard with the student's own login",
        )
    return GitError(
        message,
        hint=f"your commit is kept locally; run `git pull --rebase {remote} {branch}`, "
        "resolve, then `kuploy-gitops render` and `git push`",
    )


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


def _stale(lock: Path) -> bool:
    """A lock whose process is gone (killed mid-write) may be taken over."""
    try:
        pid = int(lock.read_text().strip() or "0")
    except (OSError, ValueError):
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.ESRCH
    return False
