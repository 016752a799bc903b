"""The `app` commands: add, change (set), show and remove a student's apps."""

from __future__ import annotations

from typing import Any

import click

from kuploy_gitops.argocd.model import SHOW_TIMEOUT
from kuploy_gitops.cli import complete
from kuploy_gitops.cli.output import (
    Ctx,
    confirm,
    dry_run_option,
    escape,
    examples,
    output_option,
    pass_ctx,
    print_data,
    print_result,
    push_option,
    yes_option,
)
from kuploy_gitops.sizes import DEFAULT_SIZE, SIZES


@click.group(
    help="Add, change, show or remove a student's apps."
    + examples(
        "kuploy-gitops app add kim-minji web --image ghcr.io/org/web:1.0 --port 8080",
        "kuploy-gitops app add kim-minji api --repo https://github.com/org/kim-minji-api.git",
        "kuploy-gitops app set kim-minji web --tag 1.1 --env MODE=prod --replicas 2",
        "kuploy-gitops app show kim-minji web",
        "kuploy-gitops app remove kim-minji web",
    )
)
def app() -> None:
    """App commands."""


@app.command(
    "add",
    help="Add an app: platform-managed (--image/--port) or from the student's repo (--repo)."
    + examples(
        "kuploy-gitops app add kim-minji web --image ghcr.io/org/web:1.0 --port 8080 "
        "--env MODE=prod --health-path /healthz --replicas 2 --size tiny",
        "kuploy-gitops app add kim-minji api --repo https://github.com/org/kim-minji-api.git "
        "--path deploy --revision main",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@click.option("--image", default="", help="Platform-managed: container image.")
@click.option("--port", type=int, default=None, help="Platform-managed: container port.")
@click.option("--env", "env", multiple=True, help="Platform-managed: K=V (repeatable).")
@click.option("--health-path", default="/", show_default=True)
@click.option("--replicas", type=int, default=1, show_default=True)
@click.option("--size", default=DEFAULT_SIZE, show_default=True, help=", ".join(SIZES) + ".")
@click.option("--repo", "repo_url", default="", help="Student-repo mode: the repo URL.")
@click.option("--path", "repo_path", default="deploy", show_default=True)
@click.option("--revision", default="main", show_default=True)
@click.option(
    "--other-students-repo",
    is_flag=True,
    help="Student-repo mode: allow a repo that belongs to another student (shared on purpose).",
)
@dry_run_option
@push_option
@pass_ctx
def app_add(
    ctx: Ctx,
    student: str,
    app_name: str,
    image: str,
    port: int | None,
    env: tuple[str, ...],
    health_path: str,
    replicas: int,
    size: str,
    repo_url: str,
    repo_path: str,
    revision: str,
    other_students_repo: bool,
    dry_run: bool,
    push: bool,
) -> None:
    """Add an app."""
    from kuploy_gitops.ops import apps

    env_pairs = [apps.parse_env_pair(v) for v in env]
    result = apps.app_add(
        ctx.repo,
        apps.AppOptions(
            student=student,
            app=app_name,
            image=image,
            port=port,
            env=env_pairs,
            health_path=health_path,
            replicas=replicas,
            size=size,
            repo_url=repo_url,
            path=repo_path,
            revision=revision,
            other_students_repo=other_students_repo,
        ),
        dry_run=dry_run,
        push=push,
    )
    from kuploy_gitops.ops.appchange import env_warnings

    print_result(ctx, result, dry_run=dry_run)
    _warn(ctx, env_warnings(env_pairs, student, app_name))
    if not dry_run:
        ctx.console.print(f"URL: {apps.app_url(ctx.repo, student, app_name)}", markup=False)


def _warn(ctx: Ctx, warnings: list[str]) -> None:
    for line in warnings:
        ctx.err.print(f"[yellow]warning:[/] {escape(line)}")


@app.command(
    "remove",
    help="Remove an app and its manifests; asks first on a terminal (--yes for scripts)."
    + examples(
        "kuploy-gitops app remove kim-minji web",
        "kuploy-gitops app remove kim-minji web --yes --push",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@dry_run_option
@push_option
@yes_option
@pass_ctx
def app_remove(ctx: Ctx, student: str, app_name: str, dry_run: bool, push: bool, yes: bool) -> None:
    """Remove an app."""
    from kuploy_gitops.ops import apps

    if not dry_run and not confirm(
        ctx,
        f"Remove app {app_name!r} of {student!r}? Argo CD deletes its Deployment, Service and "
        "Ingress",
        yes=yes,
        command=f"kuploy-gitops app remove {student} {app_name}",
    ):
        return
    result = apps.app_remove(ctx.repo, student, app_name, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)


@app.command(
    "set",
    help="Change an app in place: one commit re-renders it and Argo CD rolls the Deployment "
    "(new pods before old ones go; no remove and add). Values are checked as `app add` checks "
    "them, sizes and replicas against the tier. A student-repo app takes --path/--revision only."
    + examples(
        "kuploy-gitops app set kim-minji web --tag 1.1",
        "kuploy-gitops app set kim-minji web --image ghcr.io/org/web@sha256:<digest>",
        "kuploy-gitops app set kim-minji web --env MODE=prod --unset-env DEBUG --replicas 2",
        "kuploy-gitops app set kim-minji web --size medium --port 3000 --health-path /healthz",
        "kuploy-gitops app set kim-minji api --revision v2 --dry-run",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@click.option("--image", default=None, help="New image reference (replaces the whole image).")
@click.option("--tag", default=None, help="New tag of the same image (not for a digest pin).")
@click.option("--env", "env", multiple=True, help="Set K=V (repeatable).")
@click.option("--unset-env", "unset_env", multiple=True, metavar="K", help="Remove K (repeatable).")
@click.option("--port", type=int, default=None, help="Container port.")
@click.option("--health-path", default=None, help="HTTP path of the probes.")
@click.option("--replicas", type=int, default=None, help="0-10.")
@click.option("--size", default=None, help=", ".join(SIZES) + ".")
@click.option("--path", "repo_path", default=None, help="Student-repo app: folder in the repo.")
@click.option("--revision", default=None, help="Student-repo app: branch, tag or commit.")
@dry_run_option
@push_option
@output_option("text", "json")
@pass_ctx
def app_set(
    ctx: Ctx,
    student: str,
    app_name: str,
    image: str | None,
    tag: str | None,
    env: tuple[str, ...],
    unset_env: tuple[str, ...],
    port: int | None,
    health_path: str | None,
    replicas: int | None,
    size: str | None,
    repo_path: str | None,
    revision: str | None,
    dry_run: bool,
    push: bool,
    output: str,
) -> None:
    """Change an app."""
    from kuploy_gitops.ops import appchange
    from kuploy_gitops.ops.apps import parse_env_pair

    done = appchange.app_set(
        ctx.repo,
        appchange.AppChange(
            student=student,
            app=app_name,
            image=image,
            tag=tag,
            env=[parse_env_pair(v) for v in env],
            unset_env=unset_env,
            port=port,
            health_path=health_path,
            replicas=replicas,
            size=size,
            path=repo_path,
            revision=revision,
        ),
        dry_run=dry_run,
        push=push,
    )
    if output == "json":
        data = done.to_data()
        if dry_run:
            data["dry_run"] = True
            data["diff"] = done.result.diff
        print_data(data, "json")
        return
    if not done.changes:
        ctx.console.print(f"nothing to do: {escape(done.result.summary)} already is that way.")
    else:
        print_result(ctx, done.result, dry_run=dry_run)
    _warn(ctx, done.warnings)
    ctx.console.print(f"URL: {done.url}", markup=False)


@app.command(
    "show",
    help="Show an app: mode, image, URL, replicas and size, env (values of secret-looking "
    "variables hidden), and Argo CD's sync and health when Argo CD is configured and answers "
    "(ARGOCD_SERVER or argocd.server, ARGOCD_AUTH_TOKEN; otherwise one line says why not)."
    + examples(
        "kuploy-gitops app show kim-minji web",
        "kuploy-gitops app show kim-minji web -o json",
        "kuploy-gitops app show kim-minji web --no-argocd",
    ),
)
@click.argument("student", shell_complete=complete.students)
@click.argument("app_name", metavar="APP", shell_complete=complete.apps)
@click.option("--no-argocd", is_flag=True, help="Do not ask Argo CD (repo only).")
@click.option(
    "--timeout",
    type=float,
    default=SHOW_TIMEOUT,
    show_default=True,
    help="Seconds to wait for Argo CD.",
)
@output_option("text", "json")
@pass_ctx
def app_show(
    ctx: Ctx, student: str, app_name: str, no_argocd: bool, timeout: float, output: str
) -> None:
    """Show an app."""
    from kuploy_gitops.argocd import appview
    from kuploy_gitops.argocd.ops import ConnectOptions

    data = appview.show(
        ctx.repo, student, app_name, ConnectOptions(timeout=timeout), ask_argocd=not no_argocd
    )
    if output == "json":
        print_data(data, "json")
        return
    for label, value in show_lines(data):
        ctx.console.print(f"{label + ':':<13} {escape(value)}")


def show_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The text form of `app show`: (label, value) lines."""
    mode = "platform-managed" if data["mode"] == "managed" else "from the student's repo"
    lines = [("app", f"{data['student']}/{data['app']} ({mode})"), ("URL", data["url"])]
    if data["mode"] == "repo":
        lines += [("repo", data["repo"]), ("path", data["path"]), ("revision", data["revision"])]
    else:
        res = data["resources"]
        per_pod = (
            f"requests {res['requests']['cpu']}/{res['requests']['memory']}, "
            f"limits {res['limits']['cpu']}/{res['limits']['memory']} each"
        )
        env = ", ".join(
            f"{v['name']}=(hidden)" if v.get("hidden") else f"{v['name']}={v['value']}"
            for v in data["env"]
        )
        lines += [
            ("image", data["image"]),
            ("port", f"{data['port']} (health path {data['health_path']})"),
            ("replicas", f"{data['replicas']} x {data['size']} ({per_pod})"),
            ("env", env or "none"),
            *(
                [("secrets", f"{', '.join(data['secrets'])} (sealed, envFrom)")]
                if data.get("secrets")
                else []
            ),
            ("manifests", data["manifests"]),
        ]
    lines.append(("Application", f"{data['application']} ({data['application_file']})"))
    live = data.get("argocd")
    if live is not None:
        lines.append(("Argo CD", argocd_line(live)))
    return lines


def argocd_line(live: dict[str, Any]) -> str:
    """One line of Argo CD's status (or why there is none)."""
    if not live["reachable"]:
        return f"unavailable ({live['reason']})"
    if not live["registered"]:
        return str(live["reason"])
    text = f"{live['sync']}/{live['health']}"
    if live["revision"]:
        text += f" at {live['revision'][:8]}"
    if live["last_operation"] not in ("", "-"):
        text += f", last sync {live['last_operation']}"
    return text + (f"; {live['reason']}" if live["reason"] else "")
