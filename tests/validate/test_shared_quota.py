"""`validate --student`: the folder shares the tenant's quota with its apps in the platform repo.

The demo's kim-minji has the platform-managed app ``web`` (one Service) on the small tier
(``services: 5``); the folders are in ``corpus/shared_quota/`` (see its README).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kuploy_gitops import cli, layout
from kuploy_gitops.errors import ConflictError
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.engine import Options, validate_student

CASES = Path(__file__).parent / "corpus" / "shared_quota"
STUDENT = "kim-minji"


def quota_errors(repo: Path, folder: Path, crd_dir: Path, app: str = "") -> list[str]:
    report = validate_student(Options(repo=repo, crd_dir=crd_dir, app=app), STUDENT, folder)
    others = [f for f in report.errors if f.rule != F.QUOTA_EXCEEDED]
    assert others == [], others
    return [f"{f.kind}/{f.name}: {f.message}" for f in report.errors]


def test_five_services_exceed_the_quota_the_other_app_shares(
    demo: Path, crd_dir: Path, chdir_tmp: Path
) -> None:
    got = quota_errors(demo, CASES / "five-services", crd_dir)
    assert got == [
        "Service/svc-5: services: the tenant's objects need 6 (counting up to Service 'svc-5'), "
        "over the ResourceQuota's 5; the tenant's other apps in the platform repo (web) use 1 "
        "of it"
    ]


def test_four_services_fit_next_to_the_other_app(
    demo: Path, crd_dir: Path, tmp_path: Path, chdir_tmp: Path
) -> None:
    folder = tmp_path / "deploy"
    shutil.copytree(CASES / "five-services", folder)
    services = folder / "services.yaml"
    services.write_text(services.read_text().rsplit("---\n", 1)[0])
    assert quota_errors(demo, folder, crd_dir) == []


def test_a_folder_that_replaces_the_managed_app_does_not_count_it_twice(
    demo: Path, crd_dir: Path, chdir_tmp: Path
) -> None:
    assert quota_errors(demo, CASES / "five-services", crd_dir, app="web") == []


def test_an_app_the_tenant_does_not_have_is_an_input_error(demo: Path, crd_dir: Path) -> None:
    with pytest.raises(
        ConflictError, match=r"--app 'shop' is not an app of 'kim-minji' \(its apps: web\)"
    ):
        validate_student(Options(repo=demo, app="shop"), STUDENT, CASES / "five-services")
    # On the command line: one line, exit 5 (an unknown name), nothing written.
    code = cli.run(
        [
            "-C",
            str(demo),
            "validate",
            "--student",
            STUDENT,
            "--app",
            "shop",
            str(CASES / "five-services"),
        ]
    )
    assert code == 5


def test_student_repo_apps_it_cannot_see_are_named_not_counted(
    demo: Path, crd_dir: Path, tmp_path: Path, chdir_tmp: Path
) -> None:
    repo = tmp_path / "platform"
    shutil.copytree(demo, repo)
    spec = repo / layout.tenant_spec(STUDENT)
    extra = "".join(
        f"  {name}:\n    mode: repo\n    repo: https://github.com/konkuk-kuploy/{STUDENT}-{name}\n"
        for name in ("shop", "blog")
    )
    spec.write_text(spec.read_text() + extra)
    (message,) = quota_errors(repo, CASES / "five-services", crd_dir, app="shop")
    assert message.endswith(
        "; not counted: the student-repo app(s) blog, whose manifests are in their own repos"
    )
    (message,) = quota_errors(repo, CASES / "five-services", crd_dir)
    assert "not counted: the student-repo app(s) blog, shop" in message
    assert message.endswith("(this folder is one of them: --app names which)")
