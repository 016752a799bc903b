"""The platform-repo commands: `init`, `render` and `demo`."""

from __future__ import annotations

from pathlib import Path

import click

from kuploy_gitops.cli.output import (
    Ctx,
    dry_run_option,
    examples,
    pass_ctx,
    print_result,
    print_table,
    progress,
    push_option,
    unpushed,
)


@click.command(
    help="Create (or adopt an empty) platform GitOps repo with kuploy.yaml, the root "
    "Application, the admin project, pinned add-ons and a CI workflow; commit it. Re-running "
    "changes nothing (an option that differs from kuploy.yaml is refused, naming the key to edit)."
    + examples(
        "kuploy-gitops init platform-gitops",
        "kuploy-gitops init . --domain apps.lab.konkuk.ac.kr --github-org konkuk-cs "
        "--repo-url https://github.com/konkuk-cs/platform-gitops.git",
    )
)
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--cluster-name", default=None, show_default="konkuk-lab")
@click.option("--domain", default=None, show_default="apps.konkuk.example", help="Base domain.")
@click.option(
    "--repo-url",
    default=None,
    show_default="https://github.com/<github-org>/platform-gitops.git",
    help="URL Argo CD clones this repo from.",
)
@click.option("--branch", default=None, show_default="main")
@click.option("--github-org", default=None, show_default="konkuk-kuploy")
@click.option(
    "--argocd-server", default=None, help="Argo CD URL (default https://argocd.<domain>)."
)
@dry_run_option
@push_option
@pass_ctx
def init(
    ctx: Ctx,
    directory: Path | None,
    cluster_name: str | None,
    domain: str | None,
    repo_url: str | None,
    branch: str | None,
    github_org: str | None,
    argocd_server: str | None,
    dry_run: bool,
    push: bool,
) -> None:
    """Initialise a platform repo."""
    from kuploy_gitops.ops import platform

    repo = directory if directory is not None else ctx.repo
    result = platform.init(
        platform.InitOptions(
            repo=repo,
            cluster_name=cluster_name,
            domain=domain,
            repo_url=repo_url,
            branch=branch,
            github_org=github_org,
            argocd_server=argocd_server,
        ),
        dry_run=dry_run,
        push=push,
    )
    print_result(ctx, result, dry_run=dry_run)
    if result.changed and not dry_run:
        ctx.console.print(
            f"next: connect Argo CD with `{platform.connect_command(repo)}` (see the repo README)"
        )


@click.command(
    help="Re-render every tenant from the specs and commit. --check lists drift and writes "
    "nothing." + examples("kuploy-gitops render", "kuploy-gitops render --check")
)
@click.option("--check", is_flag=True, help="Exit 7 and list files that differ; change nothing.")
@dry_run_option
@push_option
@pass_ctx
def render(ctx: Ctx, check: bool, dry_run: bool, push: bool) -> None:
    """Render every tenant."""
    from kuploy_gitops.ops import render as render_ops

    if check:
        render_ops.render_check(ctx.repo)
        ctx.console.print("no drift: every rendered file matches the specs.")
        return
    result = render_ops.render_all(ctx.repo, dry_run=dry_run, push=push)
    print_result(ctx, result, dry_run=dry_run)


@click.command(
    help="Make a demo platform repo on the embedded default: init, a sample roster onboarded, "
    "an app added, committed; no GitHub or cluster needed."
    + examples("kuploy-gitops demo", "kuploy-gitops demo /tmp/demo-gitops")
)
@click.argument("directory", required=False, default="demo-gitops", type=click.Path(path_type=Path))
@pass_ctx
def demo(ctx: Ctx, directory: Path) -> None:
    """Build the demo repo."""
    from kuploy_gitops.ops import demo as demo_ops

    with progress(ctx, "onboarding sample roster") as report:
        summary = demo_ops.demo(directory, progress=report)
    ctx.console.print(f"[green]demo platform repo ready:[/] {directory}")
    print_table(ctx, ["what", "where"], summary)


@click.command(
    help="Push the branch's commits: fetch, rebase onto the remote, check that the rebased "
    "tenants still render as committed, push; retried with backoff while other admins push "
    "(for up to 60 s; KUPLOY_PUSH_TIMEOUT sets it). What a failed --push tells you to run."
    + examples("kuploy-gitops push", "KUPLOY_PUSH_TIMEOUT=180 kuploy-gitops -C platform push")
)
@pass_ctx
def push(ctx: Ctx) -> None:
    """Push the branch."""
    from kuploy_gitops.ops import writing

    result = writing.push_repo(ctx.repo)
    if result.pushed:
        ctx.console.print(f"[green]pushed[/] {result.commit[:12]} to {result.pushed}")
    else:
        ctx.console.print(f"nothing to push: {unpushed(result)}.")


@click.command(
    help="Finish (or undo) a write that was interrupted (killed, power loss): every command "
    "does this first; this command does only that. It never touches a running write."
    + examples("kuploy-gitops recover", "kuploy-gitops -C platform-gitops recover")
)
@pass_ctx
def recover(ctx: Ctx) -> None:
    """Recover an interrupted write."""
    from kuploy_gitops.ops import writing

    done = writing.settle(ctx.repo)
    ctx.console.print(done or f"nothing to recover in {ctx.repo}.")
