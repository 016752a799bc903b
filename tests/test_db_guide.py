"""The student guide's database section (KUPLOY.md, both languages): the env a student copies
into deploy/deployment.yaml is exactly what kuploy injects into a managed app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kuploy_gitops import db_manifests, layout, yamlio
from kuploy_gitops.cli import main
from kuploy_gitops.db_spec import DatabaseSpec
from kuploy_gitops.github import scaffold
from kuploy_gitops.github.scaffold import ScaffoldOptions
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

# This checkout is itself a platform repo (the example tree): read, never written.
EXAMPLE = Path(__file__).resolve().parents[1]


def test_both_languages_give_the_injected_env_and_the_debug_commands() -> None:
    opts = ScaffoldOptions(student="lee-jun", app="web")
    cfg, spec, data = scaffold.load_inputs(EXAMPLE, opts)
    guide = scaffold.scaffold_files(cfg, spec, opts, data)[layout.STUDENT_GUIDE_FILE]
    english, korean = guide.split("\n## 한국어\n")
    web = AppSpec(name="web", mode="managed", image="x:1", port=80)
    injected = db_manifests.database_env(
        TenantSpec(student="kim", tier="small", apps=(web,), databases=(DatabaseSpec("db"),)), web
    )
    for part, title in ((english, "### A database"), (korean, "### 데이터베이스")):
        section = part.split(title, 1)[1].split("\n### ", 1)[0]
        blocks = re.findall(r"```(yaml|sh)\n(.*?)```", section, re.S)
        assert [kind for kind, _ in blocks] == ["yaml", "sh"]
        assert yamlio.load(blocks[0][1]) == injected
        assert "port-forward svc/db-rw 5432:5432" in blocks[1][1]
        assert "get secret db-app" in blocks[1][1]


@pytest.mark.slow
def test_a_deploy_folder_with_the_guides_env_passes_the_students_ci(tmp_path: Path) -> None:
    # Slow tier: a validate --student run (a kustomize build), as the student's workflow runs it.
    out = tmp_path / "repo"
    scaffold.write_scaffold(EXAMPLE, ScaffoldOptions(student="lee-jun", app="shop"), out)
    guide = (out / layout.STUDENT_GUIDE_FILE).read_text()
    snippet = re.findall(r"```yaml\n(.*?)```", guide.split("### A database", 1)[1], re.S)[0]
    path = out / "deploy" / "deployment.yaml"
    deployment = yamlio.load(path.read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [*container.get("env", []), *yamlio.load(snippet)]
    path.write_text(yamlio.dump(deployment))
    result = CliRunner().invoke(
        main, ["-C", str(out / ".kuploy"), "validate", "--student", "lee-jun", str(out / "deploy")]
    )
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output
