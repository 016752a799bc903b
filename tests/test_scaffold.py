"""The student-repo scaffold: deploy/ that validates, a lint-clean workflow, the guide, rules."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from boundary_attacks import attacks
from helpers import git

from kuploy_gitops import api, config, layout, tenant_spec, yamlio
from kuploy_gitops.errors import ConflictError, InvalidInputError
from kuploy_gitops.github import scaffold
from kuploy_gitops.github.scaffold import ScaffoldOptions
from kuploy_gitops.validate import engine

STUDENT = "kim-minji"


@pytest.fixture
def platform_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    api.onboard(
        repo,
        api.OnboardOptions(
            student=STUDENT, github="minji-k", name="Kim Minji", email="minji@konkuk.example"
        ),
    )
    return repo


def set_pull_secret(repo: Path, name: str) -> None:
    """Name a per-tenant pull secret in kuploy.yaml (the non-default choice) and commit."""
    path = repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["github"]["pull_secret"] = name
    path.write_text(yamlio.dump(data))
    git(repo, "commit", "-qam", "per-tenant pull secret")


def files_for(repo: Path, **kw: Any) -> dict[str, str]:
    opts = ScaffoldOptions(student=STUDENT, app=kw.pop("app", "web"), **kw)
    cfg, spec, data = scaffold.load_inputs(repo, opts)
    return scaffold.scaffold_files(cfg, spec, opts, data)


def write(files: dict[str, str], root: Path) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def workflow(files: dict[str, str]) -> dict[Any, Any]:
    data = yamlio.load(files[layout.STUDENT_WORKFLOW_FILE])
    assert isinstance(data, dict)
    return data


def test_the_scaffold_files(platform_repo: Path) -> None:
    files = files_for(platform_repo)
    assert sorted(files) == [
        ".github/workflows/kuploy-deploy.yml",
        ".kuploy/kuploy.yaml",
        ".kuploy/tenants/kim-minji.yaml",
        "KUPLOY.md",
        "deploy/deployment.yaml",
        "deploy/ingress.yaml",
        "deploy/kustomization.yaml",
        "deploy/service.yaml",
    ]
    for name in ("deployment", "service", "ingress", "kustomization"):
        assert files[f"deploy/{name}.yaml"].startswith(
            "# Scaffolded by kuploy-gitops for kim-minji/web. Yours to edit"
        )
    assert files_for(platform_repo) == files  # deterministic


@pytest.mark.parametrize(("private", "pull_secret"), [(True, ""), (True, "my-pull"), (False, "")])
def test_deploy_passes_validate_student(
    platform_repo: Path, tmp_path: Path, private: bool, pull_secret: str
) -> None:
    if pull_secret:
        set_pull_secret(platform_repo, pull_secret)
    files = files_for(
        platform_repo,
        private=private,
        app="api",
        port=3000,
        size="tiny",
        replicas=2,
        health_path="/healthz",
    )
    root = write(files, tmp_path / "student")
    for rules in (root / layout.STUDENT_RULES_DIR, platform_repo):
        report = engine.validate_student(
            engine.Options(repo=rules, cache_dir=tmp_path / "c"), STUDENT, root / "deploy"
        )
        assert [f.to_data() for f in report.findings] == []
    built = yamlio.load_all(
        subprocess.run(
            ["kubectl", "kustomize", str(root / "deploy")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    kinds = {d["kind"]: d for d in built}
    assert set(kinds) == {"Deployment", "Service", "Ingress"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "ghcr.io/konkuk-kuploy/kim-minji-api:sha-0000000"
    assert pod["containers"][0]["ports"][0]["containerPort"] == 3000
    assert kinds["Deployment"]["spec"]["replicas"] == 2
    # Public packages by default: a pull secret only when kuploy.yaml names a per-tenant one.
    assert ("imagePullSecrets" in pod) is bool(private and pull_secret)
    if private and pull_secret:
        assert pod["imagePullSecrets"] == [{"name": pull_secret}]
    # The certificate stays with the ingress controller: no secretName in the tenant namespace.
    assert kinds["Ingress"]["spec"]["tls"] == [{"hosts": ["api-kim-minji.apps.konkuk.example"]}]
    assert kinds["Ingress"]["spec"]["rules"][0]["host"] == "api-kim-minji.apps.konkuk.example"


@pytest.mark.parametrize(
    "remote",
    [
        # another student's repo, through the org-wide reach Argo CD would have
        "https://github.com/konkuk-kuploy/lee-jisoo-web//deploy?ref=main",
        # even the student's own repo (the AppProject allows it) and the other URL forms
        "git@github.com:konkuk-kuploy/kim-minji-web.git//deploy",
        "github.com/konkuk-kuploy/kim-minji-web/deploy?ref=main",
        "ssh://git@github.com/konkuk-kuploy/kim-minji-web.git",
    ],
)
def test_validate_student_refuses_a_remote_base(
    platform_repo: Path, tmp_path: Path, remote: str
) -> None:
    root = write(files_for(platform_repo), tmp_path / "student")
    kfile = root / "deploy" / "kustomization.yaml"
    data = yamlio.load(kfile.read_text())
    data["resources"].append(remote)
    kfile.write_text(yamlio.dump(data))
    report = engine.validate_student(
        engine.Options(repo=root / layout.STUDENT_RULES_DIR, cache_dir=tmp_path / "c"),
        STUDENT,
        root / "deploy",
    )
    found = [f.to_data() for f in report.findings]
    assert [(f["rule"], f["severity"]) for f in found] == [("isolation.remote-base", "error")]
    assert remote in found[0]["message"] and "refused" in found[0]["message"]


ATTACKS = [a.name for a in attacks(config.parse_config(config.default_config_data()))]


@pytest.mark.parametrize("name", ATTACKS)
def test_validate_student_reports_every_attack_on_the_boundary(
    platform_repo: Path, tmp_path: Path, name: str
) -> None:
    """A student's CI predicts each refusal of the cluster (cluster/test_tenant_boundary.py)."""
    cfg = config.load_config(platform_repo)
    (attack,) = (a for a in attacks(cfg) if a.name == name)
    root = write(files_for(platform_repo), tmp_path / "student")
    (root / "deploy" / "attack.yaml").write_text(yamlio.dump(attack.obj))
    kfile = root / "deploy" / "kustomization.yaml"
    data = yamlio.load(kfile.read_text())
    data["resources"].append("attack.yaml")
    kfile.write_text(yamlio.dump(data))
    report = engine.validate_student(
        engine.Options(repo=root / layout.STUDENT_RULES_DIR, cache_dir=tmp_path / "c"),
        STUDENT,
        root / "deploy",
    )
    errors = {f.rule for f in report.findings if f.severity == "error"}
    assert attack.rule in errors, [(f.rule, f.message) for f in report.findings]


def test_the_workflow_bump_reaches_the_deployment(platform_repo: Path, tmp_path: Path) -> None:
    """What the workflow's yq line does (set newTag of the image entry) deploys the new tag."""
    files = files_for(platform_repo)
    image = workflow(files)["env"]["IMAGE"]
    kust = yamlio.load(files["deploy/kustomization.yaml"])
    (entry,) = [e for e in kust["images"] if e["name"] == image]
    entry["newTag"] = "sha-abc1234"
    files["deploy/kustomization.yaml"] = yamlio.dump(kust)
    root = write(files, tmp_path / "student")
    out = subprocess.run(
        ["kubectl", "kustomize", str(root / "deploy")], check=True, capture_output=True, text=True
    ).stdout
    assert f"image: {image}:sha-abc1234" in out


def test_workflow_contract(platform_repo: Path) -> None:
    files = files_for(platform_repo, branch="trunk")
    wf = workflow(files)
    text = files[layout.STUDENT_WORKFLOW_FILE]
    # YAML 1.1 readers load the "on" key as True.
    on = wf.get("on", wf.get(True))
    assert on["push"]["branches"] == ["trunk"]
    assert wf["permissions"] == {"contents": "write", "packages": "write"}
    assert wf["concurrency"] == {
        "group": "kuploy-deploy-${{ github.repository }}",
        "cancel-in-progress": False,
    }
    assert wf["env"]["IMAGE"] == "ghcr.io/konkuk-kuploy/kim-minji-web"
    assert wf["env"]["STUDENT"] == STUDENT
    steps = wf["jobs"]["deploy"]["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", u) for u in uses)
    login = next(s for s in steps if s.get("uses", "").startswith("docker/login-action@"))
    assert login["with"] == {
        "registry": "ghcr.io",
        "username": "${{ github.actor }}",
        "password": "${{ secrets.GITHUB_TOKEN }}",
    }
    push = next(s for s in steps if s.get("uses", "").startswith("docker/build-push-action@"))
    assert push["with"]["push"] is True
    assert push["with"]["tags"] == "${{ env.IMAGE }}:${{ steps.tag.outputs.tag }}"
    assert 'echo "tag=sha-${commit::7}"' in text
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"GITHUB_TOKEN"}
    runs = "\n".join(s.get("run", "") for s in steps)
    assert 'kuploy-gitops -C "$RULES_DIR" validate --student "$STUDENT"' in runs
    assert 'python -m pip install --quiet "${pip_args[@]}"' in runs
    assert ".newTag = strenv(TAG)" in runs
    # Layers come from GitHub's cache and go back to it (every stage: mode=max).
    assert push["with"]["cache-from"] == "type=gha"
    assert push["with"]["cache-to"] == "type=gha,mode=max"
    # The tag goes to the deploy branch, never to the student's branch.
    assert wf["env"]["DEPLOY_BRANCH"] == layout.STUDENT_DEPLOY_BRANCH != "trunk"
    assert "[skip ci]" in runs
    assert 'git push --quiet origin "$deployed:refs/heads/$DEPLOY_BRANCH"' in runs
    assert "--force" not in runs  # the deploy branch only grows
    assert "git pull" not in runs and "$BRANCH" not in runs and "github.ref_name" not in text
    # Roll back: a manual run takes the commit to deploy, which is what is checked out.
    ref = on["workflow_dispatch"]["inputs"]["ref"]
    assert (ref["type"], ref["required"], ref["default"]) == ("string", False, "")
    assert steps[0]["with"]["ref"] == "${{ inputs.ref || github.sha }}"
    # The inputs reach no shell script directly (no injection through a ref name).
    assert "inputs." not in runs
    order = [s["name"] for s in steps]
    # kuploy-gitops is installed and the folder validated before anything is built or pushed.
    assert (
        order.index("Install kuploy-gitops")
        < order.index("Validate the deploy folder against the platform rules")
        < order.index("Build and push the image")
        < order.index("Deploy the tag to the deploy branch")
    )
    assert order.index("Set the image tag in the deploy folder") < order.index(
        "Validate the deploy folder against the platform rules"
    )


@pytest.mark.parametrize("private", [True, False])
def test_workflow_passes_actionlint_and_the_workflow_schema(
    platform_repo: Path, tmp_path: Path, private: bool
) -> None:
    root = write(files_for(platform_repo, private=private), tmp_path / "student")
    path = root / layout.STUDENT_WORKFLOW_FILE
    for tool, args in (
        ("actionlint", [str(path)]),
        ("check-jsonschema", ["--builtin-schema", "vendor.github-workflows", str(path)]),
    ):
        exe = shutil.which(tool)
        if exe is None:
            pytest.skip(f"{tool} is not installed (test extra)")
        proc = subprocess.run([exe, *args], capture_output=True, text=True, cwd=root)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_guide_in_english_and_korean(platform_repo: Path) -> None:
    guide = files_for(platform_repo)["KUPLOY.md"]
    for needle in (
        "## English",
        "## 한국어",
        "https://web-kim-minji.apps.konkuk.example",
        "kim-minji-web",
        "git revert",
        "kubectl -n kim-minji logs deploy/web",
        "Log in via GitHub",
        "argocd login argocd.apps.konkuk.example --sso --grpc-web",
        "argocd app logs kim-minji-web --follow --grpc-web",
        "argocd app get kim-minji-web",
        "argocd app sync kim-minji-web",
        "export ARGOCD_SERVER=argocd.apps.konkuk.example",
        'gh workflow run kuploy-deploy.yml -f ref="$(git rev-parse <commit>)"',
        'gh workflow run kuploy-deploy.yml -f ref="$(git rev-parse <커밋>)"',
        # The allowed host names are the platform's pattern (web-kim-minji.<domain>).
        "`<app>-kim-minji.apps.konkuk.example`",
        "**`kuploy-deploy`**",
        "### Roll back",
        "### 롤백",
        "### Status and logs",
        "### 상태와 로그",
        "**8080**",
        "### Private images",
        "### 비공개 이미지",
        "make the package **public** once",
    ):
        assert needle in guide, needle
    # The rollback command runs this workflow with its own input; the argocd commands name the
    # Application the platform renders for this app.
    files = files_for(platform_repo)
    wf = workflow(files)
    on = wf.get("on", wf.get(True))
    runs = re.findall(r"gh workflow run (\S+)((?: -f \w+=\"?[^\"\s]+(?: [^\"\s]+)?\"?)+)", guide)
    assert len(runs) == 2  # English and Korean
    for file_name, inputs in runs:
        assert file_name == Path(layout.STUDENT_WORKFLOW_FILE).name
        assert set(re.findall(r"-f (\w+)=", inputs)) <= set(on["workflow_dispatch"]["inputs"])
    apps = set(re.findall(r"argocd app \w+ (\S+)", guide))
    assert apps == {layout.application_name(STUDENT, "web")}
    assert guide.count("argocd app logs") == 4  # both ways, both languages
    set_pull_secret(platform_repo, "my-pull")
    guide = files_for(platform_repo)["KUPLOY.md"]
    assert "the secret `my-pull`" in guide and "from your\nown GitHub token" in guide
    assert "**public**" not in guide
    public = files_for(platform_repo, private=False)["KUPLOY.md"]
    assert "Private images" not in public and "비공개 이미지" not in public


def test_deploy_and_guide_follow_the_platforms_non_root_id(platform_repo: Path) -> None:
    path = platform_repo / layout.CONFIG_FILE
    path.write_text(path.read_text().replace("run_as_user: 10001", "run_as_user: 4321"))
    git(platform_repo, "commit", "-qam", "images run as 4321")
    files = files_for(platform_repo)
    (dep,) = yamlio.load_all(files["deploy/deployment.yaml"])
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 4321
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["priorityClassName"] == layout.TENANT_PRIORITY_CLASS
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    guide = files["KUPLOY.md"]
    # Both languages tell the student the id to use and that only /tmp is writable.
    assert guide.count("`USER 4321`") == 2 and "10001" not in guide
    assert "read-only except `/tmp`" in guide and "`/tmp` 를 제외하고 읽기 전용" in guide


def test_rules_copy_is_public_and_parses(platform_repo: Path) -> None:
    path = platform_repo / layout.CONFIG_FILE
    data = yamlio.load(path.read_text())
    data["github"].update(
        app_id="4242",
        app_private_key_file="/secure/app.pem",
        api_url="https://ghe.konkuk.example/api/v3",
        workflow_pip="git+https://git.example/kuploy@v1",
    )
    path.write_text(yamlio.dump(data))
    git(platform_repo, "commit", "-qam", "app auth")
    files = files_for(platform_repo)
    rules = files[".kuploy/kuploy.yaml"]
    assert "app.pem" not in rules and "4242" not in rules and "ghe.konkuk" not in rules
    assert workflow(files)["env"]["KUPLOY_PIP"] == "git+https://git.example/kuploy@v1"
    cfg = config.parse_config(yamlio.load(rules))
    assert cfg.tiers == config.load_config(platform_repo).tiers
    spec = tenant_spec.parse_spec(yamlio.load(files[".kuploy/tenants/kim-minji.yaml"]), "x")
    assert (spec.student, spec.tier, spec.name, spec.email) == (STUDENT, "small", "", "")
    (app,) = spec.apps
    assert (app.mode, app.repo, app.path, app.revision) == (
        "repo",
        "https://github.com/konkuk-kuploy/kim-minji-web.git",
        "deploy",
        layout.STUDENT_DEPLOY_BRANCH,
    )


def test_bad_options(platform_repo: Path) -> None:
    with pytest.raises(InvalidInputError, match="size 'huge'"):
        files_for(platform_repo, size="huge")
    with pytest.raises(InvalidInputError, match="port 70000"):
        files_for(platform_repo, port=70000)
    with pytest.raises(InvalidInputError, match="health path"):
        files_for(platform_repo, health_path="healthz")
    with pytest.raises(ConflictError, match="not onboarded"):
        scaffold.load_inputs(platform_repo, ScaffoldOptions(student="nobody", app="web"))


def test_write_scaffold(platform_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    opts = ScaffoldOptions(student=STUDENT, app="web")
    result = scaffold.write_scaffold(platform_repo, opts, out)
    assert sorted(result.written) == sorted(files_for(platform_repo))
    assert result.pull_secret_command == ""  # public packages: no pull secret by default
    for path in result.written:
        assert stat.S_IMODE((out / path).stat().st_mode) == 0o644
    assert not list(out.rglob(".kuploy-*"))
    again = scaffold.write_scaffold(platform_repo, opts, out)
    assert again.written == [] and len(again.unchanged) == len(result.written)
    # A differing file blocks the whole write (a missing one is not recreated either).
    (out / "KUPLOY.md").write_text("mine\n")
    (out / "deploy/service.yaml").unlink()
    with pytest.raises(ConflictError, match="KUPLOY.md"):
        scaffold.write_scaffold(platform_repo, opts, out)
    assert not (out / "deploy/service.yaml").exists()
    forced = scaffold.write_scaffold(platform_repo, opts, out, force=True)
    assert sorted(forced.written) == ["KUPLOY.md", "deploy/service.yaml"]
    public = scaffold.write_scaffold(
        platform_repo,
        ScaffoldOptions(student=STUDENT, app="web", private=False),
        tmp_path / "public",
    )
    assert public.pull_secret_command == ""
    set_pull_secret(platform_repo, "my-pull")
    command = scaffold.write_scaffold(platform_repo, opts, tmp_path / "named").pull_secret_command
    # Only this tenant's namespace, from the student's own credential; no token in the text.
    assert command == (
        "kubectl -n kim-minji create secret docker-registry my-pull --docker-server=ghcr.io "
        "--docker-username=<STUDENT_GITHUB_LOGIN> "
        "--docker-password=<THE_STUDENT'S_OWN_TOKEN_WITH_read:packages>"
    )
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        scaffold.write_scaffold(platform_repo, opts, tmp_path / "afile")


def test_the_workflow_validate_command_passes(
    platform_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exact command line of the workflow's validate step, run in a checkout."""
    from click.testing import CliRunner

    from kuploy_gitops.cli import main

    root = write(files_for(platform_repo), tmp_path / "checkout")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a fresh runner's cache
    env = workflow(files_for(platform_repo))["env"]
    result = CliRunner().invoke(
        main,
        [
            "-C",
            env["RULES_DIR"],
            "validate",
            "--student",
            env["STUDENT"],
            str(root / env["DEPLOY_DIR"]),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_the_guides_envfrom_snippet_pastes_at_the_containers_indentation(
    platform_repo: Path,
) -> None:
    """KUPLOY.md's `envFrom` lines go into the container of deploy/deployment.yaml as shown."""
    files = files_for(platform_repo)
    deployment = files[f"{layout.STUDENT_DEPLOY_DIR}/deployment.yaml"]
    (image,) = [line for line in deployment.splitlines() if line.lstrip().startswith("image:")]
    container_indent = len(image) - len(image.lstrip())
    snippets = re.findall(r"```yaml\n( *)envFrom:\n", files["KUPLOY.md"])
    assert len(snippets) == 2  # English and Korean
    assert {len(indent) for indent in snippets} == {container_indent}
