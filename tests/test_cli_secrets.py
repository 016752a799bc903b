"""`secret set/list/unset` through click's runner: values from stdin and files, never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_repo import STUDENT, app_repo, app_template
from click.testing import CliRunner, Result
from helpers import git, tree_snapshot
from sealing_keys import install_cert

from kuploy_gitops import cli, layout

__all__ = ["app_repo", "app_template"]  # fixtures
pytestmark = pytest.mark.platform_repo

VALUE = "Hq3Wz8Lm5Tn1-stdin"
FILE_VALUE = "Rv7Ky2Pd9Jc4-file"


def run(repo: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli.main, ["-C", str(repo), *args], input=stdin, catch_exceptions=False
    )


def test_set_list_unset_and_dry_run_print_names_only(app_repo: Path, tmp_path: Path) -> None:
    install_cert(app_repo)
    git(app_repo, "add", "-A")
    git(app_repo, "commit", "-q", "-m", "cert")
    (tmp_path / "url.txt").write_text(FILE_VALUE)
    outputs: list[str] = []

    def step(*args: str, stdin: str | None = None, code: int = 0) -> Result:
        done = run(app_repo, "secret", *args, stdin=stdin)
        assert done.exit_code == code, done.output
        outputs.append(done.output)
        return done

    before = tree_snapshot(app_repo)
    dry = step("set", STUDENT, "web", "APP_TOKEN=-", "--dry-run", stdin=VALUE + "\n")
    assert tree_snapshot(app_repo) == before
    assert "  APP_TOKEN set" in dry.stdout and "dry run: 4 file(s) would change" in dry.stdout
    done = step(
        "set", STUDENT, "web", "APP_TOKEN=-", "--from-file", f"DATABASE_URL={tmp_path / 'url.txt'}",
        stdin=VALUE + "\n",
    )  # fmt: skip
    assert "committed" in done.stdout
    assert "keys of web-secrets: APP_TOKEN, DATABASE_URL" in done.stdout
    listed = step("list", STUDENT, "web", "-o", "json")
    assert json.loads(listed.stdout) == {
        "student": STUDENT,
        "app": "web",
        "secret": "web-secrets",
        "namespace": STUDENT,
        "keys": ["APP_TOKEN", "DATABASE_URL"],
    }
    assert step("list", STUDENT, "web").stdout.splitlines() == ["APP_TOKEN", "DATABASE_URL"]
    shown = run(app_repo, "app", "show", STUDENT, "web", "--no-argocd")
    assert "secrets:      APP_TOKEN, DATABASE_URL (sealed, envFrom)" in shown.stdout.splitlines()
    outputs.append(shown.output)
    unset = step("unset", STUDENT, "web", "APP_TOKEN", "-o", "json")
    assert json.loads(unset.stdout)["keys"] == ["DATABASE_URL"]
    for text in [*outputs, git(app_repo, "log", "-p", "--all")]:
        assert VALUE not in text and FILE_VALUE not in text
    # Bad input: one line, the right exit code, no value.
    bad = step("set", STUDENT, "web", VALUE, code=4)
    assert bad.stderr.splitlines() == [
        "error: argument 1 after APP is not NAME=VALUE; e.g. API_KEY=- (then type the value) "
        "or API_KEY=value"
    ]
    assert VALUE not in bad.output
    assert step("set", STUDENT, "nope", "A=b", code=5).stderr.startswith("error: student 'kim'")
    assert step("unset", STUDENT, "web", "NOPE", code=4).stderr.startswith("error: app kim/web")


def test_missing_certificate_is_one_line_naming_path_and_command(app_repo: Path) -> None:
    done = run(app_repo, "secret", "set", STUDENT, "web", "API_KEY=-", stdin=VALUE)
    assert done.exit_code == 3
    assert done.stderr.splitlines() == [
        f"error: no Sealed Secrets certificate at {layout.SEALED_SECRETS_CERT}; fetch it once "
        "after bootstrap and commit it: kubeseal --fetch-cert --controller-namespace kube-system "
        f"--controller-name sealed-secrets-controller > {layout.SEALED_SECRETS_CERT}"
    ]


def test_help_has_examples() -> None:
    for args in (["secret"], ["secret", "set"], ["secret", "list"], ["secret", "unset"]):
        done = CliRunner().invoke(cli.main, [*args, "--help"])
        assert done.exit_code == 0 and "Examples:" in done.output, args
