"""Commits built from objects give exactly the tree `git add` + `git commit` would."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import git

from kuploy_gitops import gitobjects
from kuploy_gitops.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for rel in ("a.txt", "tenants/kim.yaml", "apps/cluster/tenants/kim/ns.yaml", "apps/x/y/z.yaml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{rel}\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    return root


CHANGES = {
    "tenants/lee.yaml": "new\n",  # a new file in an existing folder
    "apps/cluster/tenants/lee/ns.yaml": "new folder\n",  # a new folder
    "apps/cluster/tenants/kim/ns.yaml": "changed\n",  # a change
    "apps/x/y/z.yaml": None,  # a deletion that empties two folders
    "run.sh": "#!/bin/sh\n",  # an executable file
}


def apply(root: Path) -> list[str]:
    for rel, text in CHANGES.items():
        path = root / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    (root / "apps/x/y").rmdir()
    (root / "apps/x").rmdir()
    (root / "run.sh").chmod(0o755)
    return sorted(CHANGES)


def test_the_tree_is_what_git_commit_makes(repo: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    git(tmp_path, "clone", "-q", str(repo), str(reference))
    paths = apply(repo)
    apply(reference)
    git(reference, "add", "-A")
    git(reference, "commit", "-qm", "second")
    head = git(repo, "rev-parse", "HEAD").strip()
    tree = gitobjects.commit_tree(
        repo, repo / ".git" / "objects", ["git", "-C", str(repo)], head, paths
    )
    assert tree == git(reference, "rev-parse", "HEAD^{tree}").strip()
    git(repo, "fsck", "--no-dangling")  # every object written is well formed


def test_commit_paths_commits_only_those_paths_and_keeps_the_index_right(repo: Path) -> None:
    (repo / "a.txt").write_text("staged by the admin\n")
    git(repo, "add", "a.txt")
    paths = apply(repo)
    sha = GitRepo(repo).commit_paths(paths, "kuploy: change")
    assert sha == git(repo, "rev-parse", "HEAD").strip()
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == paths
    # The admin's staged change is still staged, and nothing else differs.
    assert git(repo, "status", "--porcelain").splitlines() == ["M  a.txt"]


def test_changed_files_compares_the_working_tree_with_head(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    gitcmd = ["git", "-C", str(repo)]
    scope = ["tenants", "apps/cluster/tenants/kim"]
    assert gitobjects.changed_files(gitcmd, repo, head, scope) == []
    (repo / "tenants/kim.yaml").write_text("edited\n")
    (repo / "apps/cluster/tenants/kim/extra.yaml").write_text("new\n")
    (repo / "apps/cluster/tenants/kim/ns.yaml").unlink()
    (repo / "a.txt").write_text("outside the scope\n")
    assert gitobjects.changed_files(gitcmd, repo, head, scope) == [
        "apps/cluster/tenants/kim/extra.yaml",
        "apps/cluster/tenants/kim/ns.yaml",
        "tenants/kim.yaml",
    ]
    (repo / ".gitignore").write_text("*.swp\n")
    (repo / "tenants/.kim.yaml.swp").write_text("editor\n")
    assert ".kim.yaml.swp" not in " ".join(GitRepo(repo).changed_since_head(scope))


def test_a_symlink_falls_back_to_porcelain_git(repo: Path) -> None:
    (repo / "tenants/link.yaml").symlink_to("../a.txt")
    with pytest.raises(gitobjects.Unsupported):
        gitobjects.commit_tree(
            repo, repo / ".git" / "objects", ["git", "-C", str(repo)], "HEAD", ["tenants/link.yaml"]
        )
    sha = GitRepo(repo).commit_paths(["tenants/link.yaml"], "kuploy: link")
    mode = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", sha, "tenants/link.yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert mode == "120000"


def _mktree(root: Path, entries: dict[bytes, tuple[bytes, bytes]]) -> bytes:
    """The body of the tree git itself makes from ``entries`` (name -> (mode, oid))."""
    lines = "".join(
        f"{mode.decode():0>6} {'tree' if mode == gitobjects.TREE else 'blob'} "
        f"{oid.hex()}\t{name.decode()}\n"
        for name, (mode, oid) in entries.items()
    )
    oid = subprocess.run(
        ["git", "-C", str(root), "mktree", "--missing"],
        input=lines.encode(),
        capture_output=True,
        check=True,
    ).stdout.strip()
    return subprocess.run(
        ["git", "-C", str(root), "cat-file", "tree", oid.decode()], capture_output=True, check=True
    ).stdout


def test_tree_edits_give_the_tree_git_makes(repo: Path) -> None:
    import random

    rng = random.Random(9)
    # Names whose order is easy to get wrong: a folder sorts as if its name ended in "/".
    stems = [b"a", b"a-b", b"a.b", b"a0", b"a_", b"kim", b"kim-lee", b"kim.yaml", b"z"]
    entries: dict[bytes, tuple[bytes, bytes]] = {}
    tree = gitobjects.Tree()
    for step in range(300):
        name = rng.choice(stems) + (b"" if rng.random() < 0.5 else str(rng.randrange(30)).encode())
        if rng.random() < 0.3:
            tree.remove(name)
            entries.pop(name, None)
        else:
            mode = rng.choice([gitobjects.FILE, gitobjects.EXECUTABLE, gitobjects.TREE])
            oid = bytes(rng.randrange(256) for _ in range(20))
            tree.set(name, mode, oid)
            entries[name] = (mode, oid)
        assert tree.mode(name) == (entries[name][0] if name in entries else None)
        if step % 50 == 49:
            expected = _mktree(repo, entries)
            assert tree.body() == expected
            assert gitobjects.Tree(expected).body() == expected  # and it reads back
    assert len(tree) == len(entries)


def test_a_tree_that_does_not_parse_is_unsupported() -> None:
    body = b"100644 a.txt\0" + b"\x01" * 20 + b"100644 b.txt\0" + b"\x02" * 20
    assert len(gitobjects.Tree(body)) == 2
    for broken in (body[:-1], body + b"x", b"junk" + body):
        with pytest.raises(gitobjects.Unsupported):
            gitobjects.Tree(broken)
