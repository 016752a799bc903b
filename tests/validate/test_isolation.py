"""Tenant isolation (validate/isolation.py): Applications, AppProjects, guards, remote sources."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config, layout, manifests
from kuploy_gitops.tenant_kinds import tenant_kinds
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import isolation
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue

CFG = config.parse_config(config.default_config_data())
PLATFORM = CFG.repo_url
IN = layout.IN_CLUSTER_SERVER


def ctx(**kw: Any) -> TenantContext:
    base: dict[str, Any] = {
        "source_repos": [PLATFORM, "https://github.com/o/kim-api.git"],
        "destinations": [(IN, "kim")],
    }
    base.update(kw)
    return TenantContext(student="kim", namespace="kim", enforce="", warn="", audit="", **base)


def application(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project": "kim",
        "destination": {"server": IN, "namespace": "kim"},
        "source": {"repoURL": PLATFORM, "path": "apps/workloads/kim/web"},
    }
    body.update(spec)
    return {"kind": "Application", "metadata": {"name": "kim-web"}, "spec": body}


def app_issues(obj: dict[str, Any], **kw: Any) -> list[Issue]:
    return isolation.check_application(ctx(**kw), CFG, obj)


def test_a_rendered_application_passes() -> None:
    spec = TenantSpec(student="kim", tier="small")
    app = AppSpec(name="web", mode="managed", image="x:1", port=80)
    obj = manifests.application(CFG, spec, app)
    assert isolation.check_application(ctx(), CFG, obj) == []
    assert app_issues(application()) == []


@pytest.mark.parametrize("project", ["default", "", None])
def test_default_project_is_left_to_its_own_rule(project: str | None) -> None:
    assert app_issues(application(project=project)) == []
    obj = application()
    del obj["spec"]["project"]
    assert app_issues(obj) == []


def test_another_students_project() -> None:
    assert app_issues(application(project="lee")) == [
        Issue(
            F.ISO_PROJECT_MISMATCH,
            "Application of 'kim' uses project 'lee'",
            ("spec", "project"),
        )
    ]


@pytest.mark.parametrize(
    "destination",
    [
        {"server": IN, "namespace": "kim"},
        {"name": "in-cluster", "namespace": "kim"},
        {"server": "https://elsewhere:6443", "namespace": "kim"},  # the project allows it
    ],
)
def test_allowed_destinations(destination: dict[str, str]) -> None:
    extra = [(IN, "kim"), ("https://elsewhere:6443", "kim")]
    assert app_issues(application(destination=destination), destinations=extra) == []


@pytest.mark.parametrize(
    ("destination", "shown"),
    [
        ({"server": IN, "namespace": "lee"}, f"{IN} / lee"),
        ({"server": IN}, f"{IN} / ?"),
        ({"namespace": "kim", "server": "https://evil:6443"}, "https://evil:6443 / kim"),
        ({"name": "prod", "namespace": "kim"}, "prod / kim"),
        ({}, "? / ?"),
    ],
)
def test_refused_destinations(destination: dict[str, str], shown: str) -> None:
    assert app_issues(application(destination=destination)) == [
        Issue(
            F.ISO_DESTINATION,
            f"destination {shown} is not the tenant's namespace 'kim' in-cluster",
            ("spec", "destination"),
        )
    ]


def test_source_repo_must_be_allowed() -> None:
    obj = application(
        source={"repoURL": "https://github.com/o/lee-api.git", "path": "deploy"},
        sources=[
            {"repoURL": "https://github.com/o/kim-api", "path": "deploy"},
            {"repoURL": "https://github.com/x/chart"},
        ],
    )
    assert app_issues(obj) == [
        Issue(
            F.ISO_SOURCE_REPO,
            "source repo 'https://github.com/o/lee-api.git' is not in the AppProject's sourceRepos",
            ("spec", "source", "repoURL"),
        ),
        Issue(
            F.ISO_SOURCE_REPO,
            "source repo 'https://github.com/x/chart' is not in the AppProject's sourceRepos",
            ("spec", "sources", 1, "repoURL"),
        ),
    ]
    no_url = application(source={"path": "x"})
    assert [i.message for i in app_issues(no_url)] == [
        "source repo '' is not in the AppProject's sourceRepos"
    ]


@pytest.mark.parametrize(
    "path",
    [
        "apps/workloads/kim",
        "apps/workloads/kim/",
        "/apps/workloads/kim/web",
        "apps/workloads/kim/web/overlay",
        "apps/workloads/kim/other",
    ],
)
def test_platform_repo_paths_inside_the_students_folder(path: str) -> None:
    assert app_issues(application(source={"repoURL": PLATFORM + "/", "path": path})) == []


@pytest.mark.parametrize(
    "path",
    [
        "apps/workloads/kim-lee/web",
        "apps/workloads",
        "apps/cluster/tenants/kim",
        "",
        ".",
        "apps/workloads/web",  # the folder of a student named like the app
        "Xapps/workloads/kim",
    ],
)
def test_platform_repo_paths_outside_are_refused(path: str) -> None:
    issues = app_issues(application(sources=[{"repoURL": PLATFORM.upper(), "path": path}]))
    shown = path.strip("/")
    assert issues[-1] == Issue(
        F.ISO_SOURCE_PATH,
        f"source path {shown!r} of the platform repo is outside apps/workloads/kim/",
        ("spec", "sources", 0, "path"),
    )


def test_student_repo_paths_are_the_students_business() -> None:
    obj = application(source={"repoURL": "https://github.com/o/kim-api.git", "path": "/"})
    assert app_issues(obj) == []


# -- the AppProject ----------------------------------------------------------------------------


def project(**spec: Any) -> dict[str, Any]:
    spec_ = TenantSpec(student="kim", tier="small")
    obj = manifests.app_project(CFG, spec_)
    obj["spec"].update(spec)
    return obj


ALLOWED = [(k.group, k.kind) for k in tenant_kinds(CFG)]


def project_issues(obj: dict[str, Any], guards: Any = manifests.GUARD_KINDS) -> list[Issue]:
    return isolation.check_project(ctx(), obj, guards, ALLOWED)


def test_the_rendered_project_is_locked_down() -> None:
    assert project_issues(project()) == []


@pytest.mark.parametrize("repos", [["*"], [PLATFORM, " * "]])
def test_project_open_to_every_repo(repos: list[str]) -> None:
    assert project_issues(project(sourceRepos=repos)) == [
        Issue(F.ISO_PROJECT_OPEN, "sourceRepos allows every repo ('*')", ("spec", "sourceRepos"))
    ]


def test_project_globs_short_of_star_are_not_open() -> None:
    assert project_issues(project(sourceRepos=["https://github.com/o/*"])) == []


def test_project_destinations_other_namespaces() -> None:
    dests = [{"server": IN, "namespace": "kim"}, {"server": IN, "namespace": "*"}, "junk"]
    assert project_issues(project(destinations=dests)) == [
        Issue(
            F.ISO_PROJECT_OPEN,
            "destination namespace '*' is not 'kim'",
            ("spec", "destinations", 1),
        ),
        Issue(
            F.ISO_PROJECT_OPEN,
            "destination namespace None is not 'kim'",
            ("spec", "destinations", 2),
        ),
    ]


def test_project_cluster_whitelist() -> None:
    assert project_issues(project(clusterResourceWhitelist=[{"group": "*", "kind": "*"}])) == [
        Issue(
            F.ISO_PROJECT_OPEN,
            "clusterResourceWhitelist is not empty",
            ("spec", "clusterResourceWhitelist"),
        )
    ]


def test_project_whitelist_only_the_tenant_kinds() -> None:
    wl = "namespaceResourceWhitelist"
    path = ("spec", wl)
    assert project_issues(project(namespaceResourceWhitelist=None)) == [
        Issue(F.ISO_PROJECT_OPEN, "no namespaceResourceWhitelist (every kind would sync)", path),
        Issue(
            F.ISO_PROJECT_OPEN,
            "the project lets LimitRange, NetworkPolicy, ResourceQuota, Role, RoleBinding sync",
            path,
        ),
    ]
    # A blacklist of the guards is not enough: everything else would still sync.
    guards = [{"group": g, "kind": k} for g, k in manifests.GUARD_KINDS]
    assert (
        len(
            project_issues(
                project(namespaceResourceWhitelist=None, namespaceResourceBlacklist=guards)
            )
        )
        == 1
    )
    extra = [{"group": "", "kind": "Service"}, {"group": "traefik.io", "kind": "IngressRoute"}]
    assert project_issues(project(namespaceResourceWhitelist=extra)) == [
        Issue(F.ISO_PROJECT_OPEN, f"{wl} allows IngressRoute.traefik.io (not a tenant kind)", path)
    ]
    star = [{"group": "*", "kind": "*"}]
    assert [i.message for i in project_issues(project(namespaceResourceWhitelist=star))] == [
        f"{wl} allows *.* (not a tenant kind)",
        "the project lets LimitRange, NetworkPolicy, ResourceQuota, Role, RoleBinding sync",
    ]
    # only the guards the folder really holds count
    assert len(project_issues(project(namespaceResourceWhitelist=None), guards=[])) == 1
    # an empty whitelist allows nothing (Argo CD's rule): locked, if useless
    assert project_issues(project(namespaceResourceWhitelist=[])) == []


def test_project_syncs_as_the_tenants_deployer() -> None:
    path = ("spec", "destinationServiceAccounts")
    assert project_issues(project(destinationServiceAccounts=None)) == [
        Issue(
            F.ISO_PROJECT_OPEN,
            "no destinationServiceAccounts: syncs would not run as 'kuploy-deployer'",
            path,
        )
    ]
    admin = {"server": IN, "namespace": "kim", "defaultServiceAccount": "argocd:argocd-server"}
    other_ns = {"server": IN, "namespace": "*", "defaultServiceAccount": "kuploy-deployer"}
    ok = {"server": IN, "namespace": "kim", "defaultServiceAccount": "kim:kuploy-deployer"}
    assert project_issues(project(destinationServiceAccounts=[ok, admin, other_ns])) == [
        Issue(
            F.ISO_PROJECT_OPEN,
            "destinationServiceAccounts[1] syncs as 'argocd:argocd-server', not the tenant's "
            "'kuploy-deployer'",
            (*path, 1),
        ),
        Issue(
            F.ISO_PROJECT_OPEN,
            "destinationServiceAccounts[2] syncs as 'kuploy-deployer', not the tenant's "
            "'kuploy-deployer'",
            (*path, 2),
        ),
    ]


def test_broken_project_spec() -> None:
    broken = {"kind": "AppProject", "spec": "junk"}
    assert [i.message for i in isolation.check_project(ctx(), broken, [], ALLOWED)] == [
        "no namespaceResourceWhitelist (every kind would sync)",
        "no destinationServiceAccounts: syncs would not run as 'kuploy-deployer'",
    ]


# -- guard objects -----------------------------------------------------------------------------


def test_guard_objects_stay_in_the_namespace() -> None:
    c = ctx()
    for ns in (None, "", "kim"):
        obj = {"kind": "ResourceQuota", "metadata": {"name": "q", "namespace": ns}}
        assert isolation.check_guard_object(c, obj) == []
    assert isolation.check_guard_object(c, {"kind": "LimitRange"}) == []
    assert isolation.check_guard_object(
        c, {"kind": "Role", "metadata": {"name": "r", "namespace": "kube-system"}}
    ) == [
        Issue(
            F.ISO_NAMESPACE,
            "namespace 'kube-system' is not the tenant's namespace 'kim'",
            ("metadata", "namespace"),
        )
    ]


def test_cluster_scoped_guards() -> None:
    c = ctx()
    assert isolation.check_guard_object(c, {"kind": "Namespace", "metadata": {"name": "x"}}) == []
    assert isolation.check_guard_object(c, {"kind": "ClusterRoleBinding", "metadata": {}}) == [
        Issue(
            F.ISO_CLUSTER_SCOPED, "ClusterRoleBinding in a tenant folder is cluster-wide", ("kind",)
        )
    ]


def test_guard_rolebinding_to_a_clusterrole() -> None:
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "lee"},
        "roleRef": {"kind": "ClusterRole", "name": "admin"},
    }
    assert [i.rule for i in isolation.check_guard_object(ctx(), binding)] == [
        F.ISO_NAMESPACE,
        F.RBAC_BROAD,
    ]


# -- remote sources ----------------------------------------------------------------------------


def test_remote_refs() -> None:
    kustomization = {
        "resources": [
            "deployment.yaml",
            " https://github.com/o/base//deploy?ref=v1 ",
            "../local",
            {"not": "a string"},
        ],
        "bases": ["git@github.com:o/b.git", "ssh://git@host/x.git"],
        "components": ["git::https://gitlab.com/g/c.git", "github.com/o/c", "gitlab.com/x/y"],
        "patches": ["https://github.com/o/ignored"],
    }
    assert isolation.remote_refs(kustomization) == [
        ("https://github.com/o/base//deploy?ref=v1", ("resources", 1)),
        ("git@github.com:o/b.git", ("bases", 0)),
        ("ssh://git@host/x.git", ("bases", 1)),
        ("git::https://gitlab.com/g/c.git", ("components", 0)),
        ("github.com/o/c", ("components", 1)),
        ("gitlab.com/x/y", ("components", 2)),
    ]
    assert isolation.remote_refs({"resources": ["http://x/y", "bitbucket.org/a/b"]}) == [
        ("http://x/y", ("resources", 0)),
        ("bitbucket.org/a/b", ("resources", 1)),
    ]


@pytest.mark.parametrize(
    "ref",
    [
        "https://github.com/org/other-student-web//deploy",
        "http://example.com/x",
        "ssh://git@github.com/org/repo.git",
        "git@github.com:org/repo.git//deploy",
        "git::https://example.com/a/b.git",
        "gh:org/repo//deploy",
        "file:///tmp/elsewhere",
        "GitHub.com/org/repo",
        "example.com/org/repo//deploy",
        "example.com/org/repo.git",
        "git.example.ac.kr/org/repo.git/deploy",
        "../base?ref=v1",
        "deploy?version=2",
    ],
)
def test_remote_forms(ref: str) -> None:
    assert isolation.remote_refs({"bases": [ref]}) == [(ref, ("bases", 0))]


@pytest.mark.parametrize(
    "ref",
    ["deployment.yaml", "../base", "./overlays/prod", "overlays.d/prod", "v1.2/base", "a//b"],
)
def test_local_forms(ref: str) -> None:
    assert isolation.remote_refs({"resources": [ref], "components": [ref]}) == []


@pytest.mark.parametrize(
    ("ref", "repo"),
    [
        ("https://github.com/o/r//deploy?ref=v1", "https://github.com/o/r"),
        ("https://github.com/o/r.git", "https://github.com/o/r"),
        ("https://github.com/o/r/deploy/base", "https://github.com/o/r"),
        ("https://gitlab.com/g/r/sub", "https://gitlab.com/g/r"),
        ("https://bitbucket.org/t/r/x", "https://bitbucket.org/t/r"),
        ("git::https://example.com/a/b.git/sub", "https://example.com/a/b"),
        ("git@github.com:o/r.git", "https://github.com/o/r"),
        ("ssh://git@host.example/x/y.git", "ssh://git@host.example/x/y"),
        ("github.com/o/r", "https://github.com/o/r"),
        ("http://example.com/a/b", "http://example.com/a/b"),
        ("https://github.com/o", "https://github.com/o"),
        ("https://example.com/a/b?ref=v1", "https://example.com/a/b"),
        ("https://example.com/a/b?ref=v1?x=y", "https://example.com/a/b"),
        ("https://example.com/a/b//sub/dir?ref=v1", "https://example.com/a/b"),
        ("https://example.com/group/sub/repo", "https://example.com/group/sub/repo"),
        # the first separator decides, whatever comes after it
        ("https://example.com/a/b//sub//dir", "https://example.com/a/b"),
        ("https://example.com/a/b//x://y", "https://example.com/a/b"),
        ("git@github.com:o/r:x", "https://github.com/o/r:x"),
        ("https://example.com/a/b.git/c.git/d", "https://example.com/a/b"),
    ],
)
def test_remote_repo(ref: str, repo: str) -> None:
    assert isolation.remote_repo(ref) == repo


def test_check_kustomization() -> None:
    c = ctx(source_repos=[PLATFORM, "https://github.com/o/*"])
    data = {
        "resources": ["https://github.com/o/base//x", "https://github.com/evil/base//x"],
        "helmCharts": [
            {"name": "ok", "repo": "https://github.com/o/charts"},
            {"name": "bad", "repo": "https://charts.evil.example"},
            {"name": "local"},
            "junk",
        ],
    }
    # Every remote base is refused, even from a repo the AppProject allows: Argo CD would fetch
    # it with whatever credential matches its URL.
    assert isolation.check_kustomization(c, data) == [
        Issue(
            F.ISO_REMOTE_BASE,
            "remote resources 'https://github.com/o/base//x' (repo https://github.com/o/base) "
            "is refused: list only files and folders of this repo",
            ("resources", 0),
        ),
        Issue(
            F.ISO_REMOTE_BASE,
            "remote resources 'https://github.com/evil/base//x' (repo "
            "https://github.com/evil/base) is refused: list only files and folders of this repo",
            ("resources", 1),
        ),
        Issue(
            F.ISO_HELM_DEPENDENCY,
            "helmCharts 'bad' from 'https://charts.evil.example' is not allowed by the AppProject "
            "of 'kim'",
            ("helmCharts", 1, "repo"),
        ),
    ]


def test_check_chart() -> None:
    c = ctx(source_repos=["https://charts.example/*"])
    data = {
        "dependencies": [
            {"name": "a", "repository": "https://charts.example/stable"},
            {"name": "b", "repository": "file://../b"},
            {"name": "c", "repository": "@bitnami"},
            {"name": "d", "repository": "alias:bitnami"},
            {"name": "e"},
            {"name": "f", "repository": "oci://registry.evil/charts"},
        ]
    }
    assert isolation.check_chart(c, data) == [
        Issue(
            F.ISO_HELM_DEPENDENCY,
            "chart dependency 'f' from 'oci://registry.evil/charts' is not allowed by the "
            "AppProject of 'kim'",
            ("dependencies", 5, "repository"),
        )
    ]
    assert isolation.check_chart(c, {}) == []
