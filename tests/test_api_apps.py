from __future__ import annotations

from pathlib import Path

import pytest
from helpers import git, tree_snapshot

from kuploy_gitops import api, config, layout, yamlio
from kuploy_gitops.errors import ConflictError, InvalidInputError, UsageError
from kuploy_gitops.plan import ApplyResult


@pytest.fixture
def tenant(platform: Path) -> Path:
    api.onboard(platform, api.OnboardOptions(student="kim", github="kimgh"))
    return platform


def add(repo: Path, app: str = "web", **kw: object) -> ApplyResult:
    opts = {"image": "ghcr.io/konkuk-kuploy/web:1.2.3", "port": 8080, **kw}
    return api.app_add(repo, api.AppOptions(student="kim", app=app, **opts))  # type: ignore[arg-type]


def test_platform_managed_app(tenant: Path) -> None:
    add(
        tenant,
        env=[("MODE", "prod"), ("URL", "a=b")],
        health_path="/healthz",
        replicas=2,
        size="tiny",
    )
    cfg = config.load_config(tenant)
    (application,) = yamlio.load_all((tenant / layout.application_file("kim", "web")).read_text())
    spec = application["spec"]
    assert spec["project"] == "kim"
    assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "kim"}
    assert spec["source"]["repoURL"] == cfg.repo_url
    assert spec["source"]["path"] == layout.workload_dir("kim", "web")
    assert spec["source"]["targetRevision"] == "refs/heads/main"
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
    assert spec["syncPolicy"]["retry"]["limit"] > 0
    meta = application["metadata"]
    assert meta["finalizers"] == ["resources-finalizer.argocd.argoproj.io/foreground"]
    assert meta["annotations"]["argocd.argoproj.io/manifest-generate-paths"] == "."

    folder = tenant / layout.workload_dir("kim", "web")
    assert sorted(p.name for p in folder.iterdir()) == [
        "deployment.yaml",
        "ingress.yaml",
        "kustomization.yaml",
        "service.yaml",
    ]
    (dep,) = yamlio.load_all((folder / "deployment.yaml").read_text())
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert dep["spec"]["replicas"] == 2
    uid = cfg.pss_run_as_user
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["priorityClassName"] == layout.TENANT_PRIORITY_CLASS
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }
    # The one writable path: an emptyDir at /tmp.
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["env"] == [{"name": "MODE", "value": "prod"}, {"name": "URL", "value": "a=b"}]
    assert container["resources"]["limits"] == {"cpu": "250m", "memory": "256Mi"}
    (svc,) = yamlio.load_all((folder / "service.yaml").read_text())
    assert svc["spec"]["type"] == "ClusterIP"
    (ing,) = yamlio.load_all((folder / "ingress.yaml").read_text())
    assert ing["spec"]["ingressClassName"] == cfg.ingress_class
    assert ing["spec"]["rules"][0]["host"] == f"web-kim.{cfg.base_domain}"
    # The certificate stays with the ingress controller: no secretName in the tenant namespace.
    assert cfg.tls_secret
    assert ing["spec"]["tls"] == [{"hosts": [f"web-kim.{cfg.base_domain}"]}]
    (kust,) = yamlio.load_all((folder / "kustomization.yaml").read_text())
    assert kust["images"] == [{"name": "ghcr.io/konkuk-kuploy/web", "newTag": "1.2.3"}]


def test_student_repo_app(tenant: Path) -> None:
    url = "https://github.com/konkuk-kuploy/kim-api.git"
    api.app_add(
        tenant, api.AppOptions(student="kim", app="api", repo_url=url, path="k8s", revision="v2")
    )
    (application,) = yamlio.load_all((tenant / layout.application_file("kim", "api")).read_text())
    assert application["spec"]["source"] == {"repoURL": url, "path": "k8s", "targetRevision": "v2"}
    assert not (tenant / layout.workload_dir("kim", "api")).exists()
    (proj,) = yamlio.load_all((tenant / layout.tenant_file("kim", "appproject.yaml")).read_text())
    assert url in proj["spec"]["sourceRepos"]


def test_same_app_again_is_no_op_and_different_is_conflict(tenant: Path) -> None:
    add(tenant)
    assert add(tenant).changed == []
    before = tree_snapshot(tenant)
    with pytest.raises(ConflictError, match="already has an app 'web'"):
        add(tenant, image="ghcr.io/konkuk-kuploy/web:2.0")
    assert tree_snapshot(tenant) == before


def test_app_remove_undoes_add(tenant: Path) -> None:
    before = tree_snapshot(tenant)
    add(tenant)
    api.app_remove(tenant, "kim", "web")
    assert tree_snapshot(tenant) == before
    assert "remove app web of kim" in git(tenant, "log", "-1", "--format=%s")
    with pytest.raises(ConflictError, match="has no app"):
        api.app_remove(tenant, "kim", "web")


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"port": 0}, InvalidInputError, "port 0"),
        ({"port": 70000}, InvalidInputError, "port"),
        ({"size": "huge"}, InvalidInputError, "size 'huge'"),
        ({"replicas": 50}, InvalidInputError, "replicas"),
        ({"replicas": 9, "size": "medium"}, InvalidInputError, "quota"),
        ({"health_path": "healthz"}, InvalidInputError, "health path"),
        ({"image": "bad image"}, InvalidInputError, "image"),
        ({"env": [("1BAD", "x")]}, InvalidInputError, "env variable name"),
        ({"env": [("A", "1"), ("A", "2")]}, InvalidInputError, "given twice"),
        ({"port": None}, UsageError, "needs --image and --port"),
        ({"repo_url": "https://x/y.git"}, UsageError, "cannot be combined"),
    ],
)
def test_bad_app_input(tenant: Path, kw: dict[str, object], exc: type, match: str) -> None:
    before = tree_snapshot(tenant)
    with pytest.raises(exc, match=match):
        add(tenant, **kw)
    assert tree_snapshot(tenant) == before


def test_medium_size_fits_the_default_small_tier_exactly(platform: Path) -> None:
    api.onboard(platform, api.OnboardOptions(student="kim"))
    assert config.load_config(platform).tiers["small"].max["cpu"] == "1"
    add(platform, size="medium")  # 1 cpu / 1Gi: at the max, not above it


@pytest.mark.parametrize(
    ("line", "smaller", "words"),
    [
        ("cpu: '1'", "cpu: 500m", "size 'medium' (cpu limit 1) exceeds tier 'small' max 500m"),
        (
            "memory: 1Gi",
            "memory: 512Mi",
            "size 'medium' (memory limit 1Gi) exceeds tier 'small' max 512Mi",
        ),
    ],
)
def test_medium_size_exceeds_small_tier_max(
    platform: Path, line: str, smaller: str, words: str
) -> None:
    # A small tier whose containers are capped below the medium size.
    path = platform / layout.CONFIG_FILE
    text = path.read_text()
    small_max = text.index("max:", text.index("small:"))
    at = text.index(line, small_max)
    path.write_text(text[:at] + smaller + text[at + len(line) :])
    git(platform, "commit", "-q", "-am", "smaller small tier")
    assert (
        config.load_config(platform).tiers["small"].max[smaller.split(":")[0]]
        == (smaller.split(": ")[1])
    )
    api.onboard(platform, api.OnboardOptions(student="kim"))
    before = tree_snapshot(platform)
    with pytest.raises(InvalidInputError) as info:
        add(platform, size="medium")
    assert info.value.message == words
    assert info.value.hint == "pick a smaller --size or a larger --tier"
    assert tree_snapshot(platform) == before
    add(platform, size="small")  # 500m / 512Mi fits


def test_bad_app_name_and_unknown_student(tenant: Path) -> None:
    with pytest.raises(InvalidInputError, match="app name"):
        add(tenant, app="Web_1")
    with pytest.raises(ConflictError, match="not onboarded"):
        api.app_add(tenant, api.AppOptions(student="nobody", app="web", image="x:1", port=1))


def test_malformed_env_pair() -> None:
    assert api.parse_env_pair("A=b=c") == ("A", "b=c")
    assert api.parse_env_pair("A=") == ("A", "")
    for bad in ("A", "=b", ""):
        with pytest.raises(InvalidInputError, match="KEY=VALUE"):
            api.parse_env_pair(bad)


def test_app_part_of_a_shared_host_label_has_no_hyphen(platform: Path) -> None:
    # The default host pattern {app}-{student}.{domain}: kim's app "lee-web" would be served at
    # lee-web-kim.<domain>, the host of student "web-kim"'s app "lee": an app name with a '-'
    # is refused, before anything is written.
    api.onboard(platform, api.OnboardOptions(student="kim"))
    before = tree_snapshot(platform)
    with pytest.raises(InvalidInputError, match="has a '-'.*'leeweb'"):
        api.app_add(
            platform,
            api.AppOptions(
                student="kim", app="lee-web", image="ghcr.io/konkuk-kuploy/w:1", port=80
            ),
        )
    assert tree_snapshot(platform) == before


def test_application_name_collision_across_tenants(platform: Path) -> None:
    # With a host pattern that keeps the app in its own label, "lee-web" is a valid app name,
    # and the Application names kim-lee-web would collide.
    cfg_file = platform / "kuploy.yaml"
    text = cfg_file.read_text().replace("'{app}-{student}.{domain}'", "'{app}.{student}.{domain}'")
    cfg_file.write_text(text.replace("issuer: ca", "issuer: none"))
    git(platform, "commit", "-qam", "two-label hosts")
    api.onboard(platform, api.OnboardOptions(student="kim"))
    api.onboard(platform, api.OnboardOptions(student="kim-lee"))
    api.app_add(
        platform,
        api.AppOptions(student="kim-lee", app="web", image="ghcr.io/konkuk-kuploy/w:1", port=80),
    )
    before = tree_snapshot(platform)
    with pytest.raises(ConflictError, match="Application 'kim-lee-web'"):
        api.app_add(
            platform,
            api.AppOptions(
                student="kim", app="lee-web", image="ghcr.io/konkuk-kuploy/w:1", port=80
            ),
        )
    assert tree_snapshot(platform) == before


def test_other_tenants_dirty_files_do_not_block_a_single_tenant_write(tenant: Path) -> None:
    api.onboard(tenant, api.OnboardOptions(student="lee"))
    other = tenant / layout.tenant_file("lee", "namespace.yaml")
    other.write_text(other.read_text() + "# admin is editing lee\n")
    add(tenant)  # kim's write only looks at kim's files
    assert "M " + layout.tenant_file("lee", "namespace.yaml") in git(tenant, "status", "--short")
    assert layout.tenant_file("lee", "namespace.yaml") not in git(
        tenant, "show", "--name-only", "--format=", "HEAD"
    )
    with pytest.raises(ConflictError, match="uncommitted"):
        api.render_all(tenant)  # a whole-repo write still refuses


@pytest.mark.parametrize(
    "image", ["ghcr.io/../x:1", "ghcr.io//x:1", "ghcr.io/konkuk-kuploy/w@sha256:xyz"]
)
def test_app_add_refuses_a_malformed_image(platform: Path, image: str) -> None:
    api.onboard(platform, api.OnboardOptions(student="kim"))
    before = git(platform, "rev-parse", "HEAD")
    with pytest.raises(InvalidInputError, match="is not an image reference"):
        api.app_add(platform, api.AppOptions(student="kim", app="web", image=image, port=80))
    assert git(platform, "rev-parse", "HEAD") == before


def add_repo(repo: Path, url: str, student: str = "kim", app: str = "api", **kw: object) -> None:
    opts = api.AppOptions(student=student, app=app, repo_url=url, **kw)  # type: ignore[arg-type]
    api.app_add(repo, opts)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("https://github.com/konkuk-kuploy/*", "does not name one repository"),
        ("!https://github.com/konkuk-kuploy/kim-api", "must be a plain https://"),
        ("file:///etc", "must be a plain https://"),
        ("http://github.com/konkuk-kuploy/kim-api", "must be a plain https://"),
        ("https://github.com:8443/konkuk-kuploy/kim-api", "must be a plain https://"),
        ("https://github.com/konkuk-kuploy/kim-api?ref=x", "must be a plain https://"),
        ("https://gitlab.com/konkuk-kuploy/kim-api", "not on the platform's git host github.com"),
        ("https://github.com/someone-else/kim-api", "outside the platform's organisation"),
        ("git@github.com:someone-else/kim-api.git", "outside the platform's organisation"),
        ("https://github.com/konkuk-kuploy/kim-api/tree/main", "does not name one repository"),
        ("https://github.com/konkuk-kuploy/..", "does not name one repository"),
        ("https://github.com/konkuk-kuploy", "does not name one repository"),
        ("kim-api", "must be a plain https://"),
    ],
)
def test_repo_urls_outside_the_grammar_are_refused(tenant: Path, url: str, match: str) -> None:
    before = tree_snapshot(tenant)
    with pytest.raises(InvalidInputError, match=match):
        add_repo(tenant, url)
    assert tree_snapshot(tenant) == before


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://ghp_secret123@github.com/konkuk-kuploy/kim-api.git", "https://***@github.com/"),
        ("https://u:ghp_secret123@github.com/konkuk-kuploy/kim-api", "https://***@github.com/"),
        ("https://github.com/konkuk-kuploy/x?access_token=ghp_secret123", "konkuk-kuploy/x?***"),
        ("https://github.com/konkuk-kuploy/x#ghp_secret123", "konkuk-kuploy/x#***"),
    ],
)
def test_a_token_in_a_repo_url_is_refused_and_never_shown(
    tenant: Path, url: str, shown: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        add_repo(tenant, url)
    assert "ghp_secret123" not in str(info.value) and shown in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/konkuk-kuploy/kim-api",
        "https://github.com/Konkuk-Kuploy/kim-api.git",
        "git@github.com:konkuk-kuploy/kim-api.git",
        "ssh://git@github.com/konkuk-kuploy/kim-api.git",
    ],
)
def test_repo_urls_of_the_grammar_are_taken(tenant: Path, url: str) -> None:
    add_repo(tenant, url)
    assert "add app api for kim (repo)" in git(tenant, "log", "-1", "--format=%s")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"path": "/etc"}, "path '/etc' must be a relative folder"),
        ({"path": "deploy/../../x"}, "must be a relative folder"),
        ({"revision": "--upload-pack=x"}, "is not a branch, tag or commit"),
        ({"revision": "main..dev"}, "is not a branch, tag or commit"),
        ({"revision": ""}, "is not a branch, tag or commit"),
    ],
)
def test_repo_path_and_revision_grammar(tenant: Path, kw: dict[str, str], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        add_repo(tenant, "https://github.com/konkuk-kuploy/kim-api.git", **kw)


def test_the_git_host_of_an_enterprise_server_is_its_api_host(platform: Path) -> None:
    path = platform / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["github"]["api_url"] = "https://git.konkuk.ac.kr/api/v3"
    path.write_text(yamlio.dump(data))
    git(platform, "commit", "-qam", "GitHub Enterprise Server")
    api.onboard(platform, api.OnboardOptions(student="kim"))
    add_repo(platform, "https://git.konkuk.ac.kr/konkuk-kuploy/kim-api.git")
    with pytest.raises(InvalidInputError, match="not on the platform's git host git.konkuk.ac.kr"):
        add_repo(platform, "https://github.com/konkuk-kuploy/kim-web.git", app="web")


def test_another_students_repo_needs_the_admin_to_say_so(tenant: Path) -> None:
    api.onboard(tenant, api.OnboardOptions(student="lee"))
    api.onboard(tenant, api.OnboardOptions(student="kim-lee"))
    before = tree_snapshot(tenant)
    # Named for another student by `github setup`'s pattern ({student}-{app}).
    with pytest.raises(InvalidInputError, match="named for student 'lee', not 'kim'") as info:
        add_repo(tenant, "https://github.com/konkuk-kuploy/lee-web.git")
    assert "--other-students-repo" in info.value.hint
    # The longest student name wins: kim-lee-web is kim-lee's, not kim's app "lee-web".
    with pytest.raises(InvalidInputError, match="named for student 'kim-lee'"):
        add_repo(tenant, "https://github.com/konkuk-kuploy/kim-lee-web.git")
    assert tree_snapshot(tenant) == before
    # Already an app of another tenant, whatever its name.
    add_repo(tenant, "https://github.com/konkuk-kuploy/team-7.git", student="lee", app="team")
    with pytest.raises(InvalidInputError, match="is an app of student 'lee', not 'kim'"):
        add_repo(tenant, "git@github.com:Konkuk-Kuploy/team-7.git")
    # Said on purpose: shared.
    add_repo(tenant, "https://github.com/konkuk-kuploy/team-7.git", other_students_repo=True)
    add_repo(tenant, "https://github.com/konkuk-kuploy/kim-site.git", app="site")
    assert "add app site for kim" in git(tenant, "log", "-1", "--format=%s")
