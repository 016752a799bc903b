"""Orchestration of `validate`: which files, which tenant's rules, which builds; the findings.

Three entry points: :func:`validate_repo` (the whole platform repo, or only tenants touched since
a git ref), :func:`validate_student` (a student's own ``deploy/`` folder against that student's
platform rules) and :func:`validate_files` (a change set in memory, for ``onboard``/``app add``).
Cross-tenant rules (ingress host uniqueness, objects defined twice under ``apps/cluster``)
always see the whole repo.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from kuploy_gitops import config, layout, tenant_spec
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import UsageError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import isolation
from kuploy_gitops.validate.findings import PLATFORM, Finding, Issue
from kuploy_gitops.validate.objects import meta
from kuploy_gitops.validate.run import Options, Progress, Report, all_students, tenant_of
from kuploy_gitops.validate.shards import PARALLEL_MIN_TENANTS, check_parallel
from kuploy_gitops.validate.tree import Tree, is_manifest
from kuploy_gitops.validate.workloads import AppSource, WorkloadChecks, walk_files

__all__ = [
    "PLATFORM",
    "Options",
    "Report",
    "Run",
    "tenant_of",
    "touched_tenants",
    "validate_files",
    "validate_repo",
    "validate_student",
]

# Admin-owned objects of a tenant folder that are not guards.
_ARGO_KINDS = ("Application", "AppProject")


# ---------------------------------------------------------------------------------------------
# entry points


def validate_repo(opts: Options, progress: Progress | None = None) -> Report:
    """Validate the platform repo at ``opts.repo`` (only touched tenants with changed_since)."""
    cfg = config.load_config(opts.repo)
    run = Run(cfg, Tree(opts.repo), opts, progress)
    students = all_students(run.tree)
    only: set[str] | None = None
    if opts.changed_since:
        only = touched_tenants(opts.repo, opts.changed_since, students)
    run.check_repo(students, only, opts.drift)
    return run.finish()


def validate_student(
    opts: Options, student: str, folder: Path, progress: Progress | None = None
) -> Report:
    """Validate a student's own deploy folder against that student's rules in the platform repo."""
    cfg = config.load_config(opts.repo)
    if not folder.is_dir():
        raise UsageError(
            f"folder {folder} does not exist", hint="give the student's deploy folder, e.g. deploy/"
        )
    tenant_spec.require_spec(opts.repo, student)
    run = Run(cfg, Tree(opts.repo), opts, progress)
    run.check_student_folder(student, folder)
    return run.finish()


def validate_files(
    cfg: PlatformConfig,
    files: Mapping[str, str | None],
    repo_root: Path,
    *,
    crd_dir: Path | None = None,
    kustomize: bool = True,
    cross_tenant: bool = True,
) -> list[Finding]:
    """Validate an in-memory change set (repo-relative path -> text, None = deleted) over the repo.

    Checks the tenants the files touch (schemas, admission, isolation, kustomize builds) and,
    with ``cross_tenant``, the cross-tenant rules over the whole repo (which read every tenant:
    callers whose names are unique by construction may leave them to `validate` in CI); no
    drift check (the change set is the render).
    """
    students = sorted({s for s in (tenant_of(p) for p in files) if s and s != PLATFORM})
    tree = Tree(repo_root, files)
    opts = Options(repo=repo_root, crd_dir=crd_dir, kustomize=kustomize, drift=False)
    run = Run(cfg, tree, opts, None)
    run.check_repo(
        all_students(tree) if cross_tenant else students, set(students), cross_tenant=cross_tenant
    )
    return run.finish().findings


def touched_tenants(repo: Path, ref: str, students: Iterable[str]) -> set[str]:
    """Tenants with files changed since ``ref`` (committed, staged, unstaged or untracked).

    A change to kuploy.yaml touches every tenant: tiers, domain and registries apply to all.
    """
    git = GitRepo(repo)
    check = git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if check.returncode != 0:
        raise UsageError(
            f"--changed-since {ref!r} is not a commit in {repo}",
            hint="fetch it first (e.g. git fetch origin main) or pass a valid ref",
        )
    changed = git.run("diff", "--name-only", "-z", ref, "--").stdout.split("\0")
    changed += git.run("ls-files", "--others", "--exclude-standard", "-z").stdout.split("\0")
    paths = [p for p in changed if p]
    if layout.CONFIG_FILE in paths:
        return set(students)
    return {t for t in (tenant_of(p) for p in paths) if t != PLATFORM}


# ---------------------------------------------------------------------------------------------
# the run


class Run(WorkloadChecks):
    """One validation: what to check for the repo, a tenant, or a student's folder."""

    def check_repo(
        self,
        students: list[str],
        only: set[str] | None,
        drift: bool = False,
        cross_tenant: bool = True,
    ) -> None:
        """Check the platform files and ``only`` (None: all) tenants, then cross-tenant rules.

        With ``drift``, also the rendered files of the same tenants (None: the whole repo).
        Large repos are split into shards checked by worker processes (one per core).
        """
        drift_of = None if only is None else sorted(only)
        self.check_platform(changed_only=not cross_tenant)
        full = [s for s in students if only is None or s in only]
        workers = min(self.opts.jobs or os.cpu_count() or 1, 8)
        drift_result: list[str] | None = None
        if workers > 1 and len(full) >= PARALLEL_MIN_TENANTS:
            drift_result = check_parallel(self, full, workers, drift, drift_of)
        else:
            self.check_tenants(full)
        for student in students:
            if student not in self.checked:
                self.collect_hosts(student)
        if cross_tenant:
            self.check_object_duplicates()
        self.check_hosts()
        if drift:
            if drift_result is None:
                drift_result = self.drift_paths(drift_of)
            self.report_drift(drift_result)

    def check_tenants(self, students: list[str]) -> None:
        """Check each tenant in full (its kustomizations built in one batch first)."""
        self.prebuild(students)
        for i, student in enumerate(students, 1):
            self.checked.add(student)
            self.check_tenant(student)
            if self.progress and len(students) > 1:
                self.progress(i, len(students))

    def check_platform(self, changed_only: bool = False) -> None:
        """Every object of the platform's own files (with ``changed_only``: the changed ones)."""
        if changed_only:
            paths = sorted(
                p
                for p, text in self.tree.overlay.items()
                if text is not None and p.startswith(layout.APPS_DIR + "/")
            )
        else:
            paths = self.tree.files(layout.APPS_DIR)
        for path in paths:
            if not is_manifest(path) or tenant_of(path) != PLATFORM:
                continue
            for doc in self.load(path, PLATFORM):
                self.check_common(doc, PLATFORM)

    def check_tenant(self, student: str) -> None:
        """A tenant's folder (guards, project, Applications) and what its apps deploy."""
        spec = self.spec_of(student)
        ctx, tenant_docs = self.context(student, spec)
        apps = sorted({a.name for a in spec.apps} if spec else set())
        guard_kinds = {
            (str(d.obj.get("apiVersion", "")).rpartition("/")[0], str(d.obj["kind"]))
            for d in tenant_docs
            if isinstance(d.obj, dict)
            and d.obj.get("kind") not in (*_ARGO_KINDS, "Namespace", None)
        }
        for doc in tenant_docs:
            if not self.check_common(doc, student):
                continue
            obj = doc.obj
            kind = obj.get("kind")
            issues: list[Issue] = []
            if kind == "Application":
                issues += isolation.check_application(ctx, self.cfg, obj, apps)
            elif kind == "AppProject":
                if meta(obj).get("name") == layout.project_name(student):
                    issues += isolation.check_project(ctx, obj, guard_kinds)
            else:
                issues += isolation.check_guard_object(ctx, obj)
            if kind in _ARGO_KINDS:
                ns = meta(obj).get("namespace")
                if ns != self.cfg.argocd_namespace:
                    issues.append(
                        Issue(
                            F.ISO_NAMESPACE,
                            f"{kind} in namespace {ns!r}: Argo CD only reads "
                            f"{self.cfg.argocd_namespace!r}",
                            ("metadata", "namespace"),
                        )
                    )
            for issue in issues:
                self.add(doc, issue, student)
        self.check_workloads(ctx, self.app_scopes(ctx, self.app_sources(student)))

    def check_student_folder(self, student: str, folder: Path) -> None:
        """A student's own deploy folder, as the student's app, against their platform rules."""
        ctx, _ = self.context(student, self.spec_of(student))
        self.checked.add(student)
        folder = folder.resolve()
        cwd = Path.cwd().resolve()
        shown = folder.relative_to(cwd) if folder.is_relative_to(cwd) else Path(folder.name)
        source = AppSource(Tree(folder), "", walk_files(folder), shown.as_posix())
        self.check_workloads(ctx, self.app_scopes(ctx, [source]))
        # Every host already claimed in the platform repo, the student's own managed apps too.
        for other in all_students(self.tree):
            self.collect_hosts(other)
        self.check_hosts()

    # -- drift ---------------------------------------------------------------------------------

    def drift_paths(self, students: list[str] | None) -> list[str]:
        """Rendered paths that differ from what the specs render to (None: whole repo).

        A tenant whose spec is broken is left out (its spec is a finding of its own).
        """
        # Rendering needs jinja2: imported only by runs that check drift.
        from kuploy_gitops import drift, render

        expected: dict[str, str] = dict(render.render_platform(self.cfg))
        owned = list(expected)
        if students is None:
            students = all_students(self.tree)
            owned = [p for root in render.rendered_roots() for p in self.tree.files(root)]
        else:
            for student in students:
                owned += self.tree.files(layout.tenant_dir(student))
                owned += self.tree.files(layout.workload_dir(student))
        for student in students:
            spec = self.spec_of(student)
            if spec is not None:
                expected.update(render.render_tenant(self.cfg, spec))
        return drift.compare(
            expected, owned, lambda p: self.tree.read(p) if self.tree.exists(p) else None
        )

    def report_drift(self, paths: list[str]) -> None:
        """A finding per drifting path."""
        for path in paths:
            state = (
                "missing"
                if not self.tree.exists(path)
                else ("differs from what the specs render to")
            )
            self.add_file(F.DRIFT, f"{path} {state}", path, tenant_of(path))
