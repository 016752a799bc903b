"""Tenant spec files: an unknown key or a broken value names the file, the line, the student."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import git

from kuploy_gitops import api, config, tenant_spec
from kuploy_gitops.cli import main
from kuploy_gitops.errors import ConfigError


@pytest.fixture
def kim(platform: Path) -> Path:
    api.onboard(platform, api.OnboardOptions(student="kim"))
    api.app_add(platform, api.AppOptions(student="kim", app="web", image="ghcr.io/o/w:1", port=80))
    return platform / "tenants" / "kim.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    git(path.parents[1], "commit", "-qam", "hand edit")


def test_unknown_key_is_refused_with_file_and_line(platform: Path, kim: Path) -> None:
    edit(kim, "    replicas: 1\n", "    replica: 1\n")
    line = kim.read_text().splitlines().index("    replica: 1") + 1
    with pytest.raises(ConfigError) as info:
        tenant_spec.read_spec(platform, "kim")
    message = str(info.value)
    assert f"kim.yaml:{line}: apps.web.replica: unknown key" in message
    assert "did you mean 'replicas'?" in message


def test_unknown_top_level_key(platform: Path, kim: Path) -> None:
    edit(kim, "tier: small\n", "tier: small\ntiers: large\n")
    with pytest.raises(ConfigError, match=r"kim\.yaml:\d+: tiers: unknown key; did you mean"):
        tenant_spec.read_spec(platform, "kim")


def test_a_broken_value_names_file_and_student_with_exit_3(platform: Path, kim: Path) -> None:
    edit(kim, "    replicas: 1\n", "    replicas: 50\n")
    cfg = config.load_config(platform)
    with pytest.raises(ConfigError) as info:
        tenant_spec.load_spec(platform, "kim", cfg)
    assert info.value.exit_code == 3
    assert str(info.value).startswith("tenants/kim.yaml: student kim: replicas 50 is out of range")
    runner = CliRunner()
    for args in (["render", "--check"], ["render"], ["list"]):
        result = runner.invoke(main, ["-C", str(platform), *args])
        if args == ["list"]:
            assert result.exit_code == 0  # listing reads the spec, it does not render it
            continue
        assert result.exit_code == 3, result.output
        assert "tenants/kim.yaml: student kim: replicas 50 is out of range" in result.stderr


def test_validate_reports_the_broken_spec_as_a_finding(platform: Path, kim: Path) -> None:
    edit(kim, "    replicas: 1\n", "    replica: 1\n")
    result = CliRunner().invoke(main, ["-C", str(platform), "validate", "--no-kustomize"])
    assert result.exit_code == 8
    assert "spec.invalid" in result.output and "unknown key" in result.output
