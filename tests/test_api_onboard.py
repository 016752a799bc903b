from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import api, config, layout, tenant_spec, yamlio
from kuploy_gitops.errors import (
    ConflictError,
    InvalidInputError,
    KuployError,
    NotInitialisedError,
    RosterError,
    UsageError,
)
from kuploy_gitops.plan import ApplyResult

FUTURE = (dt.date.today() + dt.timedelta(days=120)).isoformat()


def onboard(repo: Path, student: str, **kw: str) -> ApplyResult:
    return api.onboard(repo, api.OnboardOptions(student=student, **kw))


def load(repo: Path, path: str) -> list[dict]:  # type: ignore[type-arg]
    return yamlio.load_all((repo / path).read_text())


def test_onboard_renders_locked_down_tenant(platform: Path) -> None:
    result = onboard(
        platform,
        "kim-minji",
        github="minji-k",
        name="Kim Minji",
        email="minji@example.ac.kr",
        course="cs101",
        term="2026-fall",
        expires=FUTURE,
    )
    assert "kim-minji" in git(platform, "log", "-1", "--format=%s")
    assert result.commit == git(platform, "rev-parse", "HEAD").strip()
    assert git(platform, "status", "--porcelain") == ""
    cfg = config.load_config(platform)

    (ns,) = load(platform, layout.tenant_file("kim-minji", "namespace.yaml"))
    labels = ns["metadata"]["labels"]
    assert labels["kuploy.io/owner"] == "kim-minji"
    assert labels["kuploy.io/course"] == "cs101"
    assert labels["kuploy.io/term"] == "2026-fall"
    assert labels["kuploy.io/expires"] == FUTURE
    assert labels["app.kubernetes.io/managed-by"] == "kuploy-gitops"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == cfg.pss_version

    (quota,) = load(platform, layout.tenant_file("kim-minji", "resourcequota.yaml"))
    hard = quota["spec"]["hard"]
    for key in (
        "requests.cpu",
        "limits.cpu",
        "requests.memory",
        "limits.memory",
        "pods",
        "services",
        "persistentvolumeclaims",
        "requests.storage",
        "requests.ephemeral-storage",
        "limits.ephemeral-storage",
    ):
        assert key in hard
    assert hard["services.nodeports"] == "0"
    assert hard["services.loadbalancers"] == "0"

    (lr,) = load(platform, layout.tenant_file("kim-minji", "limitrange.yaml"))
    limit = lr["spec"]["limits"][0]
    assert set(limit) >= {"default", "defaultRequest", "max"}

    policies = {
        p["metadata"]["name"]: p["spec"]
        for p in load(platform, layout.tenant_file("kim-minji", "networkpolicies.yaml"))
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # No app yet: nothing is admitted from the ingress controller (netpol.app_ports).
    assert "allow-from-ingress-controller" not in policies
    dns = policies["allow-dns"]["egress"][0]
    assert {p["port"] for p in dns["ports"]} == {53}
    blocked = policies["allow-internet-egress"]["egress"][0]["to"][0]["ipBlock"]["except"]
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        cfg.pod_cidr,
        cfg.service_cidr,
    ):
        assert cidr in blocked

    role, binding = load(platform, layout.tenant_file("kim-minji", "rbac.yaml"))
    assert role["kind"] == "Role" and binding["kind"] == "RoleBinding"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"][0]["name"] == "minji-k"
    granted = {
        (g, r, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert ("", "pods/log", "get") in granted
    assert ("", "pods", "delete") in granted
    assert ("", "pods/portforward", "create") in granted
    assert not any(r == "secrets" for _, r, _ in granted)
    assert not any(v in ("*", "escalate", "bind", "impersonate") for _, _, v in granted)

    (proj,) = load(platform, layout.tenant_file("kim-minji", "appproject.yaml"))
    spec = proj["spec"]
    assert spec["sourceRepos"] == [cfg.repo_url]
    assert spec["destinations"] == [
        {"server": "https://kubernetes.default.svc", "namespace": "kim-minji"}
    ]
    assert spec["clusterResourceWhitelist"] == []
    allowed = {b["kind"] for b in spec["namespaceResourceWhitelist"]}
    assert {"Deployment", "Service", "Ingress", "Secret", "ConfigMap"} <= allowed
    assert not allowed & {"ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding"}
    assert not allowed & {"Endpoints", "EndpointSlice", "IngressRoute", "Middleware"}
    assert spec["destinationServiceAccounts"] == [
        {
            "server": "https://kubernetes.default.svc",
            "namespace": "kim-minji",
            "defaultServiceAccount": "kuploy-deployer",
        }
    ]
    account, deployer_role, deployer_binding = load(
        platform, layout.tenant_file("kim-minji", "deployer.yaml")
    )
    assert account["kind"] == "ServiceAccount" and deployer_role["kind"] == "Role"
    assert deployer_binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kuploy-deployer", "namespace": "kim-minji"}
    ]
    assert spec["orphanedResources"] == {"warn": True}
    (role_p,) = spec["roles"]
    assert role_p["groups"] == ["minji-k"]
    assert all("kim-minji/*" in p for p in role_p["policies"])
    assert {p.split(", ")[3] for p in role_p["policies"]} == {"get", "sync"}
    assert any(", logs, get," in p for p in role_p["policies"])


def test_onboard_same_inputs_is_a_no_op(platform: Path) -> None:
    onboard(platform, "lee-jun", github="junlee", course="cs101")
    before, count = tree_snapshot(platform), commit_count(platform)
    result = onboard(platform, "lee-jun", github="junlee", course="cs101")
    assert result.changed == [] and result.commit == ""
    assert tree_snapshot(platform) == before
    assert commit_count(platform) == count


def test_onboard_changed_inputs_commit_exactly_the_change(platform: Path) -> None:
    onboard(platform, "lee-jun", github="junlee", course="cs101")
    result = onboard(platform, "lee-jun", tier="large")
    changed = git(platform, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == sorted(result.changed)
    assert sorted(changed) == [
        layout.tenant_file("lee-jun", "limitrange.yaml"),
        layout.tenant_file("lee-jun", "namespace.yaml"),
        layout.tenant_file("lee-jun", "resourcequota.yaml"),
        layout.tenant_spec("lee-jun"),
    ]
    spec = tenant_spec.read_spec(platform, "lee-jun")
    assert spec is not None and spec.tier == "large" and spec.course == "cs101"
    assert "update student lee-jun" in git(platform, "log", "-1", "--format=%s")


@pytest.mark.parametrize(
    ("student", "match"),
    [
        ("Kim", "not a DNS label"),
        ("kim_minji", "not a DNS label"),
        ("-kim", "not a DNS label"),
        ("a" * 31, "characters"),
        ("default", "reserved"),
        ("kube-foo", "reserved"),
        ("argocd", "reserved"),
        ("traefik", "reserved"),
        ("cnpg-system", "reserved"),
        ("archive", "reserved"),
        ("", "not a DNS label"),
    ],
)
def test_onboard_refuses_bad_names(platform: Path, student: str, match: str) -> None:
    before, count = tree_snapshot(platform), commit_count(platform)
    with pytest.raises(InvalidInputError, match=match):
        onboard(platform, student)
    assert tree_snapshot(platform) == before and commit_count(platform) == count


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"tier": "gold"}, "tier 'gold' does not exist"),
        ({"expires": "2001-01-01"}, "in the past"),
        ({"expires": "next week"}, "not a date"),
        ({"github": "bad_login!"}, "GitHub login"),
        ({"course": "CS 101"}, "label value"),
        ({"term": "x" * 64}, "label value"),
        ({"email": "nope"}, "not an address"),
    ],
)
def test_onboard_refuses_bad_values(platform: Path, kw: dict[str, str], match: str) -> None:
    before = tree_snapshot(platform)
    with pytest.raises(InvalidInputError, match=match) as info:
        onboard(platform, "kim", **kw)
    assert "\n" not in str(info.value)
    assert tree_snapshot(platform) == before


def test_onboard_needs_initialised_repo(tmp_path: Path) -> None:
    with pytest.raises(NotInitialisedError, match="kuploy-gitops init"):
        onboard(tmp_path, "kim")


def test_onboard_refuses_dirty_owned_files(platform: Path) -> None:
    onboard(platform, "kim")
    path = platform / layout.tenant_file("kim", "namespace.yaml")
    path.write_text(path.read_text() + "# hand edit\n")
    with pytest.raises(ConflictError, match="uncommitted changes in files kuploy owns"):
        onboard(platform, "kim", course="cs101")
    cfg = platform / "kuploy.yaml"
    cfg.write_text(cfg.read_text() + "# hand edit\n")
    with pytest.raises(ConflictError, match="kuploy.yaml"):
        onboard(platform, "lee")  # the config is read by every write
    assert not (platform / layout.tenant_spec("lee")).exists()


def test_unowned_dirty_files_do_not_block(platform: Path) -> None:
    (platform / "notes.txt").write_text("scratch")
    onboard(platform, "kim")
    assert git(platform, "status", "--porcelain").strip() == "?? notes.txt"


def test_onboard_dry_run_shows_diff_and_writes_nothing(platform: Path) -> None:
    before, count = tree_snapshot(platform), commit_count(platform)
    result = api.onboard(platform, api.OnboardOptions(student="kim"), dry_run=True)
    assert layout.tenant_spec("kim") in result.changed
    assert "+kind: ResourceQuota" in result.diff
    assert tree_snapshot(platform) == before and commit_count(platform) == count


def test_every_error_is_a_kuploy_error_with_exit_code(platform: Path) -> None:
    with pytest.raises(KuployError) as info:
        onboard(platform, "kim", tier="nope")
    assert info.value.exit_code == 4


def test_onboard_commits_from_a_linked_worktree(tmp_path: Path) -> None:
    """A worktree's git dir holds no objects: they go to the common dir, as git's own do."""
    main = tmp_path / "platform"
    api.init(api.InitOptions(repo=main))
    worktree = tmp_path / "wt"
    git(main, "worktree", "add", "-q", "-b", "side", str(worktree))
    api.onboard(worktree, api.OnboardOptions(student="kim-minji"))
    assert git(worktree, "log", "-1", "--format=%s").strip().startswith("kuploy: onboard")
    assert git(main, "fsck", "--no-progress").strip() == ""
    assert git(worktree, "status", "--porcelain").strip() == ""


def test_a_github_login_belongs_to_one_tenant(platform: Path) -> None:
    onboard(platform, "kim", github="Kim-GH")
    before = commit_count(platform)
    # GitHub logins are case-insensitive: kim-gh is the same account.
    with pytest.raises(InvalidInputError, match="'kim-gh' already belongs to tenant 'kim'"):
        onboard(platform, "attacker", github="kim-gh")
    assert commit_count(platform) == before
    onboard(platform, "kim", github="Kim-GH", course="cs101")  # the owner itself: fine


def test_a_roster_row_may_not_take_another_tenants_login(platform: Path, tmp_path: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "identifier,github_username,github_id,name\nlee,kim-gh,1,Lee\npark,park-gh,2,Park\n"
    )
    before = commit_count(platform)
    with pytest.raises(RosterError) as info:
        api.onboard_roster(platform, roster, api.OnboardOptions(student=""))
    assert "already belongs to tenant 'kim'" in str(info.value)
    assert commit_count(platform) == before


def test_github_with_a_roster_is_refused(platform: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("identifier,github_username,github_id,name\nlee,,,Lee\npark,,,Park\n")
    with pytest.raises(UsageError, match="--github 'x' names one student's login"):
        api.onboard_command(platform, api.OnboardOptions(student="", github="x"), roster)


def test_changing_a_tenants_login_needs_the_flag_and_is_named(platform: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    before = commit_count(platform)
    with pytest.raises(InvalidInputError, match="'kim' is bound to GitHub login 'kim-gh'"):
        onboard(platform, "kim", github="other-gh")
    assert commit_count(platform) == before
    onboard(platform, "kim", github="KIM-GH")  # the same account, spelt otherwise: no change
    api.onboard(platform, api.OnboardOptions(student="kim", github="new-gh", change_github=True))
    subject = git(platform, "log", "-1", "--format=%s").strip()
    assert subject == "kuploy: update student kim (GitHub login KIM-GH -> new-gh)"


def test_a_roster_rebind_is_refused_unless_asked(platform: Path, tmp_path: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    roster = tmp_path / "roster.csv"
    roster.write_text("identifier,github_username,github_id,name\nkim,new-gh,1,Kim\n")
    with pytest.raises(RosterError, match="would rebind it"):
        api.onboard_roster(platform, roster, api.OnboardOptions(student=""))
    api.onboard_roster(platform, roster, api.OnboardOptions(student="", change_github=True))
    body = git(platform, "log", "-1", "--format=%b")
    assert "- kim (GitHub login kim-gh -> new-gh)" in body


def test_a_roster_never_brings_back_an_offboarded_student(platform: Path, tmp_path: Path) -> None:
    onboard(platform, "kim", github="kim-gh")
    api.offboard(platform, "kim", archive=True)
    roster = tmp_path / "roster.csv"
    roster.write_text("identifier,github_username,github_id,name\nkim,kim-gh,1,Kim\n")
    with pytest.raises(RosterError, match="'kim' was offboarded"):
        api.onboard_roster(platform, roster, api.OnboardOptions(student=""))
    assert not (platform / layout.tenant_spec("kim")).exists()
    onboard(platform, "kim", github="kim-gh")  # by name: back
    assert (platform / layout.tenant_spec("kim")).exists()
