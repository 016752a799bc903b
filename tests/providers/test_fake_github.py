"""The fake GitHub itself: it must refuse what GitHub's API description does not allow."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.fake_github import FakeGitHub
from providers.fake_github_ops import blob_sha, tree_sha
from providers.openapi_spec import example, to_json_schema

TOKEN = "ghp_fakeTest"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub("org") as server:
        server.add_token(TOKEN)
        yield server


def call(
    fake: FakeGitHub, method: str, path: str, body: Any = None, token: str = TOKEN
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        fake.base_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"null")


def test_undocumented_path_is_a_violation(fake: FakeGitHub) -> None:
    status, _ = call(fake, "GET", "/repos/org/x/actions/runs")
    assert status == 404
    assert fake.violations == ["GET /repos/org/x/actions/runs: not in GitHub's API description"]


def test_body_that_breaks_the_schema_is_a_violation(fake: FakeGitHub) -> None:
    status, answer = call(fake, "POST", "/orgs/org/repos", {"private": "yes"})
    assert status == 422
    assert "'name' is a required property" in answer["message"]
    assert "'yes' is not of type 'boolean'" in answer["message"]
    assert len(fake.violations) == 1


def test_unknown_property_where_the_schema_forbids_it(fake: FakeGitHub) -> None:
    status, _ = call(
        fake,
        "POST",
        "/repos/org/x/hooks",
        {"config": {"url": "https://a.example"}, "secret": "top-level"},
    )
    assert status == 422 and "Additional properties" in fake.violations[0]


def test_undocumented_query_parameter_is_a_violation(fake: FakeGitHub) -> None:
    status, _ = call(fake, "GET", "/repos/org/x/hooks?colour=blue")
    assert status == 422 and "'colour' is not documented" in fake.violations[0]


def test_body_on_an_operation_without_one(fake: FakeGitHub) -> None:
    status, _ = call(fake, "GET", "/repos/org/x", {"a": 1})
    assert status == 422 and "takes none" in fake.violations[0]


def test_auth_is_required(fake: FakeGitHub) -> None:
    status, answer = call(fake, "GET", "/users/kuploy-admin", token="nope")
    assert (status, answer["message"]) == (401, "Bad credentials")
    assert fake.violations == []


def test_answers_have_the_documented_shape(fake: FakeGitHub) -> None:
    status, repo = call(fake, "POST", "/orgs/org/repos", {"name": "x", "auto_init": True})
    assert status == 201 and repo["full_name"] == "org/x" and "clone_url" in repo
    status, hooks = call(fake, "GET", "/repos/org/x/hooks")
    assert (status, hooks) == (200, [])
    assert fake.violations == []


def test_faults_are_injected_once(fake: FakeGitHub) -> None:
    fake.rate_limit("GET", r"^/users/", kind="429")
    assert call(fake, "GET", "/users/kuploy-admin")[0] == 429
    assert call(fake, "GET", "/users/kuploy-admin")[0] == 200


def test_git_object_ids_match_git(tmp_path: Path) -> None:
    files = {"a": b"hello\n", "d/b.yaml": b"x: 1\n", "d-e": b"", "d/e/f": b"deep\n"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    real = subprocess.run(
        ["git", "-C", str(tmp_path), "write-tree"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert tree_sha({name: blob_sha(data) for name, data in files.items()}) == real


def test_nullable_schemas_and_examples() -> None:
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "string", "nullable": True}, "b": {"type": "integer"}},
    }
    assert example(schema) == {"a": None, "b": 1}
    converted = to_json_schema(schema)
    assert converted["properties"]["a"]["type"] == ["string", "null"]
