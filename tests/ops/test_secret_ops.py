"""`secret set/list/unset` (ops/secrets.py) on a real platform repo: sealed, merged, unleaked."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from app_repo import STUDENT, app_repo, app_template
from helpers import commit_count, git, tree_snapshot
from sealing_keys import install_cert, keypair

from kuploy_gitops import layout, sealing, tenant_spec, yamlio
from kuploy_gitops.errors import ConfigError, ConflictError, InvalidInputError, UsageError
from kuploy_gitops.ops import secrets

__all__ = ["app_repo", "app_template"]  # fixtures
pytestmark = pytest.mark.platform_repo

VALUE = "pa55-Wrd-7f3Kq9"  # what must never appear outside the sealed value
OTHER = "tok-Zx81-Qm2"


@pytest.fixture
def repo(app_repo: Path) -> Path:
    install_cert(app_repo)
    git(app_repo, "add", "-A")
    git(app_repo, "commit", "-q", "-m", "the controller's certificate")
    return app_repo


def sealed_object(repo: Path) -> dict[str, Any]:
    path = repo / layout.workload_dir(STUDENT, "web") / layout.SEALED_SECRET_FILE
    (obj,) = yamlio.load_all(path.read_text())
    return obj  # type: ignore[no-any-return]


def opened(repo: Path) -> dict[str, bytes]:
    """What the controller would make of the rendered SealedSecret (strict scope)."""
    obj = sealed_object(repo)
    label = sealing.strict_label(obj["metadata"]["namespace"], obj["metadata"]["name"])
    return {
        k: sealing.hybrid_decrypt(keypair()[0], base64.b64decode(v), label)
        for k, v in obj["spec"]["encryptedData"].items()
    }


def container(repo: Path) -> dict[str, Any]:
    path = repo / layout.workload_dir(STUDENT, "web") / "deployment.yaml"
    (dep,) = yamlio.load_all(path.read_text())
    return dep["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def assert_nowhere(repo: Path, *values: str) -> None:
    """No plain value in any commit (diffs, messages), file of the tree, or git object."""
    history = git(repo, "log", "-p", "--all", "--format=%H %s%n%b")
    for value in values:
        assert value not in history
        found = subprocess.run(
            ["git", "-C", str(repo), "grep", "-F", value, *git(repo, "rev-list", "--all").split()],
            capture_output=True,
            text=True,
        )
        assert found.returncode == 1, found.stdout  # 1: nothing found
        for path, data in tree_snapshot(repo).items():
            assert value.encode() not in data, path


def test_set_merge_and_unset_each_one_commit_never_leaking(repo: Path) -> None:
    count = commit_count(repo)
    done = secrets.secret_set(repo, STUDENT, "web", {"DB_PASSWORD": VALUE.encode(), "A": b"one"})
    assert commit_count(repo) == count + 1
    assert done.changes == ["A set", "DB_PASSWORD set"] and done.keys == ["A", "DB_PASSWORD"]
    obj = sealed_object(repo)
    assert obj["kind"] == "SealedSecret" and obj["apiVersion"] == "bitnami.com/v1alpha1"
    assert obj["metadata"]["name"] == obj["spec"]["template"]["metadata"]["name"] == "web-secrets"
    assert obj["metadata"]["namespace"] == STUDENT
    assert "annotations" not in obj["metadata"]  # no scope annotation: strict
    assert opened(repo) == {"A": b"one", "DB_PASSWORD": VALUE.encode()}
    assert container(repo)["envFrom"] == [{"secretRef": {"name": "web-secrets"}}]
    kustomization = yamlio.load(
        (repo / layout.workload_dir(STUDENT, "web") / "kustomization.yaml").read_text()
    )
    assert layout.SEALED_SECRET_FILE in kustomization["resources"]
    subject = git(repo, "log", "-1", "--format=%s").strip()
    assert subject == "kuploy: set secret A, DB_PASSWORD of app web of kim (web-secrets)"

    # Merging: a key not named keeps its sealed value; a named one is re-sealed.
    before = sealed_object(repo)["spec"]["encryptedData"]
    two = {"DB_PASSWORD": b"two", "TOKEN": OTHER.encode()}
    done = secrets.secret_set(repo, STUDENT, "web", two)
    assert done.changes == ["DB_PASSWORD replaced", "TOKEN set"]
    after = sealed_object(repo)["spec"]["encryptedData"]
    assert after["A"] == before["A"] and after["DB_PASSWORD"] != before["DB_PASSWORD"]
    assert opened(repo) == {"A": b"one", "DB_PASSWORD": b"two", "TOKEN": OTHER.encode()}
    assert secrets.secret_list(repo, STUDENT, "web")["keys"] == ["A", "DB_PASSWORD", "TOKEN"]

    with pytest.raises(InvalidInputError, match="has no secret 'C'.*its secrets: A, DB_PASS"):
        secrets.secret_unset(repo, STUDENT, "web", ["C"])
    secrets.secret_unset(repo, STUDENT, "web", ["A"])
    assert opened(repo) == {"DB_PASSWORD": b"two", "TOKEN": OTHER.encode()}
    done = secrets.secret_unset(repo, STUDENT, "web", ["DB_PASSWORD", "TOKEN"])
    assert done.keys == [] and done.changes == ["DB_PASSWORD unset", "TOKEN unset"]
    assert not (repo / layout.workload_dir(STUDENT, "web") / layout.SEALED_SECRET_FILE).exists()
    assert "envFrom" not in container(repo)
    spec = tenant_spec.read_spec(repo, STUDENT)
    assert spec is not None and spec.app("web").secrets == ()  # type: ignore[union-attr]
    assert git(repo, "status", "--porcelain").strip() == ""
    assert_nowhere(repo, VALUE, OTHER)


def test_dry_run_and_refusals_write_nothing_and_name_keys_only(repo: Path) -> None:
    before = tree_snapshot(repo)
    done = secrets.secret_set(repo, STUDENT, "web", {"TOKEN": VALUE.encode()}, dry_run=True)
    assert tree_snapshot(repo) == before
    assert done.result.commit == ""
    assert sorted(done.result.changed) == sorted(
        [
            layout.tenant_spec(STUDENT),
            *(
                f"{layout.workload_dir(STUDENT, 'web')}/{f}"
                for f in ("deployment.yaml", "kustomization.yaml", layout.SEALED_SECRET_FILE)
            ),
        ]
    )
    assert VALUE not in repr(done.to_data()) and VALUE not in done.result.diff
    refused: list[tuple[str, str, type[Exception]]] = [
        ("nobody", "web", ConflictError),
        (STUDENT, "nope", ConflictError),
        (STUDENT, "api", UsageError),  # student-repo app: sealed in the student's repo
    ]
    for student, app, error in refused:
        with pytest.raises(error) as info:
            secrets.secret_set(repo, student, app, {"A": VALUE.encode()})
        assert VALUE not in str(info.value)
    assert tree_snapshot(repo) == before


def test_missing_certificate_names_the_path_and_the_fetch_command(app_repo: Path) -> None:
    with pytest.raises(ConfigError) as info:
        secrets.secret_set(app_repo, STUDENT, "web", {"A": b"x"})
    text = str(info.value)
    assert layout.SEALED_SECRETS_CERT in text
    assert (
        "kubeseal --fetch-cert --controller-namespace kube-system "
        f"--controller-name sealed-secrets-controller > {layout.SEALED_SECRETS_CERT}" in text
    )
    assert "\n" not in text
    # A platform made before the add-on existed: the error says what to add to kuploy.yaml.
    path = app_repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    del data["addons"]["sealed-secrets"]
    path.write_text(yamlio.dump(data))
    git(app_repo, "commit", "-qam", "no sealed secrets")
    with pytest.raises(ConfigError, match=r"no Sealed Secrets add-on \(addons.sealed-secrets\)"):
        secrets.secret_set(app_repo, STUDENT, "web", {"A": b"x"})


def no_stdin() -> bytes:
    raise AssertionError("stdin read")


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        ([VALUE], [], "argument 1 after APP is not NAME=VALUE"),
        (["=" + VALUE], [], "argument 1 after APP is not NAME=VALUE"),
        (["1BAD=" + VALUE], [], "secret name '1BAD' is not valid"),
        (["BAD NAME=" + VALUE], [], "is not valid"),
        (["A=" + VALUE, "A=" + VALUE], [], "secret 'A' is given twice"),
        (["A="], [], "secret 'A' is empty"),
        ([], ["A"], "--from-file 'A' is not NAME=PATH"),
        ([], ["A=/nonexistent/file"], "--from-file A: cannot read '/nonexistent/file'"),
    ],
)
def test_bad_assignments_name_the_problem_never_the_value(
    args: list[str], files: list[str], message: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        secrets.parse_values(args, files, no_stdin)
    assert message in str(info.value)
    assert VALUE not in str(info.value)


def test_values_come_from_stdin_once_and_from_files(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(b"line1\nline2\n")
    got = secrets.parse_values(["A=-", "B=x=y"], [f"C={tmp_path / 'key.pem'}"], lambda: b"typed\n")
    assert got == {"A": b"typed", "B": b"x=y", "C": b"line1\nline2\n"}
    with pytest.raises(InvalidInputError, match="only one value can come from stdin"):
        secrets.parse_values(["A=-", "B=-"], [], lambda: b"v")
    with pytest.raises(UsageError, match="no secret given"):
        secrets.parse_values([], [], no_stdin)


def test_a_sealed_key_never_hides_behind_an_env_variable(repo: Path) -> None:
    """env wins over envFrom in Kubernetes: a key in both, or one a database injects, is refused."""
    from kuploy_gitops import api

    api.app_set(repo, api.AppChange(student=STUDENT, app="web", env=[("GREETING", "hi")]))
    before = tree_snapshot(repo)
    with pytest.raises(InvalidInputError, match="GREETING both as a plain env variable") as info:
        secrets.secret_set(repo, STUDENT, "web", {"GREETING": VALUE.encode()})
    assert "secret unset" in str(info.value) and VALUE not in str(info.value)
    secrets.secret_set(repo, STUDENT, "web", {"DATABASE_URL": VALUE.encode()})
    with pytest.raises(InvalidInputError, match="would set DATABASE_URL itself"):
        api.db_add(repo, api.DatabaseOptions(student=STUDENT))
    assert tree_snapshot(repo) != before  # the sealed DATABASE_URL was committed, the db not
    assert not (repo / layout.tenant_file(STUDENT, "database-db.yaml")).exists()
