"""The `validate` command: wiring, output formats and exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kuploy_gitops import cli
from kuploy_gitops.errors import ConfigError, FindingsError, UsageError

BROKEN = Path(__file__).parent / "corpus" / "broken"


@pytest.fixture
def broken_repo(demo: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "broken"
    shutil.copytree(demo, repo)
    for case, name in (
        ("05-replica-typo", "replica"),
        ("15-privileged", "privileged"),
        ("66-image-latest", "latest"),
    ):
        target = repo / "apps/workloads/kim-minji" / name
        target.mkdir(parents=True)
        shutil.copy(BROKEN / f"{case}.yaml", target / f"{name}.yaml")
    return repo


def test_clean_repo_exits_0(demo: Path, crd_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["-C", str(demo), "validate", "--crd-dir", str(crd_dir)]) == 0
    out = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in out


def test_findings_exit_8_grouped_by_tenant(
    broken_repo: Path, crd_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(["-C", str(broken_repo), "validate", "--crd-dir", str(crd_dir), "--no-drift"])
    assert code == FindingsError.exit_code == 8
    captured = capsys.readouterr()
    out = captured.out
    assert "tenant kim-minji:" in out
    assert "apps/workloads/kim-minji/replica/replica.yaml:" in out
    assert "[schema.unknown-field]" in out and "[pss.privileged]" in out
    assert "Deployment/corpus" in out
    assert "fix: Remove privileged: true." in out
    assert "validation failed" in captured.err


def test_json_output(broken_repo: Path, crd_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.run(
        ["-C", str(broken_repo), "validate", "--crd-dir", str(crd_dir), "--no-drift", "-o", "json"]
    )
    assert code == 8
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["errors"] == 2 and data["warnings"] == 1
    typo = next(f for f in data["findings"] if f["rule"] == "schema.unknown-field")
    text = (broken_repo / typo["file"]).read_text().splitlines()
    assert text[typo["line"] - 1].strip().startswith("replica:")
    assert set(typo) >= {
        "tenant",
        "file",
        "line",
        "rule",
        "message",
        "fix",
        "severity",
        "kind",
        "name",
    }


def test_github_annotations(
    broken_repo: Path, crd_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(
        [
            "-C",
            str(broken_repo),
            "validate",
            "--crd-dir",
            str(crd_dir),
            "--no-drift",
            "--format",
            "github",
        ]
    )
    assert code == 8
    lines = capsys.readouterr().out.splitlines()
    errors = [x for x in lines if x.startswith("::error ")]
    warnings = [x for x in lines if x.startswith("::warning ")]
    assert len(errors) == 2 and len(warnings) == 1
    for line in errors + warnings:
        assert re.match(
            r"^::(error|warning) file=apps/workloads/kim-minji/\w+/\w+\.yaml,"
            r"line=\d+,title=[\w.-]+ \w+/[\w-]+::.+",
            line,
        ), line
    assert lines[-1].startswith("::notice ")


def test_warnings_as_errors(demo: Path, tmp_path: Path, crd_dir: Path) -> None:
    repo = tmp_path / "w"
    shutil.copytree(demo, repo)
    (repo / "apps/workloads/kim-minji/x").mkdir(parents=True)
    shutil.copy(BROKEN / "66-image-latest.yaml", repo / "apps/workloads/kim-minji/x/d.yaml")
    args = ["-C", str(repo), "validate", "--crd-dir", str(crd_dir), "--no-drift"]
    assert cli.run(args) == 0
    assert cli.run([*args, "--warnings-as-errors"]) == 8


def test_usage_and_config_errors(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(["-C", str(demo), "validate", str(tmp_path)]) == UsageError.exit_code
    assert "needs --student" in capsys.readouterr().err
    assert cli.run(["-C", str(demo), "validate", "--student", "kim-minji"]) == 2
    assert cli.run(["-C", str(tmp_path), "validate"]) == ConfigError.exit_code
    assert "not a kuploy platform repo" in capsys.readouterr().err
    assert cli.run(["-C", str(demo), "validate", "--kubernetes-version", "one"]) == 3
    assert cli.run(["-C", str(demo), "validate", "--changed-since", "nope"]) == 2


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and "--changed-since" in out and "--student" in out
