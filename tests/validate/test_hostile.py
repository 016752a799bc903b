"""Hostile files in a student's folder (issue 12, part A): findings, never a crash, hang or leak.

A student controls every file `validate --student` reads in CI. Each case here is a folder on
disk (symlinks, FIFOs and bytes cannot live in the text corpus), validated as the student's app.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kuploy_gitops import yamlio
from kuploy_gitops.validate.engine import Options, validate_student
from kuploy_gitops.validate.findings import Finding

STUDENT = "kim-minji"
POD = """apiVersion: v1
kind: ConfigMap
metadata:
  name: ok
data:
  a: b
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A student's repository with a deploy/ folder holding one valid object."""
    root = tmp_path / "student"
    (root / ".git").mkdir(parents=True)  # the repository's top: symlinks may point inside it
    deploy = root / "deploy"
    deploy.mkdir()
    (deploy / "ok.yaml").write_text(POD)
    return root


def check(demo: Path, repo: Path, tmp_path: Path) -> list[Finding]:
    return validate_student(
        Options(repo=demo, cache_dir=tmp_path / "cache"), STUDENT, repo / "deploy"
    ).findings


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def test_a_clean_folder_has_no_findings(demo: Path, repo: Path, tmp_path: Path) -> None:
    assert check(demo, repo, tmp_path) == []


LAUGHS = (
    "a: &a ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(9)
    )
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (LAUGHS, "aliases expand to more than"),
        ("x: &a [*a]\n", "an alias refers to itself"),
        # (newer PyYAML refuses deep flow collections itself: "exceeded maximum nesting depth")
        ("a: " + "[" * 1000 + "]" * 1000 + "\n", "nest"),
        ("a: " + "[" * 150 + "]" * 150 + "\n", "nested deeper than 100 levels"),
        ("".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v: 1\n", "deeper"),
    ],
    ids=["billion-laughs", "self-alias", "deep-flow", "deep-flow-150", "deep-block"],
)
def test_hostile_yaml_is_a_syntax_finding(
    demo: Path, repo: Path, tmp_path: Path, text: str, says: str
) -> None:
    (repo / "deploy" / "bad.yaml").write_text(text)
    (finding,) = [f for f in check(demo, repo, tmp_path) if f.file.endswith("bad.yaml")]
    assert finding.rule == "yaml.syntax" and says in finding.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * 100_000 + "]" * 100_000, 1),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, 1),
        ('{\n"kind": "ConfigMap",\n"x": "[[[[",\n"y":' + "[" * 120 + "]" * 120 + "}", 4),
    ],
    ids=["deep-array", "deep-object", "brackets-in-strings-do-not-count"],
)
def test_deep_json_is_a_syntax_finding(
    demo: Path, repo: Path, tmp_path: Path, text: str, line: int
) -> None:
    (repo / "deploy" / "bad.json").write_text(text)
    (finding,) = [f for f in check(demo, repo, tmp_path) if f.file.endswith("bad.json")]
    assert finding.rule == "yaml.syntax"
    assert finding.message.endswith(f"nested deeper than 100 levels (line {line})")


def test_json_within_the_bound_is_read() -> None:
    yamlio.check_json_depth("[" * 100 + "]" * 100)
    yamlio.check_json_depth('["' + "[" * 500 + '"]')  # brackets inside a string


def test_aliases_within_bounds_are_read(demo: Path, repo: Path, tmp_path: Path) -> None:
    (repo / "deploy" / "ok.yaml").write_text(
        POD.replace("data:\n  a: b\n", "data: &d\n  a: b\n")
        + "---\n"
        + POD.replace("name: ok", "name: ok2").replace("data:\n  a: b\n", "data: {a: c}\n")
    )
    assert check(demo, repo, tmp_path) == []


def unreadable(demo: Path, repo: Path, tmp_path: Path, name: str) -> Finding:
    found = check(demo, repo, tmp_path)
    (finding,) = [f for f in found if f.file.endswith(name)]
    assert finding.rule == "file.unreadable", found
    assert finding.severity == "error"
    return finding


def test_a_symlink_out_of_the_repository(demo: Path, repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(POD.replace("name: ok", "name: leaked"))
    (repo / "deploy" / "leak.yaml").symlink_to(secret)
    finding = unreadable(demo, repo, tmp_path, "leak.yaml")
    assert "outside the repository" in finding.message and str(secret) in finding.message


def test_a_symlink_to_an_endless_device(demo: Path, repo: Path, tmp_path: Path) -> None:
    (repo / "deploy" / "zero.yaml").symlink_to("/dev/zero")
    assert "outside the repository" in unreadable(demo, repo, tmp_path, "zero.yaml").message


def test_a_symlink_inside_the_repository_is_read(demo: Path, repo: Path, tmp_path: Path) -> None:
    shared = repo / "shared"
    shared.mkdir()
    (shared / "cm.yaml").write_text(POD.replace("name: ok", "name: shared"))
    (repo / "deploy" / "cm.yaml").symlink_to(shared / "cm.yaml")
    assert check(demo, repo, tmp_path) == []


def test_a_dangling_symlink(demo: Path, repo: Path, tmp_path: Path) -> None:
    (repo / "deploy" / "gone.yaml").symlink_to(repo / "nowhere.yaml")
    assert "a symlink to nothing" in unreadable(demo, repo, tmp_path, "gone.yaml").message


def test_a_fifo_does_not_hang(demo: Path, repo: Path, tmp_path: Path) -> None:
    os.mkfifo(repo / "deploy" / "pipe.yaml")
    assert "not a regular file" in unreadable(demo, repo, tmp_path, "pipe.yaml").message


def test_a_file_that_is_not_utf8(demo: Path, repo: Path, tmp_path: Path) -> None:
    text = POD.replace("a: b", "a: b  # 배포 설정")
    (repo / "deploy" / "cp949.yaml").write_bytes(text.replace("ok", "cp").encode("cp949"))
    finding = unreadable(demo, repo, tmp_path, "cp949.yaml")
    assert "not UTF-8 (line 6)" in finding.message


def test_a_huge_file(demo: Path, repo: Path, tmp_path: Path) -> None:
    (repo / "deploy" / "big.yaml").write_text(POD + "#" * (5 * 1024 * 1024) + "\n")
    assert "bytes, over the" in unreadable(demo, repo, tmp_path, "big.yaml").message


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
@pytest.mark.parametrize("outside", ["/usr/share", "/proc/self", "../../../etc"])
def test_kustomize_inputs_outside_the_repository(
    demo: Path, repo: Path, tmp_path: Path, outside: str
) -> None:
    (repo / "deploy" / "kustomization.yaml").write_text(f"resources:\n  - ok.yaml\n  - {outside}\n")
    found = check(demo, repo, tmp_path)
    assert rules(found) == {"kustomize.build-failed"}, found
    assert "outside the repository" in found[0].message


def test_a_name_with_a_line_break_stays_one_finding_line(
    demo: Path, repo: Path, tmp_path: Path
) -> None:
    from kuploy_gitops.validate import report

    (repo / "deploy" / "bad.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        '  name: "ok\\n  error fake.yaml:1 [x] all good"\n'
    )
    findings = check(demo, repo, tmp_path)
    assert findings and all("\n" in f.name for f in findings if f.file.endswith("bad.yaml"))
    fake = report.Report(findings=findings)
    text = report.render_text(fake)
    assert not any(line.startswith("  error fake.yaml") for line in text.splitlines())
    assert "ok\\n  error fake.yaml:1" in text


def test_a_plain_folder_needs_no_kubectl(
    demo: Path, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lee-jun has no platform-managed app to build for the shared quota (kim-minji has)."""
    from kuploy_gitops.errors import ConfigError
    from kuploy_gitops.validate import kustomize

    def missing() -> str:
        raise ConfigError("kubectl not found")

    def run() -> list[Finding]:
        opts = Options(repo=demo, cache_dir=tmp_path / "cache")
        return validate_student(opts, "lee-jun", repo / "deploy").findings

    monkeypatch.setattr(kustomize, "find_kubectl", missing)
    assert run() == []  # nothing to build: kubectl is never looked up
    (repo / "deploy" / "kustomization.yaml").write_text("resources: [ok.yaml]\n")
    with pytest.raises(ConfigError, match="kubectl not found"):
        run()
