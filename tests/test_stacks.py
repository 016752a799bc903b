"""Stacks: each stack's scaffold (Dockerfile, .dockerignore, deploy/, guide) and its probes.

Every stack's scaffold passes what a student's push runs into: hadolint on the Dockerfile,
actionlint on the workflow, ``kubectl kustomize`` and ``validate --student`` on ``deploy/``. The
Dockerfile is parsed to check what the platform needs of it: a numeric non-root USER (the
platform's id) in the image that runs, the stack's port, pinned base images, no secrets.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kuploy_gitops import api, config, layout, stacks, yamlio
from kuploy_gitops.cli import main
from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.github import scaffold
from kuploy_gitops.github.scaffold import ScaffoldOptions
from kuploy_gitops.validate import engine

STUDENT = "kim-minji"
# What a Dockerfile must never set in ENV or ARG: build arguments and environment variables
# are readable by anyone who pulls the image (`docker history`, `docker inspect`).
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY", re.IGNORECASE)


@pytest.fixture(scope="module")
def platform_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One onboarded student; the tests here only read it."""
    repo = tmp_path_factory.mktemp("stacks") / "platform"
    api.init(api.InitOptions(repo=repo))
    api.onboard(repo, api.OnboardOptions(student=STUDENT, github="minji-k"))
    return repo


def files_for(repo: Path, **kw: Any) -> dict[str, str]:
    opts = ScaffoldOptions(student=STUDENT, app=kw.pop("app", "web"), **kw)
    cfg, spec, data = scaffold.load_inputs(repo, opts)
    return scaffold.scaffold_files(cfg, spec, opts, data)


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "a continuation line at the end"
    return out


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (k, _) in enumerate(steps) if k == "FROM"]
    return steps[starts[-1] :]


def env_names(args: str) -> list[str]:
    """The variable names of an ENV or ARG instruction (``K=V`` pairs or ``K V``)."""
    if "=" not in args.split(" ", 1)[0]:
        return [args.split(" ", 1)[0]]
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", args)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns (with ``!`` exceptions, last match wins) drop ``path``."""
    out = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = {pattern, pattern.removeprefix("**/")}
        parts = path.rstrip("/").split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates) or (
            pattern.startswith("**/")
            and any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        ):
            out = not negate
    return out


def test_unknown_stack_is_one_line_naming_the_valid_ones(
    platform_repo: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="stack 'rails' does not exist"):
        files_for(platform_repo, stack="rails")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "-C",
            str(platform_repo),
            "scaffold",
            STUDENT,
            "web",
            "--out",
            str(out),
            "--stack",
            "rails",
        ],
        env={"NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert result.exit_code == 4
    assert result.output.strip().splitlines() == [
        "error: stack 'rails' does not exist; use one of spring, node, fastapi, django, static"
    ]
    assert not out.exists()


def test_help_lists_the_stacks() -> None:
    for command in (["scaffold"], ["github", "setup"]):
        result = CliRunner().invoke(main, [*command, "--help"], env={"COLUMNS": "200"})
        assert "--stack spring|node|fastapi|django|static" in result.output


def test_without_a_stack_the_scaffold_has_no_dockerfile(platform_repo: Path) -> None:
    files = files_for(platform_repo)
    assert layout.STUDENT_DOCKERFILE not in files and layout.STUDENT_DOCKERIGNORE not in files
    (dep,) = yamlio.load_all(files["deploy/deployment.yaml"])
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 8080
    assert "startupProbe" not in container
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/", "port": "http"},
        "initialDelaySeconds": 10,
        "periodSeconds": 20,
        "failureThreshold": 3,
    }
    assert "Your stack" not in files["KUPLOY.md"] and "내 스택" not in files["KUPLOY.md"]


def test_probes_per_stack() -> None:
    host = "web-kim-minji.apps.example"
    spring = stacks.probes(stacks.STACKS["spring"], "/actuator/health", host)
    assert list(spring) == ["startupProbe", "readinessProbe", "livenessProbe"]
    # The JVM gets three minutes to answer first; liveness waits for it instead of a delay.
    assert (
        spring["startupProbe"]["periodSeconds"] * spring["startupProbe"]["failureThreshold"] == 180
    )
    assert "initialDelaySeconds" not in spring["livenessProbe"]
    django = stacks.probes(stacks.STACKS["django"], "/admin/login/", host)
    for probe in django.values():
        assert probe["httpGet"]["httpHeaders"] == [{"name": "Host", "value": host}]
    node = stacks.probes(stacks.STACKS["node"], "/", host)
    assert list(node) == ["readinessProbe", "livenessProbe"]
    assert "httpHeaders" not in node["livenessProbe"]["httpGet"]


def test_a_port_and_path_given_win_over_the_stacks(platform_repo: Path) -> None:
    files = files_for(platform_repo, stack="node", port=4000, health_path="/healthz")
    (dep,) = yamlio.load_all(files["deploy/deployment.yaml"])
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 4000
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "EXPOSE 4000" in files["Dockerfile"] and "PORT=4000" in files["Dockerfile"]
    # nginx's port is its configuration's: another one would deploy an app nobody answers.
    with pytest.raises(InvalidInputError, match="stack 'static' serves on port 8080, not 3000"):
        files_for(platform_repo, stack="static", port=3000)


def run_tool(tool: str, args: list[str], cwd: Path) -> None:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (test extra)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, f"{tool}: {proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("name", list(stacks.STACKS))
def test_stack_scaffold(platform_repo: Path, tmp_path: Path, name: str) -> None:
    stack = stacks.STACKS[name]
    cfg = config.load_config(platform_repo)
    uid = cfg.pss_run_as_user
    files = files_for(platform_repo, app="api", stack=name)
    root = tmp_path / "student"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    dockerfile = files[layout.STUDENT_DOCKERFILE]
    steps = instructions(dockerfile)
    if name == "static":  # what it copies is in the scaffold: the first build succeeds
        sources = [args.split()[0] for k, args in steps if k == "COPY" and "--from" not in args]
        assert sources == ["public/"] and "public/index.html" in files

    # The image that runs ends as the platform's numeric, non-root id, created in that image.
    last = final_stage(steps)
    users = [args for k, args in last if k == "USER"]
    assert users and users[-1] == str(uid) and int(users[-1]) > 0
    # ... and stays so: nothing after the USER line but what describes how it runs.
    tail = [k for k, _ in last][[k for k, _ in last].index("USER") + 1 :]
    assert set(tail) <= {"EXPOSE", "CMD", "ENTRYPOINT"} and "USER" not in tail
    if name != "static":  # nginx needs no user entry (the static image adds no RUN at all)
        creates = [a for k, a in last if k == "RUN" and re.search(rf"(-u|--uid) {uid}\b", a)]
        assert len(creates) == 1, "the final stage creates the user once"
    # The stack's port, the deploy folder's port, the Service's target: one number.
    assert [a for k, a in last if k == "EXPOSE"] == [str(stack.port)]
    # Base images pinned by tag (never latest, never untagged); nothing fetched by URL.
    for k, args in steps:
        if k == "FROM":
            image = args.split()[0]
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), image
            assert not image.endswith(":latest")
        assert k != "ADD", "COPY, never ADD (no URLs, no archives unpacked)"
        if k in ("ENV", "ARG"):
            assert not [n for n in env_names(args) if SECRET_NAME.search(n)], args
        if k == "RUN":
            assert "--mount=type=secret" not in args
            if "pip install" in args:
                assert "--no-cache-dir" in args
            if "npm " in args and "install" in args:
                raise AssertionError("npm ci, not npm install: the lock file decides")
    # Multi-stage (build tools stay out of the image) but for static files, which need no build.
    assert sum(k == "FROM" for k, _ in steps) == (1 if name == "static" else 2)

    # .dockerignore keeps secrets and the repo's machinery out, and nothing the build copies.
    patterns = [
        p for p in files[layout.STUDENT_DOCKERIGNORE].splitlines() if p and not p.startswith("#")
    ]
    for path in (".env", "config/.env", "key.pem", ".git", "deploy", ".kuploy", "KUPLOY.md"):
        assert ignored(path, patterns), path
    for k, args in steps:
        if k == "COPY" and "--from=" not in args:
            for source in args.split()[:-1]:
                assert source == "." or not ignored(source, patterns), source
    for needed in {
        "spring": ["mvnw", ".mvn/wrapper/maven-wrapper.properties", "gradlew", "gradle/wrapper"],
        "node": ["package.json", "package-lock.json", "src/index.js"],
        "fastapi": ["requirements.txt", "main.py", "app/routers.py"],
        "django": ["requirements.txt", "manage.py", "config/settings.py"],
        "static": ["public/index.html"],
    }[name]:
        assert not ignored(needed, patterns), needed

    # deploy/: the stack's port and probes, the platform's ids, built and admitted.
    (dep,) = yamlio.load_all(files["deploy/deployment.yaml"])
    pod = dep["spec"]["template"]["spec"]
    assert {k: pod["securityContext"][k] for k in ("runAsUser", "runAsGroup", "fsGroup")} == {
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
    }
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": stack.port, "protocol": "TCP"}]
    host = cfg.host(STUDENT, "api")
    assert {k: v for k, v in container.items() if k.endswith("Probe")} == stacks.probes(
        stack, stack.health_path, host
    )
    built = subprocess.run(
        ["kubectl", "kustomize", str(root / "deploy")], check=True, capture_output=True, text=True
    ).stdout
    kinds = {d["kind"]: d for d in yamlio.load_all(built)}
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    report = engine.validate_student(
        engine.Options(repo=root / layout.STUDENT_RULES_DIR, cache_dir=tmp_path / "c"),
        STUDENT,
        root / "deploy",
    )
    assert [f.to_data() for f in report.findings] == []

    # The guide's page for the stack, in both languages.
    guide = files["KUPLOY.md"]
    assert f"### Your stack: {stack.title}" in guide and f"### 내 스택: {stack.title}" in guide
    assert guide.count(f"--user {uid}:{uid} --read-only --tmpfs /tmp") == 2
    assert guide.count(f"http://localhost:{stack.port}{stack.health_path}") == 2
    assert guide.count(f"`USER {uid}`") >= 4  # the deploy steps and the stack page, twice each

    # What a student's push runs: hadolint at its default threshold (no ignores), actionlint.
    run_tool("hadolint", ["--no-color", layout.STUDENT_DOCKERFILE], root)
    run_tool("actionlint", [layout.STUDENT_WORKFLOW_FILE], root)
    # The workflow does not depend on the stack (tests/test_scaffold.py checks it in full).
    assert (
        files[layout.STUDENT_WORKFLOW_FILE]
        == files_for(platform_repo, app="api")[layout.STUDENT_WORKFLOW_FILE]
    )
