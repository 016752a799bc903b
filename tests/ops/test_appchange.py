"""`app set` and `app show` (ops/appchange.py) on a real platform repo in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from app_repo import API_KEY_VALUE, IMAGE, REPO_URL, STUDENT, app_repo, app_template
from helpers import DATA_DIR, commit_count, git, tree_snapshot

from kuploy_gitops import api, layout, tenant_spec, yamlio
from kuploy_gitops.errors import ConflictError, FindingsError, InvalidInputError, UsageError
from kuploy_gitops.ops import appchange
from kuploy_gitops.validate.engine import Options, validate_repo

__all__ = ["app_repo", "app_template"]  # fixtures
pytestmark = pytest.mark.platform_repo


def set_web(repo: Path, **kw: Any) -> api.AppSetResult:
    return api.app_set(repo, api.AppChange(student=STUDENT, app="web", **kw))


def workload(repo: Path, name: str) -> dict[str, Any]:
    (obj,) = yamlio.load_all((repo / layout.workload_dir(STUDENT, "web") / name).read_text())
    return obj  # type: ignore[no-any-return]


def container(repo: Path) -> dict[str, Any]:
    (c,) = workload(repo, "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    return c  # type: ignore[no-any-return]


def subject(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%s").strip()


def test_each_option_is_one_commit_that_keeps_the_deployment(app_repo: Path) -> None:
    repo = app_repo
    first = workload(repo, "deployment.yaml")
    identity = (first["metadata"], first["spec"]["selector"], first["spec"]["template"]["metadata"])
    steps: list[tuple[dict[str, Any], str]] = [
        ({"tag": "1.1"}, f"image {IMAGE} -> ghcr.io/konkuk-kuploy/web:1.1"),
        ({"env": [("FEATURE", "on"), ("MODE", "prod")]}, "env FEATURE set, env MODE changed"),
        ({"unset_env": ["MODE"]}, "env MODE unset"),
        ({"replicas": 2}, "replicas 1 -> 2"),
        ({"size": "tiny"}, "size small -> tiny"),
        ({"port": 3000}, "port 8080 -> 3000"),
        ({"health_path": "/healthz"}, "health path / -> /healthz"),
        (
            {"image": "ghcr.io/konkuk-kuploy/web2@sha256:" + "a" * 64},
            "image ghcr.io/konkuk-kuploy/web:1.1 -> ghcr.io/konkuk-kuploy/web2@sha256:" + "a" * 64,
        ),
    ]
    for change, words in steps:
        count = commit_count(repo)
        done = set_web(repo, **change)
        assert commit_count(repo) == count + 1, change
        assert subject(repo) == f"kuploy: set app web of {STUDENT}: {words}"
        assert done.changes == words.split(", ")
        assert done.result.commit == git(repo, "rev-parse", "HEAD").strip()
        assert done.url == f"https://web-{STUDENT}.apps.konkuk.example/"
        changed = set(git(repo, "show", "--name-only", "--format=", "HEAD").split())
        assert layout.tenant_spec(STUDENT) in changed
        assert layout.application_file(STUDENT, "web") not in changed  # the app is not re-created
        dep = workload(repo, "deployment.yaml")
        # Same name, selector and pod labels: Argo CD patches the Deployment, which rolls.
        assert (
            dep["metadata"],
            dep["spec"]["selector"],
            dep["spec"]["template"]["metadata"],
        ) == identity
    c = container(repo)
    assert c["image"] == "ghcr.io/konkuk-kuploy/web2@sha256:" + "a" * 64
    assert workload(repo, "kustomization.yaml")["images"] == [
        {"name": "ghcr.io/konkuk-kuploy/web2", "digest": "sha256:" + "a" * 64}
    ]
    assert c["env"] == [
        {"name": "API_KEY", "value": API_KEY_VALUE},
        {"name": "FEATURE", "value": "on"},
    ]
    assert c["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["resources"]["limits"] == {"cpu": "250m", "memory": "256Mi"}  # tiny
    assert workload(repo, "deployment.yaml")["spec"]["replicas"] == 2
    spec = tenant_spec.read_spec(repo, STUDENT)
    assert spec is not None and spec.app("api") == tenant_spec.AppSpec(
        name="api", mode="repo", repo=REPO_URL
    )
    # A digest pin takes a new reference, not a tag (which would silently drop the pin).
    before = tree_snapshot(repo)
    with pytest.raises(InvalidInputError, match="pinned by digest") as info:
        set_web(repo, tag="1.2")
    assert info.value.hint is not None and "--image NAME:TAG" in info.value.hint
    assert tree_snapshot(repo) == before


BAD_CHANGES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({}, UsageError, "nothing to change for app kim/web"),
    ({"image": "ghcr.io/konkuk-kuploy/x:2", "tag": "2"}, UsageError, "do not go together"),
    ({"port": 0}, InvalidInputError, "port 0 is out of range"),
    ({"port": 70000}, InvalidInputError, "port 70000 is out of range"),
    ({"size": "huge"}, InvalidInputError, "size 'huge' does not exist"),
    ({"replicas": 11}, InvalidInputError, "replicas 11 is out of range"),
    ({"replicas": 9, "size": "medium"}, InvalidInputError, "over tier 'small' quota"),
    ({"health_path": "healthz"}, InvalidInputError, "health path 'healthz' must start"),
    ({"image": "bad image"}, InvalidInputError, "image 'bad image' is not an image"),
    ({"tag": "bad tag"}, InvalidInputError, "--tag 'bad tag' is not an image tag"),
    ({"tag": "1.0/../x"}, InvalidInputError, "is not an image tag"),
    ({"env": [("1BAD", "x")]}, InvalidInputError, "env variable name '1BAD'"),
    ({"env": [("A", "1"), ("A", "2")]}, InvalidInputError, "--env 'A' is given twice"),
    ({"env": [("A", "1")], "unset_env": ["A"]}, UsageError, "both --env and --unset-env"),
    ({"unset_env": ["NOPE"]}, InvalidInputError, "--unset-env 'NOPE': app 'web' has no"),
    ({"revision": "v2"}, UsageError, "platform-managed: --revision is for student-repo"),
    ({"image": "quay.io/someone/x:1"}, FindingsError, "image.registry"),
]


def test_refusals_and_no_ops_write_nothing(app_repo: Path) -> None:
    # One repo for every case: each must leave it as it was, byte for byte.
    before, count = tree_snapshot(app_repo), commit_count(app_repo)

    def unchanged() -> bool:
        return tree_snapshot(app_repo) == before and commit_count(app_repo) == count

    for change, exc, words in BAD_CHANGES:
        with pytest.raises(exc) as info:
            set_web(app_repo, **change)
        assert words in str(info.value), change
        assert "\n" not in str(info.value)
        assert unchanged(), change
    # The same values again: nothing to commit.
    done = set_web(app_repo, tag="1.0", env=[("MODE", "dev")], replicas=1, port=8080)
    assert done.changes == [] and done.result.changed == [] and done.result.commit == ""
    assert unchanged()
    # A credential in plain text: refused by the write's validation, and never shown.
    password = "Vq8rT2mZ9kLw"
    with pytest.raises(FindingsError, match="secret.plaintext") as info:
        set_web(app_repo, env=[("DATABASE_URL", f"postgres://app:{password}@db:5432/app")])
    assert password not in str(info.value) and password not in (info.value.hint or "")
    assert "kuploy-gitops secret set" in (info.value.hint or "")  # the fix: seal it
    # Unknown app or student: named, with the fix.
    with pytest.raises(ConflictError, match="student 'kim' has no app 'shop'") as info:
        api.app_set(app_repo, api.AppChange(student=STUDENT, app="shop", replicas=2))
    assert info.value.hint is not None and "their apps: api, web" in info.value.hint
    with pytest.raises(ConflictError, match="'lee' is not onboarded"):
        api.app_set(app_repo, api.AppChange(student="lee", app="web", replicas=2))
    assert unchanged()
    # A size over the tier's per-container max.
    path = app_repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["tiers"]["small"]["limits"]["max"]["cpu"] = "500m"
    path.write_text(yamlio.dump(data))
    git(app_repo, "commit", "-qam", "smaller small tier")
    before, count = tree_snapshot(app_repo), commit_count(app_repo)
    with pytest.raises(InvalidInputError) as info:
        set_web(app_repo, size="medium")
    assert info.value.message == "size 'medium' (cpu limit 1) exceeds tier 'small' max 500m"
    assert unchanged()


def test_a_secret_named_variable_warns_by_name_only(app_repo: Path) -> None:
    done = set_web(app_repo, env=[("STRIPE_TOKEN", "abc123xyz")])
    assert done.warnings == [
        "env STRIPE_TOKEN looks like a secret by its name; its value is committed to git in "
        "plain text (anyone who can read the platform repo can read it): seal it instead with "
        "`kuploy-gitops secret set kim web STRIPE_TOKEN=-` and `app set kim web --unset-env "
        "STRIPE_TOKEN`"
    ]
    assert "abc123xyz" not in json.dumps(done.to_data()) and "abc123xyz" not in subject(app_repo)


def test_dry_run_shows_the_diff_and_writes_nothing(app_repo: Path) -> None:
    before, count = tree_snapshot(app_repo), commit_count(app_repo)
    done = api.app_set(
        app_repo, api.AppChange(student=STUDENT, app="web", replicas=3, tag="2.0"), dry_run=True
    )
    deployment = layout.workload_dir(STUDENT, "web") + "/deployment.yaml"
    assert f"+++ b/{deployment}" in done.result.diff
    assert "-  replicas: 1\n+  replicas: 3\n" in done.result.diff
    assert deployment in done.result.changed and done.result.commit == ""
    assert done.changes == [
        "image ghcr.io/konkuk-kuploy/web:1.0 -> ghcr.io/konkuk-kuploy/web:2.0",
        "replicas 1 -> 3",
    ]
    assert tree_snapshot(app_repo) == before and commit_count(app_repo) == count


def test_a_student_repo_app_changes_path_and_revision_only(app_repo: Path) -> None:
    done = api.app_set(app_repo, api.AppChange(student=STUDENT, app="api", revision="v2"))
    assert done.changes == ["revision main -> v2"]
    assert subject(app_repo) == f"kuploy: set app api of {STUDENT}: revision main -> v2"
    (application,) = yamlio.load_all(
        (app_repo / layout.application_file(STUDENT, "api")).read_text()
    )
    assert application["spec"]["source"] == {
        "repoURL": REPO_URL,
        "path": "deploy",
        "targetRevision": "v2",
    }
    before = tree_snapshot(app_repo)
    with pytest.raises(UsageError, match="deploys from the student's repo: --tag") as info:
        api.app_set(app_repo, api.AppChange(student=STUDENT, app="api", tag="1.1"))
    assert info.value.hint is not None and "workflow sets the image tag" in info.value.hint
    with pytest.raises(InvalidInputError, match="must be a relative folder"):
        api.app_set(app_repo, api.AppChange(student=STUDENT, app="api", path="/etc"))
    assert tree_snapshot(app_repo) == before


def test_rollout_headroom_is_warned_when_the_quota_is_full(app_repo: Path) -> None:
    # Tier small: limits.cpu 2 = 4 pods of size small (500m). Scaling to 4 starts no new pod;
    # a new image then needs one surge pod more than the quota allows.
    assert set_web(app_repo, replicas=4).warnings == []
    done = set_web(app_repo, tag="1.1")
    (warning,) = [w for w in done.warnings if "rolling update" in w]
    assert "1 extra pod(s)" in warning and "limits.cpu" in warning
    assert set_web(app_repo, replicas=3).warnings == []
    assert set_web(app_repo, tag="1.2").warnings == []  # 3 + 1 pods fit exactly


def test_show_describes_the_app_and_hides_secret_values(app_template: Path) -> None:
    app_repo = app_template  # read only
    with pytest.raises(ConflictError, match="has no app 'shop'"):
        api.app_show(app_repo, STUDENT, "shop")
    data = api.app_show(app_repo, STUDENT, "web")
    assert data == {
        "student": STUDENT,
        "app": "web",
        "mode": "managed",
        "url": f"https://web-{STUDENT}.apps.konkuk.example/",
        "application": f"{STUDENT}-web",
        "application_file": layout.application_file(STUDENT, "web"),
        "image": IMAGE,
        "port": 8080,
        "health_path": "/",
        "replicas": 1,
        "size": "small",
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
        "env": [{"name": "API_KEY", "hidden": True}, {"name": "MODE", "value": "dev"}],
        "secrets": [],
        "manifests": layout.workload_dir(STUDENT, "web"),
    }
    assert API_KEY_VALUE not in json.dumps(data)
    repo_app = api.app_show(app_repo, STUDENT, "api")
    assert (repo_app["mode"], repo_app["repo"], repo_app["path"], repo_app["revision"]) == (
        "repo",
        REPO_URL,
        "deploy",
        "main",
    )
    assert "image" not in repo_app


def test_env_view_hides_by_name_or_by_look() -> None:
    env = [
        ("MODE", "prod"),
        ("DB_PASSWORD", "hunter2"),
        ("UPSTREAM", "https://user:Zx81qPw0Lm@api.example.org/"),
        ("GREETING", "hello"),
    ]
    assert appchange.env_view(env) == [
        {"name": "MODE", "value": "prod"},
        {"name": "DB_PASSWORD", "hidden": True},
        {"name": "UPSTREAM", "hidden": True},
        {"name": "GREETING", "value": "hello"},
    ]


@pytest.mark.slow
def test_what_app_set_renders_passes_validate(app_repo: Path) -> None:
    # Slow tier: a whole-repo validate with a kubectl build costs about 1.5 s of CPU.
    set_web(app_repo, tag="1.1", env=[("FEATURE", "on")], unset_env=["MODE"], size="tiny")
    set_web(app_repo, replicas=3, port=3000, health_path="/healthz")
    api.app_set(app_repo, api.AppChange(student=STUDENT, app="api", revision="v2"))
    report = validate_repo(Options(repo=app_repo, crd_dir=DATA_DIR / "argocd"))
    assert report.findings == []
    assert report.builds >= 1 and report.tenants == [STUDENT]
