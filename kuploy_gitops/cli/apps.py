"""The `app` commands: add and remove a student's apps."""

from __future__ import annotations

import click

from kuploy_gitops.cli.output import (
    Ctx,
    dry_run_option,
    examples,
    pass_ctx,
    print_result,
    push_option,
)
from kuploy_gitops.sizes import DEFAULT_SIZE, SIZES


@click.group(
    help="Add or remove a student's apps."
    + examples(
        "kuploy-gitops app add kim-minji web --image ghcr.io/org/web:1.0 --port 8080",
        "kuploy-gitops app add kim-minji api --repo https://github.com/org/kim-minji-api.git",
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
@click.argument("student")
@click.argument("app_name", metavar="APP")
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

    result = apps.app_add(
        ctx.repo,
        apps.AppOptions(
            student=student,
            app=app_name,
            image=image,
            port=port,
            env=[apps.parse_env_pair(v) for v in env],
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
    print_result(ctx, result, dry_run=dry_run)
    if not dry_run:
        ctx.console.print(f"URL: {apps.app_url(ctx.repo, student, app_name)}", markup=False)


@app.command(
    "remove",
    help="Remove an app and its manifests." + examples("kuploy-gitops app remove kim-minji web"),
)
@click.argument("student")
@click.argument("app_name", metavar="APP")
@dry_run_option
@push_option
@pass_ctx
def app_remove(ctx: Ctx, student: str, app_name: str, dry_run: bool, push: bool) -> None:
    """Remove an app."""
    from kuploy_gitops.ops import apps

    result = apps.app_remove(ctx.repo, student, app_name, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)
