from __future__ import annotations

from pathlib import Path

import pytest
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import api, config, layout, yamlio
from kuploy_gitops.errors import ConflictError, InvalidInputError


def test_init_creates_platform_repo_with_first_commit(tmp_path: Path) -> None:
    repo = tmp_path / "p"
    result = api.init(api.InitOptions(repo=repo, domain="apps.lab.example.ac.kr"))
    assert result.commit
    assert commit_count(repo) == 1
    assert git(repo, "status", "--porcelain") == ""
    cfg = config.load_config(repo)
    assert cfg.base_domain == "apps.lab.example.ac.kr"
    assert cfg.default_tier in cfg.tiers
    # New platforms enforce restricted, and rendered workloads run as this non-root id.
    assert (cfg.pss_enforce, cfg.pss_warn, cfg.pss_audit) == ("restricted",) * 3
    assert cfg.pss_run_as_user == config.DEFAULT_RUN_AS_USER
    assert {a.name for a in cfg.addons} == {
        "traefik",
        "metrics-server",
        "cloudnative-pg",
        "metallb",
        "cert-manager",
        "csi-driver-nfs",
        "sealed-secrets",
    }
    assert all(a.version for a in cfg.addons)
    data = yamlio.load((repo / "kuploy.yaml").read_text())
    for key in (
        "cluster",
        "ingress",
        "argocd",
        "repo",
        "github",
        "pod_security",
        "registries",
        "tiers",
        "default_tier",
        "addons",
    ):
        assert key in data
    assert data["ingress"]["tls_secret"]
    assert data["argocd"]["server"].startswith("https://")
    project, root = yamlio.load_all((repo / layout.ROOT_APP_FILE).read_text())
    # One `kubectl apply` of root.yaml works on a fresh Argo CD: the project comes with it.
    assert (
        project["kind"] == "AppProject" and project["metadata"]["name"] == root["spec"]["project"]
    )
    assert root["kind"] == "Application"
    assert "PruneLast=true" not in root["spec"]["syncPolicy"].get("syncOptions", [])
    assert root["spec"]["source"]["path"] == layout.PLATFORM_DIR
    # The platform folder only: every tenant comes through the ApplicationSet.
    assert "directory" not in root["spec"]["source"]
    appset = yamlio.load((repo / layout.platform_file("tenants")).read_text())
    assert appset["kind"] == "ApplicationSet"
    assert appset["spec"]["template"]["spec"]["project"] == layout.TENANTS_PROJECT
    workflow = (repo / layout.PLATFORM_WORKFLOW).read_text()
    assert "kuploy-gitops render --check" in workflow and "kuploy-gitops validate" in workflow
    assert "kuploy-gitops expire" in (repo / layout.EXPIRE_WORKFLOW).read_text()
    admin = yamlio.load((repo / layout.platform_file("project")).read_text())
    assert admin["kind"] == "AppProject"
    traefik = yamlio.load((repo / layout.platform_file("addon-traefik")).read_text())
    assert traefik["spec"]["source"]["chart"] == "traefik"
    assert traefik["spec"]["source"]["targetRevision"] == cfg.addons[0].version
    readme = (repo / "README.md").read_text()
    assert f"kubectl apply -n argocd -f {layout.ROOT_APP_FILE}" in readme


def test_init_again_changes_nothing(platform: Path) -> None:
    before = tree_snapshot(platform)
    result = api.init(api.InitOptions(repo=platform))
    assert result.changed == []
    assert tree_snapshot(platform) == before
    assert commit_count(platform) == 1


def test_init_again_with_other_options_names_what_differs(platform: Path) -> None:
    before = tree_snapshot(platform)
    same = api.init(api.InitOptions(repo=platform, domain="apps.konkuk.example", branch="main"))
    assert same.changed == []
    with pytest.raises(ConflictError) as info:
        api.init(api.InitOptions(repo=platform, domain="apps.lab.konkuk.ac.kr"))
    message = str(info.value)
    assert "ingress.base_domain 'apps.konkuk.example'" in message
    assert "--domain 'apps.lab.konkuk.ac.kr'" in message and "edit ingress.base_domain" in message
    with pytest.raises(ConflictError, match=r"and 1 more option\(s\) differ"):
        api.init(api.InitOptions(repo=platform, domain="a.example", github_org="other"))
    assert tree_snapshot(platform) == before


def test_init_adopts_an_empty_git_repo(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    api.init(api.InitOptions(repo=repo))
    assert (repo / "kuploy.yaml").is_file()
    assert commit_count(repo) == 1


def test_init_refuses_a_repo_with_content(tmp_path: Path) -> None:
    repo = tmp_path / "busy"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "x.txt").write_text("x")
    with pytest.raises(ConflictError, match="with content"):
        api.init(api.InitOptions(repo=repo))
    assert not (repo / "kuploy.yaml").exists()


def test_init_refuses_a_non_empty_plain_folder(tmp_path: Path) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "a").write_text("a")
    with pytest.raises(ConflictError):
        api.init(api.InitOptions(repo=tmp_path / "f"))


@pytest.mark.parametrize("domain", ["Apps.Example", "a..b", "under_score.example", "-x.example"])
def test_init_refuses_bad_domain(tmp_path: Path, domain: str) -> None:
    with pytest.raises(InvalidInputError, match="domain"):
        api.init(api.InitOptions(repo=tmp_path / "p", domain=domain))
    assert not (tmp_path / "p").exists()


def test_init_dry_run_writes_nothing(tmp_path: Path) -> None:
    result = api.init(api.InitOptions(repo=tmp_path / "p"), dry_run=True)
    assert "kuploy.yaml" in result.changed
    assert "+++ b/kuploy.yaml" in result.diff
    assert not (tmp_path / "p").exists()
