"""A folder kuploy rendered is "built" from its render; that build is what kubectl makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kuploy_gitops import api, config, layout
from kuploy_gitops.tenant_spec import read_spec
from kuploy_gitops.validate import workloads
from kuploy_gitops.validate.engine import Options, Run, validate_repo
from kuploy_gitops.validate.kustomize import Kustomizer
from kuploy_gitops.validate.tree import Tree

VARIANTS = {
    "tag": {"image": "ghcr.io/konkuk-kuploy/web:1.0", "env": ("A=1", "B=x: y")},
    "digest": {"image": "ghcr.io/konkuk-kuploy/api@sha256:" + "a" * 64},
    "both": {"image": "ghcr.io/konkuk-kuploy/job:2.1@sha256:" + "b" * 64},
    "latest": {"image": "docker.io/library/nginx", "replicas": 0},
    "port": {"image": "ghcr.io/konkuk-kuploy/web:1.0", "port": 3000, "health": "/healthz"},
}


@pytest.fixture
def repo(platform: Path) -> Path:
    api.onboard(platform, api.OnboardOptions(student="kim", tier="large"))
    for app, v in VARIANTS.items():
        api.app_add(
            platform,
            api.AppOptions(
                student="kim",
                app=app,
                image=str(v["image"]),
                port=int(v.get("port", 8080)),  # type: ignore[call-overload]
                env=[api.parse_env_pair(e) for e in v.get("env", ())],
                health_path=str(v.get("health", "/")),
                replicas=int(v.get("replicas", 1)),  # type: ignore[call-overload]
                size="tiny",
            ),
        )
    return platform


def known_and_real(repo: Path) -> list[tuple[str, list[str], list[str]]]:
    """For each app folder: the build known from the render, and kubectl's build."""
    from kuploy_gitops import render

    cfg = config.load_config(repo)
    run = Run(cfg, Tree(repo), Options(repo=repo, use_cache=False), None)
    run._known_build_checked = True  # compare every folder here, not only the first
    spec = read_spec(repo, "kim")
    assert spec is not None
    rendered = render.render_tenant_objects(cfg, spec)
    real = Kustomizer(None)
    out = []
    for src in run.app_sources("kim", rendered):
        kfile = workloads.kustomization_in(src.files, src.folder)
        assert kfile is not None
        known = run.known_build(src, kfile, "kim")
        assert known is not None, src.folder
        built = real.build_all([src.real])[src.real]
        out.append(
            (
                src.folder,
                [json.dumps(d.obj, sort_keys=True) for d in known],
                [json.dumps(o, sort_keys=True) for o in built.objects()],
            )
        )
    return out


def test_known_builds_are_what_kubectl_builds(repo: Path) -> None:
    pairs = known_and_real(repo)
    assert len(pairs) == len(VARIANTS)
    for folder, known, real in pairs:
        assert known == real, folder


def test_validate_builds_only_what_it_does_not_know(repo: Path) -> None:
    report = validate_repo(Options(repo=repo, use_cache=False))
    assert {f.rule for f in report.findings} == {"image.latest"}  # the variant without a tag
    assert report.builds == report.known_builds == len(VARIANTS)
    deployment = repo / layout.workload_dir("kim", "tag") / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 1", "replicas: 2"))
    report = validate_repo(Options(repo=repo, use_cache=False))
    assert report.builds == len(VARIANTS) and report.known_builds == len(VARIANTS) - 1
    assert {f.rule for f in report.findings} == {"drift.out-of-date", "image.latest"}


def test_a_known_build_kubectl_disagrees_with_is_not_used(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workloads, "_set_images", lambda obj, images: None)  # a broken override
    digest = repo / layout.workload_dir("kim", "both") / "deployment.yaml"
    assert "job:2.1@sha256" in digest.read_text()
    report = validate_repo(Options(repo=repo, use_cache=False))
    assert report.known_builds == 0 and report.builds == len(VARIANTS)
    assert {f.rule for f in report.findings} == {"image.latest"}
