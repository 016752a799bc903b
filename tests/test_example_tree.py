"""This repository's own apps/ is a GitOps tree produced by the tool, and must not drift."""

from __future__ import annotations

from pathlib import Path

from helpers import REPO_ROOT
from test_manifests_valid import check_repo

from kuploy_gitops import config, drift, tenant_spec


def test_example_tree_has_no_drift() -> None:
    assert drift.drift_paths(REPO_ROOT, config.load_config(REPO_ROOT)) == []


def test_example_tree_has_students_and_both_app_modes() -> None:
    students = tenant_spec.list_students(REPO_ROOT)
    assert len(students) >= 3
    modes = {a.mode for s in students for a in tenant_spec.read_spec(REPO_ROOT, s).apps}  # type: ignore[union-attr]
    assert modes == {"managed", "repo"}


def test_example_tree_is_schema_valid(data_dir: Path) -> None:
    assert check_repo(REPO_ROOT, data_dir) > 20
