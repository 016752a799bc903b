"""The `validate` command: parse flags, call the validation engine once, print the report."""

from __future__ import annotations

from pathlib import Path

import click

from kuploy_gitops.cli.output import Ctx, examples, pass_ctx, progress, use_colour
from kuploy_gitops.errors import UsageError

FORMATS = ("text", "json", "github")


@click.command(
    "validate",
    help="Check the platform repo (or a student's deploy folder) the way the API server, the "
    "admission chain and Argo CD would: strict schemas, Pod Security, quota, tenant isolation, "
    "ingress hosts, images, Secrets, kustomize builds and drift. Exit 8 on errors."
    + examples(
        "kuploy-gitops validate",
        "kuploy-gitops -C platform-gitops validate -o json",
        "kuploy-gitops validate --changed-since origin/main --format github",
        "kuploy-gitops -C ../platform-gitops validate --student kim-minji deploy/",
    ),
)
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--student",
    default="",
    help="Validate FOLDER (a student's deploy/) as this "
    "student's app, against the platform repo given with -C.",
)
@click.option(
    "--app",
    default="",
    help="With --student: the student's app FOLDER deploys. The tenant's other apps in the "
    "platform repo share its quota and are counted (a platform-managed app named here is "
    "replaced by FOLDER), and a Helm chart's release is named <student>-<app>, as Argo CD "
    "names it. Default: FOLDER is a student-repo app of its own (its release: the student's "
    "repo app with FOLDER's path).",
)
@click.option(
    "--crd-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with CRD manifests to use instead of the bundled ones (default: "
    "argocd.crd_dir in kuploy.yaml, else the CRDs shipped with kuploy-gitops).",
)
@click.option(
    "--kubernetes-version",
    default="",
    metavar="X.Y.Z",
    help="Schemas of this version (default: cluster.kubernetes_version).",
)
@click.option(
    "--changed-since",
    default="",
    metavar="REF",
    help="Only tenants touched since this git ref (cross-tenant rules see all).",
)
@click.option("--no-kustomize", is_flag=True, help="Check raw files; do not run kubectl kustomize.")
@click.option("--no-drift", is_flag=True, help="Skip the check that rendered files match specs.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where validate keeps kustomize builds and tenant results between runs "
    "(default: ~/.cache/kuploy-gitops).",
)
@click.option("--no-cache", is_flag=True, help="Keep no cache: build and check everything afresh.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel kustomize builds (default: number of cores).",
)
@click.option("--warnings-as-errors", is_flag=True, help="Exit 8 on warnings too.")
@click.option(
    "-o",
    "--output",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text (grouped by tenant), json, or github (workflow annotations).",
)
@pass_ctx
def validate_cmd(
    ctx: Ctx,
    folder: Path | None,
    student: str,
    app: str,
    crd_dir: Path | None,
    kubernetes_version: str,
    changed_since: str,
    no_kustomize: bool,
    no_drift: bool,
    cache_dir: Path | None,
    no_cache: bool,
    jobs: int | None,
    warnings_as_errors: bool,
    fmt: str,
) -> None:
    """Validate the repo or a student's folder."""
    from kuploy_gitops.validate import engine, report

    if folder is not None and not student:
        raise UsageError(f"FOLDER {folder} needs --student", hint="add --student NAME")
    if student and folder is None:
        raise UsageError("--student needs the student's FOLDER", hint="e.g. --student S deploy/")
    if app and not student:
        raise UsageError("--app works with --student FOLDER", hint="add --student NAME FOLDER")
    if app:
        from kuploy_gitops.names import check_app_name

        check_app_name(app)
    if student and changed_since:
        raise UsageError(
            "--changed-since works on the platform repo, not with --student",
            hint="drop one of them",
        )
    opts = engine.Options(
        repo=ctx.repo,
        crd_dir=crd_dir,
        kubernetes_version=kubernetes_version,
        changed_since=changed_since,
        kustomize=not no_kustomize,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        drift=not no_drift,
        jobs=jobs,
        app=app,
    )
    with progress(ctx, "kustomize builds") as report_progress:
        if student and folder is not None:
            result = engine.validate_student(opts, student, folder, report_progress)
        else:
            result = engine.validate_repo(opts, report_progress)
    if fmt == "json":
        click.echo(report.render_json(result))
    elif fmt == "github":
        click.echo(report.render_github(result), nl=False)
    else:
        click.echo(report.render_text(result), color=use_colour())
    report.ensure_passed(result, warnings_as_errors=warnings_as_errors)
