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
