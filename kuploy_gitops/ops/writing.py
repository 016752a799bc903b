"""The write flow every operation shares: open the repo, plan a tenant, check, apply, commit."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from kuploy_gitops import drift, layout, plan, render, tenant_spec
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.errors import ConfigError, ConflictError, FindingsError, GitError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.plan import ApplyResult, FilePlan
from kuploy_gitops.tenant_spec import TenantSpec

Progress = Callable[[int, int], None]
"""A progress callback: (done, total)."""


@contextlib.contextmanager
def writing(repo: Path, student: str | None = None) -> Iterator[tuple[GitRepo, PlatformConfig]]:
    """Open the platform repo for a write: recover, lock, load config, refuse dirty files.

    With ``student``, only the files that write can touch are checked for uncommitted changes
    (kuploy.yaml and that tenant's), against HEAD: a check over every tenant would make
    onboarding into a repo of thousands of tenants cost more than into an empty one.
    """
    git = GitRepo(repo)
    cfg = load_config(repo)
    if not git.is_repo():
        raise ConfigError(
            f"{repo} has {layout.CONFIG_FILE} but is not the top of a git repo",
            hint="run kuploy-gitops from the platform repo's top folder (or -C it)",
        )
    with git.lock():
        plan.recover(git)
        if student is None:
            dirty = git.dirty_paths(layout.OWNED_PATHS)
        else:
            # Compared with HEAD directly: `git status` reads an index that grows with the
            # number of tenants, and a one-tenant write must cost the same in any repo.
            dirty = git.changed_since_head(layout.tenant_owned_paths(student))
        if dirty:
            shown = ", ".join(dirty[:3]) + (" ..." if len(dirty) > 3 else "")
            raise ConflictError(
                f"uncommitted changes in files kuploy owns: {shown}",
                hint="commit or stash them first (git status shows them)",
            )
        yield git, cfg


def dry_run_result(fplan: FilePlan, message: str, summary: str) -> ApplyResult:
    """What ``--dry-run`` reports: the changed paths and their diff; nothing is written."""
    changes = fplan.effective()
    return ApplyResult(summary=summary, message=message, changed=list(changes), diff=fplan.diff())


def finish(
    git: GitRepo,
    cfg: PlatformConfig,
    fplan: FilePlan,
    message: str,
    *,
    summary: str,
    dry_run: bool,
    push: bool,
) -> ApplyResult:
    """Validate the plan, then apply and commit it (and push); with ``dry_run`` only report."""
    check_plan(fplan, cfg)
    if dry_run:
        return dry_run_result(fplan, message, summary)
    result = plan.apply(git, fplan, message, summary=summary)
    if not result.changed:
        return result
    if push:
        result.pushed = git.push(check=rebased_check(git))
        result.commit = git.head() or result.commit  # a rebase before the push rewrites it
    else:
        note_unpushed(git, result)
    return result


def note_unpushed(git: GitRepo, result: ApplyResult) -> None:
    """Record on ``result`` where the commit would go and how far ahead the branch is."""
    upstream = git.upstream()
    if upstream is not None:
        result.upstream = upstream
        result.ahead = git.ahead_of(upstream)


def commit_tenant(
    git: GitRepo,
    cfg: PlatformConfig,
    spec: TenantSpec,
    message: str,
    *,
    summary: str,
    dry_run: bool,
    push: bool,
) -> ApplyResult:
    """Write one tenant as ``spec`` says (its spec and every rendered file) in one commit."""
    fplan = FilePlan(git.path)
    tenant_plan(fplan, cfg, spec)
    return finish(git, cfg, fplan, message, summary=summary, dry_run=dry_run, push=push)


def check_plan(fplan: FilePlan, cfg: PlatformConfig) -> None:
    """Validate the change set with the repo around it before anything is written.

    Schemas, admission and isolation rules run on the touched tenants (kustomize builds are
    left to `validate` in CI: the admin's machine need not have kubectl).
    """
    files = fplan.effective()
    # Deletions alone cannot add a bad object; nor can an archived spec (`offboard --archive`),
    # which nothing renders or syncs: a term's offboarding checks no leaving tenant.
    archive = f"{layout.ARCHIVE_DIR}/"
    if not any(t is not None and not p.startswith(archive) for p, t in files.items()):
        return
    # The heaviest imports of the package: only a write that changes something pays for them.
    from kuploy_gitops.validate import engine
    from kuploy_gitops.validate.findings import ERROR

    # Cross-tenant rules read every tenant; kuploy's own names and hosts are unique by
    # construction (see check_application_names), so they are left to `validate` in CI.
    found = engine.validate_files(cfg, files, fplan.root, kustomize=False, cross_tenant=False)
    errors = [f for f in found if f.severity == ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise FindingsError(
            f"refusing to write {first.file}: {first.rule}: {first.message}{more}",
            hint=first.fix or "run `kuploy-gitops validate` for the full report",
        )


def tenant_plan(
    fplan: FilePlan, cfg: PlatformConfig, spec: TenantSpec, previous: TenantSpec | None = None
) -> None:
    """Plan a tenant's spec and rendered files, removing its files that are no longer rendered.

    ``previous`` is the spec on disk when the write may change the GitHub login: the old
    login's file is then released.
    """
    check_application_names(fplan.root, spec)
    files = render.render_tenant(cfg, spec)
    for old in existing_tenant_files(fplan.root, spec.student):
        if old not in files:
            fplan.delete(old)
    if previous and previous.github and layout.login_marker(previous.github) not in files:
        release_login(fplan, previous)
    fplan.write(layout.tenant_spec(spec.student), tenant_spec.dump_spec(spec))
    fplan.write_all(files)


def release_login(fplan: FilePlan, spec: TenantSpec) -> None:
    """Plan the removal of the file of ``spec``'s login, if it names this student.

    A file naming someone else (or already planned for someone else) is theirs: left alone.
    """
    marker = layout.login_marker(spec.github)
    if marker in fplan.changes:
        return
    if fplan.current(marker) == layout.login_marker_text(spec.student):
        fplan.delete(marker)


def check_application_names(root: Path, spec: TenantSpec) -> None:
    """Refuse an app whose Application name another tenant already has.

    Applications share one namespace and are named ``<student>-<app>``, so student ``kim-lee``
    with app ``web`` and student ``kim`` with app ``lee-web`` would collide. The candidates are
    found from the name's hyphens, so the check costs a few stat calls, whatever the repo size.
    """
    for app in spec.apps:
        full = layout.application_name(spec.student, app.name)
        for i, char in enumerate(full):
            if char != "-" or full[:i] == spec.student:
                continue
            other, other_app = full[:i], full[i + 1 :]
            if (root / layout.application_file(other, other_app)).is_file():
                raise ConflictError(
                    f"app {app.name!r} of {spec.student!r} would be Application {full!r}, which "
                    f"student {other!r} already has (app {other_app!r})",
                    hint="pick another app name",
                )


def existing_tenant_files(root: Path, student: str) -> list[str]:
    """Every file kuploy rendered for ``student`` that is on disk now (sorted)."""
    out: list[str] = []
    for folder in (layout.tenant_dir(student), layout.workload_dir(student)):
        base = root / folder
        if base.is_dir():
            out.extend(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())
    return sorted(out)


# -- several admins, interruptions -------------------------------------------------------------


def settle(repo: Path) -> str:
    """Finish or undo an interrupted write in ``repo`` before any command reads or writes it.

    Every command calls this first (the CLI does, before the command runs), so a read never
    sees a half-applied write and a human's ``git commit`` finds nothing half-staged after the
    next kuploy command. Cheap when there is nothing to do: it looks for the journal folder.
    Returns what was done, in words ("" when nothing was pending).

    Raises:
        GitError: another kuploy-gitops is writing the repo right now (its write is running,
            not interrupted), or a running git holds ``index.lock``.
    """
    if not plan.interrupted(repo):
        return ""
    git = GitRepo(repo)
    if not git.is_repo():
        return ""
    with git.lock():
        return plan.recover(git)


def push_repo(repo: Path) -> ApplyResult:
    """``kuploy-gitops push``: check, fetch, rebase, check again and push the branch.

    What a failed ``--push`` leaves to do: the local commits (already checked when they were
    made) are checked again against the specs, then pushed as ``--push`` does. ``pushed`` is
    empty when the branch had nothing the remote lacks.
    """
    with writing(repo) as (git, _cfg):
        upstream = git.upstream()
        ahead = git.ahead_of(upstream) if upstream else None
        result = ApplyResult(summary="the branch", ahead=ahead, upstream=upstream or "")
        if ahead == 0:
            result.commit = git.head() or ""
            return result
        check = rebased_check(git)
        if ahead is not None:
            check()  # commits rebased by hand (after a conflict) are checked before they go
        result.pushed = git.push(check=check)
        result.commit = git.head() or ""
        return result


def rebased_check(git: GitRepo) -> Callable[[], None]:
    """The check a push runs after each rebase: the commits' tenants still render as committed.

    A rebase can combine two admins' changes into a tree neither checked: a ``kuploy.yaml``
    changed there re-renders every tenant, so a tenant onboarded here under the old one drifts.
    Only what the local commits touched is re-rendered (the whole repo when they touched
    ``kuploy.yaml`` or the platform's files), so the check costs the same in any repo size.
    """

    def check() -> None:
        upstream = git.upstream()
        diff = git.run("diff", "--name-only", "-z", f"{upstream}", "HEAD").stdout
        paths = touched_drift(git.path, [p for p in diff.split("\0") if p])
        if paths:
            shown = ", ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")
            raise GitError(
                f"not pushed: rebased onto {upstream}, {len(paths)} rendered file(s) differ "
                f"from the specs: {shown}",
                hint="your commit is kept locally on top of theirs; run `kuploy-gitops render "
                "--push` (it re-renders, commits and pushes)",
            )

    return check


def touched_drift(repo: Path, paths: list[str]) -> list[str]:
    """The drifting files among the tenants (or the platform) that ``paths`` belong to."""
    cfg = load_config(repo)
    platform = (layout.CONFIG_FILE, layout.ROOT_APP_FILE, layout.PLATFORM_DIR + "/")
    if any(p == prefix or p.startswith(prefix) for p in paths for prefix in platform):
        return drift.drift_paths(repo, cfg)
    students: set[str] = set()
    for path in paths:
        top, _, rest = path.partition("/")
        if top == layout.TENANTS_DIR and "/" not in rest and rest.endswith(".yaml"):
            students.add(rest.removesuffix(".yaml"))
        for base in (layout.TENANT_MANIFESTS_DIR + "/", layout.WORKLOADS_DIR + "/"):
            if path.startswith(base):
                students.add(path.removeprefix(base).split("/", 1)[0])

    def read(path: str) -> str | None:
        return FilePlan(repo).current(path)

    out: list[str] = []
    for student in sorted(students):
        spec = tenant_spec.load_spec(repo, student, cfg)
        expected = render.render_tenant(cfg, spec) if spec is not None else {}
        out.extend(drift.compare(expected, existing_tenant_files(repo, student), read))
    return out
