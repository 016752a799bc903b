"""A platform repo with one student and two apps, built once per worker and copied per test.

Student ``kim`` (tier small) has the platform-managed app ``web`` (image ``IMAGE``, port 8080,
env ``MODE=dev`` and ``API_KEY=<API_KEY_VALUE>``) and the student-repo app ``api``. Tests of
`app set` and `app show` import the fixtures: ``from app_repo import app_repo, app_template``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import isolated_env

from kuploy_gitops import api

STUDENT = "kim"
IMAGE = "ghcr.io/konkuk-kuploy/web:1.0"
API_KEY_VALUE = "q7Zp2Lm9Xw"  # not a credential by its look: only its name says so
REPO_URL = "https://github.com/konkuk-kuploy/kim-api.git"


@pytest.fixture(scope="session")
def app_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("app-template")
    with isolated_env(base, cache=False):
        repo = base / "repo"
        api.init(api.InitOptions(repo=repo))
        api.onboard(repo, api.OnboardOptions(student=STUDENT, github="kimgh"))
        api.app_add(
            repo,
            api.AppOptions(
                student=STUDENT,
                app="web",
                image=IMAGE,
                port=8080,
                env=[("MODE", "dev"), ("API_KEY", API_KEY_VALUE)],
            ),
        )
        api.app_add(repo, api.AppOptions(student=STUDENT, app="api", repo_url=REPO_URL))
    return repo


@pytest.fixture
def app_repo(app_template: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "platform"
    shutil.copytree(app_template, repo, symlinks=True)
    return repo
