"""github setup / teardown: real PyGithub against the spec-checking fake GitHub, real git."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import argocd_double
import pytest
from argocd_double import FakeArgoCD
from github import Auth
from helpers import FakeClock, commit_count, git, tree_snapshot
from providers.fake_github import FakeGitHub

from kuploy_gitops import api, config, layout, tenant_spec, yamlio
from kuploy_gitops.errors import (
    ArgoCDError,
    ConfigError,
    ConflictError,
    CredentialsError,
    InvalidInputError,
    ProviderError,
)
from kuploy_gitops.github import bulk as github_bulk
from kuploy_gitops.github import ops as github_ops
from kuploy_gitops.github import scaffold, teardown
from kuploy_gitops.github.ops import SetupOptions
from kuploy_gitops.github.provider import RepoInfo
from kuploy_gitops.github.pygithub import GitHubProvider, RetryPolicy
from kuploy_gitops.github.teardown import TeardownOptions
from kuploy_gitops.validate import engine

ORG = "konkuk-kuploy"
TOKEN = "ghp_opsTestToken0123456789abcdef"
REPO = f"{ORG}/kim-minji-web"
SCAFFOLD = {
    ".github/workflows/kuploy-deploy.yml",
    ".kuploy/kuploy.yaml",
    ".kuploy/tenants/kim-minji.yaml",
    "KUPLOY.md",
    "deploy/deployment.yaml",
    "deploy/ingress.yaml",
    "deploy/kustomization.yaml",
    "deploy/service.yaml",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock, tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(ORG) as server:
        server.now = clock.time
        server.add_token(TOKEN)
        for login in ("minji-k", "jisoo-p", "dohyun-l"):
            server.add_user(login)
        yield server
    assert server.violations == []
    # Every test case: each deploy/ left in a student repo passes `validate --student`.
    for name, repo in server.repos.items():
        if not repo.refs or repo.is_template:
            continue
        files = server.files(name)
        specs = [p for p in files if p.startswith(f"{layout.STUDENT_RULES_DIR}/tenants/")]
        if "deploy/kustomization.yaml" in files and specs:
            student = Path(specs[0]).stem
            assert_deploy_valid(files, tmp_path / "final", student=student)


@pytest.fixture(autouse=True)
def argocd(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArgoCD]:
    """Argo CD (the swagger-checking double) for every setup and teardown here.

    Its repo-server connects only with a key the fake GitHub holds as a read-only deploy key.
    """
    server = argocd_double.start(fake)
    monkeypatch.setattr(
        "kuploy_gitops.github.deploykey.connect", lambda repo, env: argocd_double.client(server)
    )
    yield server
    assert server.violations == []


@pytest.fixture
def gh(fake: FakeGitHub, clock: FakeClock) -> Iterator[GitHubProvider]:
    provider = GitHubProvider(
        Auth.Token(TOKEN),
        base_url=fake.base_url,
        throttle=False,
        secrets=(TOKEN,),
        retry=RetryPolicy(clock=clock.time, sleep=clock.sleep, max_retries=3, max_wait=600),
    )
    yield provider
    provider.close()


def set_github(repo: Path, **keys: Any) -> None:
    """Edit kuploy.yaml's github: section and commit (as an admin would)."""
    path = repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["github"].update(keys)
    path.write_text(yamlio.dump(data))
    git(repo, "commit", "-qam", "admin: github settings")


@pytest.fixture
def platform_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    api.onboard(repo, api.OnboardOptions(student="kim-minji", github="minji-k"))
    return repo


def run_setup(
    platform_repo: Path, gh: GitHubProvider, clock: FakeClock, student: str = "kim-minji", **kw: Any
) -> github_ops.SetupResult:
    return github_ops.setup(
        platform_repo,
        SetupOptions(student=student, **kw),
        provider=gh,
        environ={},
        sleep=clock.sleep,
    )


def assert_deploy_valid(
    files: dict[str, str],
    tmp_path: Path,
    student: str = "kim-minji",
    rules_from: Path | None = None,
) -> None:
    """The committed deploy/ passes `validate --student`, against the rules the scaffold ships
    and (when given) against the platform repo itself."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = tmp_path / f"checkout-{student}-{len(list(tmp_path.glob('checkout-*')))}"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for rules in [root / layout.STUDENT_RULES_DIR, *([rules_from] if rules_from else [])]:
        report = engine.validate_student(
            engine.Options(repo=rules, cache_dir=tmp_path / "kcache"),
            student,
            root / layout.STUDENT_DEPLOY_DIR,
        )
        assert [f.to_data() for f in report.findings] == []
        assert report.objects == 3


SSH_URL = f"git@github.com:{REPO}.git"
DEPLOY_BRANCH = layout.STUDENT_DEPLOY_BRANCH
KEY_TITLE = "kuploy Argo CD read-only (konkuk-lab)"


def assert_key_registered(fake: FakeGitHub, argocd: FakeArgoCD, project: str = "kim-minji") -> str:
    """One read-only deploy key of ours, whose private half only Argo CD holds for the SSH URL,
    scoped to the student's AppProject; returns the private key."""
    keys = [k for k in fake.repo(REPO).keys.values() if k["title"] == KEY_TITLE]
    assert len(keys) == 1 and keys[0]["read_only"] is True
    (stored,) = argocd.repositories.values()
    assert (stored["repo"], stored["project"], stored["type"]) == (SSH_URL, project, "git")
    assert argocd_double.public_of(stored["sshPrivateKey"]) == keys[0]["key"]
    assert stored["sshPrivateKey"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    return str(stored["sshPrivateKey"])


def test_fresh_setup(
    platform_repo: Path,
    gh: GitHubProvider,
    fake: FakeGitHub,
    clock: FakeClock,
    tmp_path: Path,
    argocd: FakeArgoCD,
) -> None:
    before = commit_count(platform_repo)
    result = run_setup(platform_repo, gh, clock)
    assert [(s.name, s.status) for s in result.steps] == [
        ("repo", "created"),
        ("scaffold", "created"),
        ("collaborator", "created"),
        ("webhook", "skipped"),
        ("deploy key", "created"),
        ("application", "created"),
    ]
    # Argo CD reads the repo with its own read-only key, usable by this tenant's project only.
    private_key = assert_key_registered(fake, argocd)
    assert private_key not in str(result.to_data())
    repo = fake.repo(REPO)
    assert repo.private and not repo.archived
    # The scaffold is ONE commit on top of GitHub's initial commit.
    assert fake.history(REPO) == [
        "kuploy: scaffold web for kim-minji\n\ndeploy/ (Deployment, "
        "Service, Ingress), the kuploy-deploy workflow, KUPLOY.md and "
        "the platform rules.",
        "Initial commit",
    ]
    files = fake.files(REPO)
    assert set(files) >= SCAFFOLD
    # Write access to this repo only: an invitation with write, no team grants.
    assert repo.invitations and list(repo.invitations.values()) == [("minji-k", "write")]
    assert fake.teams == {}
    # Private repo, default config: the image is a public package, pulled without a secret.
    assert "imagePullSecrets" not in files["deploy/deployment.yaml"]
    assert result.pull_secret_command == ""
    # The Application in the platform repo points at the student's deploy/.
    assert commit_count(platform_repo) == before + 1
    spec = tenant_spec.read_spec(platform_repo, "kim-minji")
    assert spec is not None
    app = spec.app("web")
    assert app is not None
    # The SSH URL: the form the deploy key opens (an https URL would need another credential).
    assert (app.mode, app.repo, app.path, app.revision) == (
        "repo",
        SSH_URL,
        "deploy",
        layout.STUDENT_DEPLOY_BRANCH,
    )
    application = yamlio.load(
        (platform_repo / layout.application_file("kim-minji", "web")).read_text()
    )
    assert application["spec"]["source"]["repoURL"] == app.repo
    # It deploys what the workflow pushes to the deploy branch, never the student's main.
    (step,) = [s for s in result.steps if s.name == "application"]
    assert step.detail.endswith(f"(tracks {layout.STUDENT_DEPLOY_BRANCH})")
    assert application["spec"]["source"]["targetRevision"] == layout.STUDENT_DEPLOY_BRANCH
    project = yamlio.load(
        (platform_repo / layout.tenant_file("kim-minji", "appproject.yaml")).read_text()
    )
    assert SSH_URL in project["spec"]["sourceRepos"]
    assert "kim-minji-web.git" in files[".kuploy/tenants/kim-minji.yaml"]
    assert SSH_URL in files[".kuploy/tenants/kim-minji.yaml"]
    assert not git(platform_repo, "status", "--porcelain")
    assert_deploy_valid(files, tmp_path, rules_from=platform_repo)
    # No secret anywhere in what was committed, here or in the platform repo.
    assert all(TOKEN not in text and private_key not in text for text in files.values())
    secret_line = private_key.splitlines()[3]  # key material, not the common header
    found = subprocess.run(["git", "-C", str(platform_repo), "grep", "-q", secret_line, "HEAD"])
    assert found.returncode == 1  # 1: no match


def test_rerun_changes_nothing(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    run_setup(platform_repo, gh, clock)
    state, commits, writes = fake.snapshot(), commit_count(platform_repo), len(fake.writes())
    again = run_setup(platform_repo, gh, clock)
    assert not again.changed
    assert {s.status for s in again.steps} <= {"ok", "skipped"}
    assert fake.snapshot() == state
    assert len(fake.writes()) == writes  # not one write request
    assert commit_count(platform_repo) == commits


# Each mutating request of a setup (GitHub's and the platform repo's commit).
FAILURE_POINTS = [
    ("POST", r"/orgs/[^/]+/repos$"),
    ("GET", r"/git/ref/heads/main$"),
    ("POST", r"/git/trees$"),
    ("POST", r"/git/commits$"),
    ("PATCH", r"/git/refs/heads/main$"),
    ("GET", r"/invitations$"),
    ("PUT", r"/collaborators/minji-k$"),
    ("POST", r"/hooks$"),
    ("POST", r"/keys$"),
]


@pytest.mark.parametrize(
    ("method", "pattern", "status"),
    [(m, p, 500 if i % 2 else 403) for i, (m, p) in enumerate(FAILURE_POINTS)],
)
def test_resume_after_a_failure_at_each_step(
    platform_repo: Path,
    gh: GitHubProvider,
    fake: FakeGitHub,
    clock: FakeClock,
    tmp_path: Path,
    method: str,
    pattern: str,
    status: int,
    argocd: FakeArgoCD,
) -> None:
    set_github(platform_repo, webhook=True)
    env = {github_ops.WEBHOOK_SECRET_ENV: "whsecret"}
    fake.fail(method, pattern, status, message="Something went wrong")
    with pytest.raises(ProviderError) as info:
        github_ops.setup(
            platform_repo,
            SetupOptions(student="kim-minji"),
            provider=gh,
            environ=env,
            sleep=clock.sleep,
        )
    assert info.value.status == status
    assert f"{status} Something went wrong" in str(info.value)
    result = github_ops.setup(
        platform_repo,
        SetupOptions(student="kim-minji"),
        provider=gh,
        environ=env,
        sleep=clock.sleep,
    )
    assert result.changed
    _assert_complete(fake, platform_repo, tmp_path, webhook=True)
    assert_key_registered(fake, argocd)
    # And a third run is a no-op.
    state = fake.snapshot()
    third = github_ops.setup(
        platform_repo,
        SetupOptions(student="kim-minji"),
        provider=gh,
        environ=env,
        sleep=clock.sleep,
    )
    assert not third.changed and fake.snapshot() == state


def _assert_complete(
    fake: FakeGitHub, platform_repo: Path, tmp_path: Path, *, webhook: bool
) -> None:
    repo = fake.repo(REPO)
    assert len(fake.history(REPO)) == 2  # initial + exactly one scaffold commit
    assert set(fake.files(REPO)) >= SCAFFOLD
    assert list(repo.invitations.values()) == [("minji-k", "write")]
    hooks = list(repo.hooks.values())
    if webhook:
        assert len(hooks) == 1
        assert hooks[0]["config"]["url"] == "https://argocd.apps.konkuk.example/api/webhook"
        assert hooks[0]["config"]["secret"] == "whsecret"
        assert hooks[0]["events"] == ["push"] and hooks[0]["active"]
    else:
        assert hooks == []
    spec = tenant_spec.read_spec(platform_repo, "kim-minji")
    assert spec is not None and spec.app("web") is not None
    assert (platform_repo / layout.application_file("kim-minji", "web")).is_file()


def test_resume_after_the_platform_commit_failed(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    spec_file = platform_repo / layout.tenant_spec("kim-minji")
    original = spec_file.read_text()
    spec_file.write_text(original + "# local edit\n")  # a dirty owned file blocks the commit
    with pytest.raises(ConflictError, match="uncommitted changes"):
        run_setup(platform_repo, gh, clock)
    spec_file.write_text(original)
    result = run_setup(platform_repo, gh, clock)
    assert [(s.name, s.status) for s in result.steps if s.changed] == [("application", "created")]
    _assert_complete(fake, platform_repo, tmp_path, webhook=False)


def test_rate_limited_after_creating_the_repo_then_rerun_finishes(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    # Beyond the bounded wait (600 s): the run stops; a re-run finishes the job.
    fake.fail(
        "POST",
        r"/git/trees$",
        403,
        message="API rate limit exceeded for user ID 1.",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 3000)},
    )
    with pytest.raises(ProviderError, match="rate limited"):
        run_setup(platform_repo, gh, clock)
    assert fake.repo(REPO) and len(fake.history(REPO)) == 1
    result = run_setup(platform_repo, gh, clock)
    assert [s.status for s in result.steps][:2] == ["ok", "created"]
    _assert_complete(fake, platform_repo, tmp_path, webhook=False)


def test_rate_limits_within_bounds_are_waited_out(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    fake.rate_limit("POST", r"/orgs/[^/]+/repos$", kind="primary")
    fake.rate_limit("POST", r"/git/commits$", kind="secondary")
    fake.rate_limit("PUT", r"/collaborators/", kind="429")
    result = run_setup(platform_repo, gh, clock)
    assert result.changed
    assert clock.sleeps == [43.0, 30.0, 7.0]
    _assert_complete(fake, platform_repo, tmp_path, webhook=False)


def test_template_repo(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    fake.add_repo(
        f"{ORG}/starter-node",
        {
            "Dockerfile": 'FROM node:22-alpine\nUSER 10001\nCOPY . .\nCMD ["node", "app.js"]\n',
            "app.js": "require('http').createServer((q, s) => s.end('hi')).listen(8080)\n",
            "KUPLOY.md": "the template's own guide\n",
        },
        is_template=True,
    )
    fake.generate_delay = 2  # GitHub fills a generated repo asynchronously
    set_github(platform_repo, template_repo=f"{ORG}/starter-node")
    result = run_setup(platform_repo, gh, clock)
    assert result.steps[0].detail.endswith(f"(from template {ORG}/starter-node, private)")
    assert clock.sleeps == [github_ops.BRANCH_WAIT_SECONDS] * 2
    files = fake.files(REPO)
    assert {"Dockerfile", "app.js"} <= set(files)
    # A file the template brings is the template's (never overwritten); the rest is added.
    assert files["KUPLOY.md"] == "the template's own guide\n"
    assert SCAFFOLD - {"KUPLOY.md"} <= set(files)
    assert len(fake.history(REPO)) == 2


def test_template_that_never_fills_is_reported(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.add_repo(f"{ORG}/starter", {"Dockerfile": "FROM scratch\n"}, is_template=True)
    fake.generate_delay = 100
    set_github(platform_repo, template_repo=f"{ORG}/starter")
    with pytest.raises(ProviderError, match="no commit on main yet"):
        run_setup(platform_repo, gh, clock)
    assert len(clock.sleeps) == github_ops.BRANCH_WAIT_TRIES - 1
    fake.repo(REPO).empty_reads = 0
    assert run_setup(platform_repo, gh, clock).changed  # the re-run finishes


def test_private_repo_with_a_per_tenant_pull_secret(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    set_github(platform_repo, pull_secret="my-pull")
    result = run_setup(platform_repo, gh, clock)
    files = fake.files(REPO)
    assert "- name: my-pull" in files["deploy/deployment.yaml"]
    assert "the secret `my-pull`" in files["KUPLOY.md"]
    # The command creates it in this tenant's namespace only, from the student's own token.
    assert result.pull_secret_command.startswith(
        "kubectl -n kim-minji create secret docker-registry my-pull --docker-server=ghcr.io "
        "--docker-username=<STUDENT_GITHUB_LOGIN> "
    )
    assert TOKEN not in result.pull_secret_command


def test_public_repo_has_no_pull_secret(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    set_github(platform_repo, private=False, pull_secret="my-pull")
    result = run_setup(platform_repo, gh, clock)
    assert not fake.repo(REPO).private
    assert result.pull_secret_command == ""
    files = fake.files(REPO)
    assert "imagePullSecrets" not in files["deploy/deployment.yaml"]
    assert "Private images" not in files["KUPLOY.md"]


def test_rerun_repairs_drift(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    set_github(platform_repo, webhook=True)
    env = {github_ops.WEBHOOK_SECRET_ENV: "whsecret"}
    github_ops.setup(
        platform_repo,
        SetupOptions(student="kim-minji"),
        provider=gh,
        environ=env,
        sleep=clock.sleep,
    )
    repo = fake.repo(REPO)
    # Someone made it public, archived it, lowered the student to read, broke the hook,
    # deleted a scaffold file, and the student edited deploy/ (which must be kept).
    repo.private, repo.archived = False, True
    repo.invitations.clear()
    repo.collaborators["minji-k"] = "read"
    (hook,) = repo.hooks.values()
    hook["active"], hook["events"] = False, ["push", "pull_request"]
    files = fake.files(REPO)
    edited = files["deploy/deployment.yaml"].replace("replicas: 1", "replicas: 2")
    tree = {p: t for p, t in files.items() if p != layout.STUDENT_WORKFLOW_FILE}
    tree["deploy/deployment.yaml"] = edited
    repo.refs["main"] = fake._commit_files({}, tree, [repo.refs["main"]], "student edits")
    result = github_ops.setup(
        platform_repo,
        SetupOptions(student="kim-minji"),
        provider=gh,
        environ=env,
        sleep=clock.sleep,
    )
    assert {s.name: s.status for s in result.steps} == {
        "repo": "repaired",
        "scaffold": "repaired",
        "collaborator": "repaired",
        "webhook": "repaired",
        "deploy key": "ok",
        "application": "ok",
    }
    assert repo.private and not repo.archived
    assert repo.collaborators["minji-k"] == "write"
    assert hook["active"] and hook["events"] == ["push"]
    after = fake.files(REPO)
    assert layout.STUDENT_WORKFLOW_FILE in after
    assert after["deploy/deployment.yaml"] == edited  # the student's change stays
    assert fake.history(REPO)[0].startswith("kuploy: restore scaffold files of web")


def test_rules_are_kept_current(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    run_setup(platform_repo, gh, clock)
    path = platform_repo / layout.CONFIG_FILE
    path.write_text(path.read_text().replace("requests.cpu: '1'", "requests.cpu: '3'"))
    git(platform_repo, "commit", "-qam", "admin: more cpu")
    result = run_setup(platform_repo, gh, clock)
    steps = {s.name: s.status for s in result.steps}
    assert steps["scaffold"] == "repaired" and steps["collaborator"] == "ok"
    assert fake.history(REPO)[0] == "kuploy: restore scaffold files of web\n\n- .kuploy/kuploy.yaml"
    rules = config.parse_config(yamlio.load(fake.files(REPO)[".kuploy/kuploy.yaml"]))
    assert rules.tiers["small"].quota["requests.cpu"] == "3"


def test_org_member_becomes_a_collaborator_directly(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.add_user("minji-k", member_of=ORG)
    result = run_setup(platform_repo, gh, clock)
    assert fake.repo(REPO).collaborators == {"minji-k": "write"}
    assert not fake.repo(REPO).invitations
    assert ("collaborator", "created") in [(s.name, s.status) for s in result.steps]


def test_course_team(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.add_team("cs101-2026")
    set_github(platform_repo, course_team="cs101-2026")
    run_setup(platform_repo, gh, clock)
    assert fake.teams[(ORG, "cs101-2026")] == {"minji-k": "pending"}


def test_webhook_needs_its_secret_before_anything_happens(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    set_github(platform_repo, webhook=True)
    with pytest.raises(ConfigError, match=github_ops.WEBHOOK_SECRET_ENV):
        run_setup(platform_repo, gh, clock)
    assert fake.log == []


def test_unknown_or_missing_github_login(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    api.onboard(platform_repo, api.OnboardOptions(student="no-login"))
    with pytest.raises(InvalidInputError, match="no GitHub login"):
        run_setup(platform_repo, gh, clock, student="no-login")
    api.onboard(platform_repo, api.OnboardOptions(student="ghost", github="ghost-user"))
    with pytest.raises(InvalidInputError, match="'ghost-user'.*does not exist"):
        run_setup(platform_repo, gh, clock, student="ghost")
    assert fake.repos == {} and fake.writes() == []
    with pytest.raises(ConflictError, match="not onboarded"):
        run_setup(platform_repo, gh, clock, student="nobody")


def test_bad_app_options_fail_before_github(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    with pytest.raises(InvalidInputError, match="app name 'Web!'"):
        run_setup(platform_repo, gh, clock, app="Web!")
    with pytest.raises(InvalidInputError, match="port 0"):
        run_setup(platform_repo, gh, clock, port=0)
    assert fake.log == []


def test_other_app_name_gets_its_own_repo(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    run_setup(platform_repo, gh, clock, app="api", port=3000, health_path="/healthz")
    files = fake.files(f"{ORG}/kim-minji-api")
    assert "containerPort: 3000" in files["deploy/deployment.yaml"]
    assert "path: /healthz" in files["deploy/deployment.yaml"]


def test_bulk_roster(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student_id,github_username,email,name\n"
        "lee-jisoo,jisoo-p,j@example.ac.kr,Jisoo\n"
        "park-dohyun,dohyun-l,d@example.ac.kr,Dohyun\n"
        "choi-ghost,not-on-github,c@example.ac.kr,Ghost\n"
    )
    outcome = api.onboard_roster(platform_repo, roster, api.OnboardOptions(student=""))
    fake.rate_limit("POST", r"/orgs/[^/]+/repos$", kind="secondary")
    seen: list[tuple[int, int]] = []
    students = outcome.students
    bulk = github_bulk.setup_many(
        platform_repo,
        students,
        SetupOptions(student=""),
        provider=gh,
        environ={},
        sleep=clock.sleep,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [r.student for r in bulk.results] == ["lee-jisoo", "park-dohyun"]
    assert [s for s, _ in bulk.failures] == ["choi-ghost"]
    assert "not-on-github" in bulk.failures[0][1]
    assert not bulk.stopped
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert clock.sleeps == [30.0]
    # Every onboarded student with a login, by default (kim-minji included); re-run: no-op
    # for the two done, and the failure repeats.
    bulk = github_bulk.setup_many(
        platform_repo, [], SetupOptions(student=""), provider=gh, environ={}, sleep=clock.sleep
    )
    changed = {r.student: r.changed for r in bulk.results}
    assert changed == {"kim-minji": True, "lee-jisoo": False, "park-dohyun": False}


def test_bulk_stops_when_the_rate_limit_outlasts_the_bounds(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    api.onboard(platform_repo, api.OnboardOptions(student="lee-jisoo", github="jisoo-p"))
    fake.fail(
        "GET",
        r"/users/",
        403,
        message="API rate limit exceeded for user ID 1.",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 3600)},
        times=5,
    )
    bulk = github_bulk.setup_many(
        platform_repo, [], SetupOptions(student=""), provider=gh, environ={}, sleep=clock.sleep
    )
    assert len(bulk.failures) == 1 and bulk.stopped
    assert bulk.results == []


def test_teardown_archives_and_removes_access(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, argocd: FakeArgoCD
) -> None:
    fake.add_user("minji-k", member_of=ORG)
    set_github(platform_repo, webhook=True)
    env = {github_ops.WEBHOOK_SECRET_ENV: "whsecret"}
    github_ops.setup(
        platform_repo,
        SetupOptions(student="kim-minji"),
        provider=gh,
        environ=env,
        sleep=clock.sleep,
    )
    repo = fake.repo(REPO)
    repo.hooks[9999] = {
        "config": {"url": "https://ci.example/hook"},
        "events": ["push"],
        "active": True,
    }  # not ours: stays
    (result,) = teardown.teardown(
        platform_repo, TeardownOptions(student="kim-minji"), provider=gh, environ=env
    )
    assert {s.name: s.status for s in result.steps} == {
        "webhook": "removed",
        "collaborator": "removed",
        "deploy key": "removed",
        "repo": "removed",
    }
    # Argo CD's key is gone from the repo and from Argo CD (the Secret that held it).
    assert repo.keys == {} and argocd.repositories == {}
    assert repo.archived and REPO.lower() in fake.repos  # archived, never deleted
    assert list(repo.hooks) == [9999]
    assert repo.collaborators == {}
    assert not any(m == "DELETE" and p == f"/repos/{REPO}" for m, p in fake.iter_requests())
    writes = len(fake.writes())
    (again,) = teardown.teardown(
        platform_repo, TeardownOptions(student="kim-minji"), provider=gh, environ=env
    )
    assert not again.changed and len(fake.writes()) == writes


def test_teardown_after_offboarding_needs_app_and_login(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    run_setup(platform_repo, gh, clock)
    api.offboard(platform_repo, "kim-minji")
    with pytest.raises(InvalidInputError, match="--app"):
        teardown.teardown(platform_repo, TeardownOptions(student="kim-minji"), provider=gh)
    (result,) = teardown.teardown(
        platform_repo,
        TeardownOptions(student="kim-minji", apps=("web",), github="minji-k"),
        provider=gh,
    )
    assert fake.repo(REPO).archived
    (missing,) = teardown.teardown(
        platform_repo, TeardownOptions(student="kim-minji", apps=("nope",)), provider=gh
    )
    assert missing.steps[0].status == "skipped"


def test_a_platform_managed_app_of_that_name_is_refused_before_github(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    api.app_add(
        platform_repo,
        api.AppOptions(
            student="kim-minji", app="web", image="ghcr.io/konkuk-kuploy/web:1.0", port=8080
        ),
    )
    with pytest.raises(ConflictError, match="platform-managed app 'web'"):
        run_setup(platform_repo, gh, clock)
    assert fake.log == []


def test_webhook_needs_an_argocd_url(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    path = platform_repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["argocd"]["server"] = ""
    data["github"]["webhook"] = True
    path.write_text(yamlio.dump(data))
    git(platform_repo, "commit", "-qam", "no server")
    with pytest.raises(ConfigError, match="argocd.server ''"):
        github_ops.setup(
            platform_repo,
            SetupOptions(student="kim-minji"),
            provider=gh,
            environ={github_ops.WEBHOOK_SECRET_ENV: "s"},
            sleep=clock.sleep,
        )
    assert fake.log == []


def test_an_app_from_another_repo_is_refused_before_github(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    api.app_add(
        platform_repo,
        api.AppOptions(
            student="kim-minji",
            app="web",
            repo_url="https://github.com/konkuk-kuploy/kim-minji-site.git",
        ),
    )
    with pytest.raises(
        ConflictError, match="already deploys from https://github.com/konkuk-kuploy/kim-minji-site"
    ):
        run_setup(platform_repo, gh, clock)
    assert fake.log == []


# -- per-repository credentials ------------------------------------------------------------------


def argocd_creates(argocd: FakeArgoCD) -> int:
    return sum(1 for _, op, _ in argocd.calls if op == "RepositoryService_CreateRepository")


def test_rerun_keeps_a_working_key_and_rotate_replaces_it(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock, argocd: FakeArgoCD
) -> None:
    run_setup(platform_repo, gh, clock)
    first = assert_key_registered(fake, argocd)
    again = run_setup(platform_repo, gh, clock)
    assert {s.name: s.status for s in again.steps}["deploy key"] == "ok"
    assert argocd_creates(argocd) == 1 and assert_key_registered(fake, argocd) == first
    rotated = run_setup(platform_repo, gh, clock, rotate_key=True)
    step = {s.name: s for s in rotated.steps}["deploy key"]
    assert step.status == "repaired" and "rotated" in step.detail
    second = assert_key_registered(fake, argocd)  # exactly one key: the old one was deleted
    assert second != first and argocd_creates(argocd) == 2


@pytest.mark.parametrize("drift", ["argocd-lost-it", "key-deleted-on-github", "key-made-writable"])
def test_a_broken_credential_is_replaced(
    platform_repo: Path,
    gh: GitHubProvider,
    fake: FakeGitHub,
    clock: FakeClock,
    argocd: FakeArgoCD,
    drift: str,
) -> None:
    run_setup(platform_repo, gh, clock)
    first = assert_key_registered(fake, argocd)
    keys = fake.repo(REPO).keys
    if drift == "argocd-lost-it":
        argocd.repositories.clear()
    elif drift == "key-deleted-on-github":
        keys.clear()  # Argo CD now fails to connect
    else:
        next(iter(keys.values()))["read_only"] = False
    result = run_setup(platform_repo, gh, clock)
    assert {s.name: s.status for s in result.steps}["deploy key"] == "repaired"
    assert assert_key_registered(fake, argocd) != first


def test_argocd_refusing_the_key_leaves_no_secret_in_the_error_and_a_rerun_repairs(
    platform_repo: Path,
    gh: GitHubProvider,
    fake: FakeGitHub,
    clock: FakeClock,
    argocd: FakeArgoCD,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []

    def refuse(who: Any, params: Any, query: Any, body: dict[str, Any]) -> Any:
        sent.append(body["sshPrivateKey"])
        # A server that echoes what it was sent: the client must scrub it.
        raise argocd_double.Reply(400, 3, f"bad key {body['sshPrivateKey']}")

    monkeypatch.setattr(argocd, "op_RepositoryService_CreateRepository", refuse)
    with pytest.raises(ArgoCDError) as info:
        run_setup(platform_repo, gh, clock)
    assert sent and info.value.status == 400
    for line in sent[0].splitlines()[1:-1]:
        assert line not in str(info.value) and line not in info.value.server_message
    assert len(fake.repo(REPO).keys) == 1  # on GitHub, useless without its private half
    assert tenant_spec.read_spec(platform_repo, "kim-minji").app("web") is None  # type: ignore[union-attr]
    monkeypatch.undo()
    monkeypatch.setattr(
        "kuploy_gitops.github.deploykey.connect", lambda repo, env: argocd_double.client(argocd)
    )
    result = run_setup(platform_repo, gh, clock)
    assert {s.name: s.status for s in result.steps}["deploy key"] == "repaired"
    assert_key_registered(fake, argocd)


def test_an_https_source_of_the_same_repo_moves_to_the_ssh_url(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    run_setup(platform_repo, gh, clock)
    # What an older kuploy recorded: the https clone URL of the same repo.
    api.app_add(
        platform_repo,
        api.AppOptions(
            student="kim-minji",
            app="web",
            repo_url=f"https://github.com/{REPO}.git",
            path="deploy",
            revision="main",
        ),
        replace_existing=True,
    )
    result = run_setup(platform_repo, gh, clock)
    assert {s.name: s.status for s in result.steps}["application"] == "repaired"
    app = tenant_spec.read_spec(platform_repo, "kim-minji").app("web")  # type: ignore[union-attr]
    assert app is not None and app.repo == SSH_URL


def test_no_argocd_credentials_fail_before_github(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the real connection, from an environment without Argo CD credentials
    with pytest.raises(CredentialsError, match="deploy key is registered in Argo CD: no Argo CD"):
        github_ops.setup(platform_repo, SetupOptions(student="kim-minji"), provider=gh, environ={})
    assert fake.writes() == []


# -- adopting an existing repo ------------------------------------------------------------------


MARKER = "kim-minji-web: deployed by kuploy to konkuk-lab for kim-minji (GitHub minji-k)"


def test_last_terms_archived_repo_is_never_handed_over(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    old = fake.add_repo(REPO, {"README.md": "last term's project\n", "secret-notes.txt": "x\n"})
    old.archived = True
    old.description = "kim-minji-web: deployed by kuploy to konkuk-lab"  # before markers
    platform_before = tree_snapshot(platform_repo)
    with pytest.raises(
        ProviderError, match="already exists and is not marked as kim-minji's"
    ) as info:
        run_setup(platform_repo, gh, clock)
    assert info.value.exit_code == 10 and "and is archived" in info.value.message
    assert MARKER in (info.value.hint or "")
    assert old.archived and old.collaborators == {} and old.keys == {}
    assert fake.writes() == [] and tree_snapshot(platform_repo) == platform_before


def test_a_repo_marked_for_another_login_is_refused(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    other = fake.add_repo(REPO, {"README.md": "hi\n"})
    other.description = MARKER.replace("minji-k", "someone-else")
    with pytest.raises(ProviderError, match="not marked as kim-minji's"):
        run_setup(platform_repo, gh, clock)
    assert fake.writes() == []


def test_a_repo_marked_for_the_student_is_adopted(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    # What a run interrupted right after creating the repo leaves: the marker is set at creation.
    mine = fake.add_repo(REPO, {"README.md": "# kim-minji-web\n"})
    mine.description = MARKER.replace("minji-k", "Minji-K")  # logins are case-insensitive
    result = run_setup(platform_repo, gh, clock)
    steps = {s.name: s.status for s in result.steps}
    assert steps["repo"] == "repaired" and steps["collaborator"] == "created"
    assert [login for login, _ in mine.invitations.values()] == ["minji-k"]
    assert fake.repo(REPO).description == MARKER


def test_created_repos_carry_the_marker_and_recorded_ones_get_it(
    platform_repo: Path, gh: GitHubProvider, fake: FakeGitHub, clock: FakeClock
) -> None:
    run_setup(platform_repo, gh, clock)
    assert fake.repo(REPO).description == MARKER
    # A repo set up before markers existed: the platform repo records it as this app's source.
    fake.repo(REPO).description = "kim-minji-web: deployed by kuploy to konkuk-lab"
    result = run_setup(platform_repo, gh, clock)
    assert (result.steps[0].status, result.steps[0].detail) == (
        "repaired",
        f"{REPO}: marked as kim-minji's",
    )
    assert fake.repo(REPO).description == MARKER


class _Branches:
    """The one provider call the choice of branch makes."""

    def __init__(self, *branches: str) -> None:
        self.branches = branches

    def branch_head(self, owner: str, name: str, branch: str) -> str | None:
        return "c0ffee" if branch in self.branches else None


@pytest.mark.parametrize(
    ("workflow", "branches", "tracked", "want"),
    [
        ("missing", (), "", DEPLOY_BRANCH),  # a fresh repo: the scaffold writes the workflow
        ("scaffold", (), "main", DEPLOY_BRANCH),  # the current workflow, whatever was tracked
        ("other", (), "main", "main"),  # an older kuploy's (tag on main): stay, or deploys stop
        ("other", (DEPLOY_BRANCH,), "main", DEPLOY_BRANCH),  # ... until it deployed there once
        ("other", (), DEPLOY_BRANCH, DEPLOY_BRANCH),  # the student edited it: never back
    ],
)
def test_the_application_follows_the_branch_the_repos_workflow_deploys_to(
    workflow: str, branches: tuple[str, ...], tracked: str, want: str
) -> None:
    path = layout.STUDENT_WORKFLOW_FILE
    files = {path: "name: kuploy-deploy\n"}
    existing = {
        "missing": {},
        "scaffold": {path: scaffold.git_blob_sha(files[path])},
        "other": {path: scaffold.git_blob_sha("name: older\n")},
    }[workflow]
    info = RepoInfo("org", "kim-minji-web", True, False, "main", "", "")
    got = scaffold.deploy_revision(_Branches(*branches), info, files, existing, tracked)  # type: ignore[arg-type]
    assert got == want
