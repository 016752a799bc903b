"""``github setup --dry-run`` and ``github teardown --dry-run``: their steps, from local state.

Setup is idempotent: each step makes sure of one thing (the repo, the scaffold, the collaborator,
the webhook, the deploy key, the Application) and changes only what is missing. A dry run checks
everything setup checks before it talks to anyone (the spec, the login, the app's options) and
lists those steps with their values; it needs no credentials and contacts neither GitHub nor
Argo CD, so it cannot say which steps would find their thing already in place.
"""

from __future__ import annotations

from pathlib import Path

from kuploy_gitops import layout
from kuploy_gitops.github import deploykey, scaffold
from kuploy_gitops.github.ops import SetupOptions, SetupResult, Step, check_setup, webhook_url
from kuploy_gitops.github.teardown import TeardownOptions, targets

PLANNED = "plan"
"""The status of every step of a dry run."""


def setup_plan(repo: Path, opts: SetupOptions) -> SetupResult:
    """The steps `github setup` would take for ``opts`` (status ``plan``), writing nothing.

    Raises:
        ConflictError, InvalidInputError: what setup itself would refuse before starting.
    """
    cfg, spec, config_data, login = check_setup(repo, opts)
    org = cfg.github_org
    name = scaffold.repo_name(cfg, opts.student, opts.app)
    private = cfg.github.private
    sopts = opts.scaffold_options(private=private, branch="main")
    files = sorted(scaffold.scaffold_files(cfg, spec, sopts, config_data))
    result = SetupResult(student=opts.student, app=opts.app, repo=f"{org}/{name}")
    shown = ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
    steps = [
        Step("repo", PLANNED, f"{org}/{name}, {'private' if private else 'public'}, if missing"),
        Step("scaffold", PLANNED, f"one commit of the files that differ: {shown}"),
        Step("collaborator", PLANNED, f"{login} with push access"),
    ]
    if cfg.github.course_team:
        steps.append(Step("course team", PLANNED, f"{login} in {org}/{cfg.github.course_team}"))
    steps.append(
        Step("webhook", PLANNED, webhook_url(cfg))
        if cfg.github.webhook
        else Step("webhook", "skipped", "github.webhook is off (Argo CD polls)")
    )
    key = "replaced" if opts.rotate_key else "read-only, if missing or not working"
    steps.append(
        Step(
            deploykey.STEP,
            PLANNED,
            f"{deploykey.key_title(cfg)}: {key}; its private half in Argo CD project "
            f"{layout.project_name(opts.student)}",
        )
    )
    steps.append(
        Step(
            "application",
            PLANNED,
            f"student-repo app {opts.app} in {layout.tenant_spec(opts.student)}, rendered "
            "and committed to the platform repo" + (" and pushed" if opts.push else ""),
        )
    )
    result.steps.extend(steps)
    return result


def teardown_plan(repo: Path, opts: TeardownOptions) -> list[SetupResult]:
    """The steps `github teardown` would take for each repo (status ``plan``), touching nothing.

    Raises:
        InvalidInputError: a bad student name, or no student-repo app known.
    """
    cfg, apps, login = targets(repo, opts)
    results = []
    for app in apps:
        full = f"{cfg.github_org}/{scaffold.repo_name(cfg, opts.student, app)}"
        result = SetupResult(student=opts.student, app=app, repo=full)
        result.steps.extend(
            [
                Step("webhook", PLANNED, f"remove the hooks to {webhook_url(cfg)}"),
                Step(
                    "collaborator",
                    PLANNED,
                    f"remove {login}" if login else "none known (give --github LOGIN)",
                ),
                Step(deploykey.STEP, PLANNED, "remove it, and its Argo CD repository"),
                Step("repo", PLANNED, f"archive {full} (never deleted)"),
            ]
        )
        results.append(result)
    return results
