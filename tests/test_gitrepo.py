"""GitRepo.push on plain git repos: retries, rebases, conflicts and what each failure says.

Each test builds a small repo and a bare remote with git itself (no platform repo), so these
are fast enough for the mutation run (docs/testing.md); test_gitrepo_push.py covers the same
through kuploy's commands.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import git

from kuploy_gitops.errors import GitError, InvalidInputError
from kuploy_gitops.gitrepo import GitRepo, PushPolicy, redact


def commit(repo: Path, name: str, text: str = "x\n") -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A repo with one commit, pushed to the bare remote ``origin`` (tmp_path/remote.git)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    repo = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    commit(repo, "a")
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return repo


def other_clone(work: Path) -> Path:
    other = work.parent / "other"
    git(work.parent, "clone", "-q", str(work.parent / "remote.git"), str(other))
    return other


def refuse_pushes(bare: Path, times: int) -> Path:
    """A pre-receive hook on ``bare`` refusing the first ``times`` pushes; returns its counter."""
    counter = bare / "push-attempts"
    counter.write_text("0")
    hook = bare / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)  # the tests' repos are made without sample hooks
    hook.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{counter}")\n'
        "n=$((n + 1))\n"
        f'echo "$n" > "{counter}"\n'
        f'if [ "$n" -le {times} ]; then echo "busy, try again ($n)" >&2; exit 1; fi\n'
    )
    hook.chmod(0o755)
    return counter


def remote_head(work: Path) -> str:
    return git(work.parent / "remote.git", "rev-parse", "main").strip()


def test_push_pushes(work: Path) -> None:
    head = commit(work, "b")
    assert GitRepo(work).push() == "origin/main"
    assert remote_head(work) == head


def test_push_rebases_when_the_remote_moved(work: Path) -> None:
    other = other_clone(work)
    theirs = commit(other, "theirs")
    git(other, "push", "-q", "origin", "main")
    commit(work, "ours")
    assert GitRepo(work).push() == "origin/main"
    head = git(work, "rev-parse", "HEAD").strip()
    assert remote_head(work) == head
    assert git(work, "rev-parse", "HEAD~1").strip() == theirs
    assert git(work, "log", "-1", "--format=%s").strip() == "add ours"
    assert git(work, "status", "--porcelain") == ""


def test_push_retries_up_to_three_attempts(work: Path) -> None:
    counter = refuse_pushes(work.parent / "remote.git", 2)  # refused twice, taken the third time
    head = commit(work, "b")
    assert GitRepo(work).push() == "origin/main"
    assert counter.read_text().strip() == "3"
    assert remote_head(work) == head


def test_push_gives_up_after_its_attempts_and_keeps_the_commit(work: Path) -> None:
    counter = refuse_pushes(work.parent / "remote.git", 99)
    before = remote_head(work)
    head = commit(work, "b")
    with pytest.raises(GitError) as info:
        GitRepo(work).push()
    assert info.value.message == (
        "push to origin/main failed after 3 attempts: error: failed to push some refs to "
        f"'{work.parent / 'remote.git'}'"
    )
    assert info.value.hint == (
        "your commit is kept locally; check your access (and the remote's hooks), then run "
        "`kuploy-gitops push`"
    )
    assert counter.read_text().strip() == "3"
    assert remote_head(work) == before
    assert git(work, "rev-parse", "HEAD").strip() == head
    assert git(work, "status", "--porcelain") == ""
    counter.write_text("0")
    with pytest.raises(GitError, match="after 1 attempts"):
        GitRepo(work).push(policy=PushPolicy(refusals=1))
    assert counter.read_text().strip() == "1"


def test_push_stops_when_the_fetch_fails(work: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(empty))
    git(work, "remote", "remove", "origin")
    git(work, "remote", "add", "upstream", str(empty))
    counter = refuse_pushes(empty, 99)
    with pytest.raises(GitError) as info:
        GitRepo(work).push()
    # the remote has no branch to fetch: no point in trying again
    assert counter.read_text().strip() == "1"
    assert info.value.message == (
        "push to upstream/main failed: fatal: couldn't find remote ref refs/heads/main"
    )
    assert info.value.hint == (
        "your commit is kept locally; check the remote and your access, then run "
        "`kuploy-gitops push`"
    )


@pytest.mark.parametrize("backend", ["merge", "apply"])
def test_push_conflict_aborts_the_rebase_and_keeps_the_commit(work: Path, backend: str) -> None:
    git(work, "config", "rebase.backend", backend)  # the apply backend keeps .git/rebase-apply
    other = other_clone(work)
    commit(other, "same", "theirs\n")
    git(other, "push", "-q", "origin", "main")
    ours = commit(work, "same", "ours\n")
    with pytest.raises(GitError) as info:
        GitRepo(work).push()
    assert info.value.message == (
        "push to origin/main failed: the remote has conflicting changes in same (changed "
        "there by Test Admin: add same)"
    )
    assert info.value.hint == (
        "your commit is kept locally and the tree is clean: to keep their version, drop yours "
        "with `git reset --keep origin/main` and run your command again; to keep both, run "
        "`git pull --rebase origin main`, resolve, `kuploy-gitops render`, then "
        "`kuploy-gitops push`"
    )
    assert git(work, "rev-parse", "HEAD").strip() == ours
    assert git(work, "status", "--porcelain") == ""
    git_dir = work / ".git"
    assert not (git_dir / "rebase-merge").exists() and not (git_dir / "rebase-apply").exists()


def test_push_pushes_the_current_branch(work: Path) -> None:
    git(work, "checkout", "-q", "-b", "feature")
    head = commit(work, "f")
    assert GitRepo(work).push() == "origin/feature"
    assert git(work.parent / "remote.git", "rev-parse", "feature").strip() == head


def test_push_without_remote(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    commit(repo, "a")
    with pytest.raises(GitError) as info:
        GitRepo(repo).push()
    assert info.value.message == (
        "not pushed: the repo has no remote (what was committed stays committed here)"
    )
    assert info.value.hint == (
        "add one with `git remote add origin URL`, then run `kuploy-gitops push`"
    )


def test_push_failure_redacts_credentials(work: Path, tmp_path: Path) -> None:
    # A local remote whose path looks like a URL with a token: git names it in its error.
    bare = tmp_path / "https:" / "user:s3cr3t-token@host" / "x.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    url = f"file://{tmp_path}/https://user:s3cr3t-token@host/x.git"
    git(work, "remote", "set-url", "origin", url)
    git(work, "push", "-q", "origin", "main")
    refuse_pushes(bare, 99)
    commit(work, "b")
    with pytest.raises(GitError) as info:
        GitRepo(work).push(policy=PushPolicy(refusals=1))
    assert "s3cr3t-token" not in str(info.value)
    assert info.value.message.endswith(f"{tmp_path}/https://***@host/x.git'")


def test_remote_prefers_origin(work: Path, tmp_path: Path) -> None:
    repo = GitRepo(work)
    assert repo.remote() == "origin"
    git(work, "remote", "add", "backup", str(tmp_path / "b.git"))
    assert repo.remote() == "origin"
    git(work, "remote", "remove", "origin")
    assert repo.remote() == "backup"
    git(work, "remote", "add", "a-first", str(tmp_path / "a.git"))
    assert repo.remote() == "a-first"  # no origin: the first one git lists
    git(work, "remote", "remove", "a-first")
    git(work, "remote", "remove", "backup")
    assert repo.remote() is None


def test_redact() -> None:
    assert (
        redact("fatal: https://x:ghp_abc@github.com/konkuk-kuploy/r")
        == "fatal: https://***@github.com/konkuk-kuploy/r"
    )
    assert redact("HTTPS://tok@h/x and ssh://u@h2/y") == "HTTPS://***@h/x and ssh://***@h2/y"
    assert redact("git@github.com:o/r.git") == "git@github.com:o/r.git"  # no scheme: no secret
    assert redact("https://github.com/konkuk-kuploy/r") == "https://github.com/konkuk-kuploy/r"


def test_push_rebases_where_git_has_no_identity(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebase writes commits: without user.name/email it uses kuploy's fallback identity."""
    other = other_clone(work)
    commit(other, "theirs")
    git(other, "push", "-q", "origin", "main")
    commit(work, "ours")
    anonymous = tmp_path / "anonymous-gitconfig"
    anonymous.write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(anonymous))
    assert GitRepo(work).push() == "origin/main"
    assert git(work, "log", "-1", "--format=%s|%cn|%ce").strip() == (
        "add ours|kuploy-gitops|kuploy-gitops@localhost"
    )


def test_last_line_of_a_silent_failure() -> None:
    from subprocess import CompletedProcess

    from kuploy_gitops.gitrepo import _last_line

    assert _last_line(CompletedProcess(["git"], 3, stdout="", stderr="")) == "exit 3"
    assert _last_line(CompletedProcess(["git"], 1, stdout="out\nlast out\n", stderr="")) == (
        "last out"
    )
    assert _last_line(CompletedProcess(["git"], 1, stdout="x", stderr="a\nb https://t@h/\n")) == (
        "b https://***@h/"
    )


def test_push_says_why_git_cannot_rebase(work: Path) -> None:
    """Other uncommitted changes (kuploy only refuses its own files) stop the rebase: say so."""
    other = other_clone(work)
    commit(other, "theirs")
    git(other, "push", "-q", "origin", "main")
    ours = commit(work, "ours")
    (work / "a").write_text("an unrelated local edit\n")
    with pytest.raises(GitError) as info:
        GitRepo(work).push()
    assert info.value.message == (
        "push to origin/main failed: git cannot rebase onto it: error: Please commit or stash them."
    )
    assert "conflicting" not in str(info.value)
    assert info.value.hint == (
        "your commit is kept locally; fix that (commit or stash those changes), then run "
        "`kuploy-gitops push`"
    )
    assert git(work, "rev-parse", "HEAD").strip() == ours
    assert (work / "a").read_text() == "an unrelated local edit\n"


def test_the_push_gives_up_when_its_time_is_out(work: Path) -> None:
    # A remote that answers every push as if another admin had just pushed first: not a
    # refusal to count, a race to retry until the time is out.
    hook = work.parent / "remote.git" / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'updates were rejected (fetch first)' >&2\nexit 1\n")
    hook.chmod(0o755)
    commit(work, "b")
    began = time.monotonic()
    with pytest.raises(GitError) as info:
        GitRepo(work).push(policy=PushPolicy(timeout=0.4, base=0.02, cap=0.05))
    assert time.monotonic() - began < 3
    assert info.value.message.startswith("push to origin/main did not land within 0.4 s (")
    assert info.value.hint == (
        "your commit is kept locally; run `kuploy-gitops push` (or set KUPLOY_PUSH_TIMEOUT to "
        "wait longer)"
    )


def test_the_push_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUPLOY_PUSH_TIMEOUT", "120")
    assert PushPolicy.from_env().timeout == 120
    monkeypatch.setenv("KUPLOY_PUSH_TIMEOUT", "soon")
    with pytest.raises(InvalidInputError, match="KUPLOY_PUSH_TIMEOUT='soon' is not a number"):
        PushPolicy.from_env()
    monkeypatch.delenv("KUPLOY_PUSH_TIMEOUT")
    assert PushPolicy.from_env() == PushPolicy()


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = PushPolicy(base=0.1, cap=1.0)
    for attempt, bound in [(1, 0.2), (2, 0.4), (3, 0.8), (9, 1.0)]:
        waits = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= w <= bound for w in waits)
        assert max(waits) > bound / 2 and len(set(waits)) > 100  # jittered, not fixed
