"""Term operations on real git repos: suspend/resume, extend, bulk offboard, restore, expire.

One class of four is built once per module (a template repo) and copied for each test. The
default tier runs the core cases (suspend/resume byte for byte, a bulk offboard and restore,
expire on a fake clock); the slow tier (`.ci/run`) runs the rest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import term_repo
from helpers import commit_count, git, isolated_env, tree_snapshot

from kuploy_gitops import api, config, layout, tenant_spec, yamlio
from kuploy_gitops.errors import (
    ConfigError,
    ConflictError,
    InvalidInputError,
    UsageError,
)
from kuploy_gitops.ops import term
from kuploy_gitops.ops.tenants import list_tenants
from kuploy_gitops.ops.term import Selection

# The class of term_repo, and choi in next term's cs101.
STUDENTS = {**term_repo.STUDENTS, "choi": {"course": "cs101", "term": "2027-1"}}
# The fake clock: dates are compared with this "today", never the machine's.
TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("term")
    with isolated_env(base):
        repo = term_repo.build(base / "platform", STUDENTS)
        cfg = config.load_config(repo)
        api.app_add(
            repo,
            api.AppOptions(
                student="kim", app="web", image="ghcr.io/konkuk-kuploy/web:1", port=8080, replicas=2
            ),
        )
        api.app_add(
            repo,
            api.AppOptions(
                student="kim", app="api", repo_url=f"https://github.com/{cfg.github_org}/kim-api"
            ),
        )
        yield repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return term_repo.copy(template, tmp_path)


def load(repo: Path, path: str) -> object:
    return yamlio.load((repo / path).read_text())


def docs(repo: Path, path: str) -> list[dict]:  # type: ignore[type-arg]
    return yamlio.load_all((repo / path).read_text())  # type: ignore[no-any-return]


def head_message(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%B").strip()


def test_suspend_then_resume_gives_back_the_same_tree(repo: Path) -> None:
    before = tree_snapshot(repo)
    commits = commit_count(repo)
    outcome = term.suspend(repo, Selection(term="2026-2"), today=TODAY)
    assert outcome.students == ["kim", "lee", "park"]
    assert commit_count(repo) == commits + 1
    assert (
        head_message(repo) == "kuploy: suspend 3 student(s) (term 2026-2)\n\n- kim\n- lee\n- park"
    )
    # What the cluster enforces: no pod admitted in the namespace, whatever deploys it.
    quota = load(repo, layout.tenant_file("kim", "resourcequota.yaml"))
    assert quota["spec"]["hard"]["pods"] == "0"  # type: ignore[index]
    ns = load(repo, layout.tenant_file("kim", "namespace.yaml"))
    assert ns["metadata"]["labels"][layout.LABEL_SUSPENDED] == "true"  # type: ignore[index]
    deployment = load(repo, layout.workload_dir("kim", "web") + "/deployment.yaml")
    assert deployment["spec"]["replicas"] == 0  # type: ignore[index]
    # The student's pushes no longer deploy; the managed app still syncs its 0 replicas.
    repo_app = load(repo, layout.application_file("kim", "api"))
    assert "automated" not in repo_app["spec"]["syncPolicy"]  # type: ignore[index]
    managed_app = load(repo, layout.application_file("kim", "web"))
    assert "automated" in managed_app["spec"]["syncPolicy"]  # type: ignore[index]
    # The spec keeps every value; only the flag is new.
    spec = tenant_spec.require_spec(repo, "kim")
    assert spec.suspended and spec.app("web").replicas == 2  # type: ignore[union-attr]
    assert not tenant_spec.require_spec(repo, "choi").suspended
    assert "choi" not in git(repo, "show", "--stat", "--format=", "HEAD")
    term.resume(repo, Selection(students=("kim", "lee", "park")), today=TODAY)
    assert tree_snapshot(repo) == before
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_suspend_twice_changes_nothing_the_second_time_and_list_shows_it(repo: Path) -> None:
    term.suspend(repo, Selection(students=("kim",)), today=TODAY)
    assert head_message(repo) == "kuploy: suspend student kim"
    commits = commit_count(repo)
    outcome = term.suspend(repo, Selection(course="cs101", term="2026-2"), today=TODAY)
    assert outcome.students == ["lee"] and outcome.unchanged == ["kim"]
    outcome = term.suspend(repo, Selection(students=("kim", "lee")), today=TODAY)
    assert outcome.result.changed == [] and outcome.unchanged == ["kim", "lee"]
    assert commit_count(repo) == commits + 1
    rows = {r["student"]: r["status"] for r in list_tenants(repo, today=dt.date(2027, 2, 1))}
    assert rows == {"choi": "active", "kim": "suspended", "lee": "suspended", "park": "expired"}
    # Extending is a date, not a decision to run the apps again.
    term.extend(repo, Selection(students=("kim",)), "2027-06-30", today=TODAY)
    spec = tenant_spec.require_spec(repo, "kim")
    assert spec.suspended and spec.expires == "2027-06-30"


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_selections_that_select_nothing_are_refused(repo: Path) -> None:
    commits = commit_count(repo)
    for sel, error, match in (
        (Selection(), UsageError, "no tenant selected"),
        (Selection(students=("kim",), term="2026-2"), UsageError, "not both"),
        (Selection(term="2031-9"), InvalidInputError, "no tenant matches term 2031-9"),
        (Selection(course="Bad Course"), InvalidInputError, "course"),
        (Selection(students=("nobody",)), ConflictError, "'nobody' is not onboarded"),
    ):
        with pytest.raises(error, match=match):
            term.suspend(repo, sel, today=TODAY)
    assert commit_count(repo) == commits


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_selections(repo: Path) -> None:
    def chosen(sel: Selection, today: dt.date = TODAY) -> list[str]:
        return [s.student for s in term.select(repo, sel, today=today)]

    assert chosen(Selection(course="cs101")) == ["choi", "kim", "lee"]
    assert chosen(Selection(course="cs101", term="2026-2")) == ["kim", "lee"]
    assert chosen(Selection(students=("lee", "kim", "lee"))) == ["kim", "lee"]
    # Expired: past the date (the day itself still counts), suspended or not.
    assert chosen(Selection(expired=True), dt.date(2027, 3, 1)) == ["kim", "park"]
    assert chosen(Selection(expired=True), dt.date(2027, 2, 1)) == ["park"]
    with pytest.raises(InvalidInputError, match="no tenant matches expired"):
        chosen(Selection(expired=True), dt.date(2027, 1, 31))
    term.suspend(repo, Selection(students=("lee",)), today=TODAY)  # suspended, not expired
    assert chosen(Selection(expired=True), dt.date(2027, 2, 1)) == ["park"]


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_extend_sets_the_date_and_refuses_a_past_or_bad_one(repo: Path) -> None:
    outcome = term.extend(repo, Selection(course="cs101"), "2027-08-31", today=TODAY)
    assert outcome.students == ["choi", "kim", "lee"]
    assert head_message(repo).startswith("kuploy: extend until 2027-08-31 3 student(s)")
    ns = load(repo, layout.tenant_file("choi", "namespace.yaml"))
    assert ns["metadata"]["labels"][layout.LABEL_EXPIRES] == "2027-08-31"  # type: ignore[index]
    assert tenant_spec.require_spec(repo, "park").expires == "2027-01-31"
    commits = commit_count(repo)
    with pytest.raises(InvalidInputError, match="expiry date 2026-11-30 is in the past"):
        term.extend(repo, Selection(students=("kim",)), "2026-11-30", today=TODAY)
    with pytest.raises(InvalidInputError, match="'2027-02-30' is not a date"):
        term.extend(repo, Selection(students=("kim",)), "2027-02-30", today=TODAY)
    with pytest.raises(InvalidInputError, match="not YYYY-MM-DD"):
        term.extend(repo, Selection(students=("kim",)), "20270228", today=TODAY)
    assert commit_count(repo) == commits


def test_bulk_offboard_is_one_commit_naming_everyone_and_restore_brings_one_back(
    repo: Path,
) -> None:
    kim_before = {
        p: b for p, b in tree_snapshot(repo).items() if "/kim" in f"/{p}" or p.endswith("/kim-gh")
    }
    assert kim_before
    commits = commit_count(repo)
    outcome = term.offboard_many(repo, ["lee", "kim"], archive=True, scope="course cs101")
    assert outcome.students == ["kim", "lee"]
    assert commit_count(repo) == commits + 1
    assert head_message(repo) == (
        "kuploy: offboard 2 student(s) (course cs101), specs archived\n\n- kim\n- lee"
    )
    for student in ("kim", "lee"):
        assert tenant_spec.read_spec(repo, student) is None
        assert not (repo / layout.tenant_dir(student)).exists()
        assert (repo / layout.archived_spec(student)).is_file()
    assert tenant_spec.read_spec(repo, "choi") is not None
    term.restore(repo, "kim", today=TODAY)
    assert head_message(repo) == "kuploy: restore student kim (from tenants/archive/kim.yaml)"
    after = tree_snapshot(repo)
    assert {p: after.get(p) for p in kim_before} == kim_before
    assert not (repo / layout.archived_spec("kim")).exists()
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_one_student_offboard_keeps_its_message(repo: Path) -> None:
    term.offboard_many(repo, ["park"])
    assert head_message(repo) == "kuploy: offboard student park"
    assert not (repo / layout.archived_spec("park")).exists()


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_restore_refusals_and_a_new_expiry(repo: Path) -> None:
    with pytest.raises(ConflictError, match="onboarded already"):
        term.restore(repo, "kim", today=TODAY)
    term.offboard_many(repo, ["park"])  # not archived
    with pytest.raises(ConflictError, match="no archived spec for 'park'"):
        term.restore(repo, "park", today=TODAY)
    term.offboard_many(repo, ["kim"], archive=True)
    api.onboard(repo, api.OnboardOptions(student="kang", github="kim-gh"))
    commits = commit_count(repo)
    with pytest.raises(InvalidInputError, match="'kim-gh' already belongs to tenant 'kang'"):
        term.restore(repo, "kim", today=TODAY)
    with pytest.raises(InvalidInputError, match="in the past"):
        term.restore(repo, "kim", until="2026-01-01", today=TODAY)
    assert commit_count(repo) == commits
    term.offboard_many(repo, ["kang"])
    term.restore(repo, "kim", until="2027-08-31", today=TODAY)
    assert tenant_spec.require_spec(repo, "kim").expires == "2027-08-31"


def test_expire_suspends_the_expired_in_one_commit_and_warns_ahead(repo: Path) -> None:
    commits = commit_count(repo)
    quiet = term.expire(repo, warn_days=14, today=dt.date(2027, 1, 10))
    assert quiet.suspended == [] and quiet.result.changed == []
    assert [s.student for s in quiet.expiring] == []
    assert commit_count(repo) == commits
    warned = term.expire(repo, warn_days=49, today=dt.date(2027, 1, 10))
    assert [s.student for s in warned.expiring] == ["park", "kim"]  # soonest first
    data = warned.to_data()
    assert data["expiring"][0] == {
        "student": "park",
        "name": "Park J",
        "email": "",
        "github": "park-gh",
        "course": "cs202",
        "term": "2026-2",
        "expires": "2027-01-31",
        "days_left": 21,
    }
    assert data["expiring"][1]["email"] == "kim@u.ac.kr"
    outcome = term.expire(repo, warn_days=14, today=dt.date(2027, 3, 1))
    assert [s.student for s in outcome.suspended] == ["kim", "park"]
    assert [s.student for s in outcome.expiring] == ["lee"]
    assert commit_count(repo) == commits + 1
    assert head_message(repo) == (
        "kuploy: suspend 2 student(s) (expired before 2027-03-01)\n\n- kim\n- park"
    )
    assert tenant_spec.require_spec(repo, "kim").suspended
    assert not tenant_spec.require_spec(repo, "lee").suspended
    again = term.expire(repo, warn_days=14, today=dt.date(2027, 3, 1))
    assert again.suspended == [] and commit_count(repo) == commits + 1
    with pytest.raises(InvalidInputError, match="--warn-days -1"):
        term.expire(repo, warn_days=-1, today=TODAY)


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_dry_runs_write_nothing(repo: Path) -> None:
    before = tree_snapshot(repo)
    commits = commit_count(repo)
    dry = term.suspend(repo, Selection(term="2026-2"), today=TODAY, dry_run=True)
    assert re.search(r"^\+\s+pods: '0'$", dry.result.diff, re.M)
    term.expire(repo, today=dt.date(2027, 3, 1), dry_run=True)
    term.offboard_many(repo, ["kim", "lee"], archive=True, dry_run=True)
    assert tree_snapshot(repo) == before and commit_count(repo) == commits


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_spec_suspended_must_be_a_boolean(repo: Path) -> None:
    path = repo / layout.tenant_spec("kim")
    path.write_text(path.read_text().replace("apps:", "suspended: 'yes'\napps:", 1))
    with pytest.raises(ConfigError, match="suspended.*expected true or false"):
        tenant_spec.read_spec(repo, "kim")


@pytest.mark.slow  # default tier's budget: the core cases run there
def test_a_suspended_tenants_database_hibernates_and_resume_wakes_it(repo: Path) -> None:
    api.db_add(repo, api.DatabaseOptions(student="park"))
    before = tree_snapshot(repo)
    term.suspend(repo, Selection(students=("park",)), today=TODAY)
    cluster, _claim, backup = docs(repo, layout.tenant_file("park", "database-db.yaml"))
    # CloudNativePG's declarative hibernation: the instance pods go, the volumes (data) stay.
    assert cluster["metadata"]["annotations"]["cnpg.io/hibernation"] == "on"
    assert backup["kind"] == "CronJob" and backup["spec"]["suspend"] is True
    term.resume(repo, Selection(students=("park",)), today=TODAY)
    assert tree_snapshot(repo) == before
