"""Orchestration of `validate`: which files, which tenant's rules, which builds; the findings.

Three entry points: :func:`validate_repo` (the whole platform repo, or only tenants touched since
a git ref), :func:`validate_student` (a student's own ``deploy/`` folder against that student's
platform rules) and :func:`validate_files` (a change set in memory, for ``onboard``/``app add``).
Cross-tenant rules (ingress host uniqueness, objects defined twice under ``apps/cluster``)
always see the whole repo.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kuploy_gitops import config, layout, tenant_spec
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConflictError, UsageError
from kuploy_gitops.tenant_kinds import tenant_kinds
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import isolation
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import PLATFORM, Finding, Issue
from kuploy_gitops.validate.kustomize import KUSTOMIZATION_FILES
from kuploy_gitops.validate.objects import meta
from kuploy_gitops.validate.results import ResultCache, TenantResult, code_stamp, file_stamps
from kuploy_gitops.validate.run import Options, Progress, Report, all_students, tenant_of
from kuploy_gitops.validate.shards import PARALLEL_MIN_TENANTS, check_parallel
from kuploy_gitops.validate.shared_quota import other_apps
from kuploy_gitops.validate.tree import Doc, Tree, is_manifest
from kuploy_gitops.validate.workloads import AppSource, WorkloadChecks, walk_files

if TYPE_CHECKING:
    from kuploy_gitops.render import Rendered

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
    run.check_repo(students, only, opts.drift, cache=run.result_cache())
    return run.finish()


def validate_student(
    opts: Options, student: str, folder: Path, progress: Progress | None = None
) -> Report:
    """Validate a student's own deploy folder against that student's rules in the platform repo.

    The folder shares the tenant's quota with every app of the tenant the platform repo holds;
    ``opts.app`` names the tenant's app the folder deploys (a platform-managed one is then
    replaced by the folder, not counted twice; a chart's release is named after it). Without it
    the folder is a student-repo app of its own.
    """
    app = opts.app
    cfg = config.load_config(opts.repo)
    if not folder.is_dir():
        raise UsageError(
            f"folder {folder} does not exist", hint="give the student's deploy folder, e.g. deploy/"
        )
    spec = tenant_spec.require_spec(opts.repo, student)
    if app and spec.app(app) is None:
        names = ", ".join(a.name for a in spec.apps) or "none"
        raise ConflictError(  # as for any unknown name
            f"--app {app!r} is not an app of {student!r} (its apps: {names})",
            hint="name one of its apps, or leave --app out for a student-repo app of its own",
        )
    run = Run(cfg, Tree(opts.repo), opts, progress)
    run.check_student_folder(student, folder, app)
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
    from kuploy_gitops.gitrepo import GitRepo  # only for --changed-since

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant_drift: list[str] = []

    def result_cache(self) -> ResultCache | None:
        """The cache of tenant results for this run's options (None: caching is off)."""
        if not self.opts.use_cache:
            return None
        from kuploy_gitops.validate.kustomize import default_cache_dir, kubectl_stamp

        schemas = self.schemas
        parts = [
            code_stamp(),
            self.tree.read(layout.CONFIG_FILE),
            schemas.kubernetes_version,
            schemas.crd_stamp(),
            repr((self.opts.kustomize, self.opts.drift)),
            kubectl_stamp() if self.opts.kustomize else "",
        ]
        shared = hashlib.sha256("\0".join(parts).encode()).hexdigest()
        return ResultCache(self.opts.cache_dir or default_cache_dir(), self.tree.root, shared)

    def check_repo(
        self,
        students: list[str],
        only: set[str] | None,
        drift: bool = False,
        cross_tenant: bool = True,
        cache: ResultCache | None = None,
    ) -> None:
        """Check the platform files and ``only`` (None: all) tenants, then cross-tenant rules.

        With ``drift``, also the rendered files of the same tenants (None: the whole repo).
        Tenants whose result is in ``cache`` are not checked again; large repos are split into
        shards checked by worker processes (one per core).
        """
        self.check_platform_cached(cache, changed_only=not cross_tenant)
        full = [s for s in students if only is None or s in only]
        todo = full
        stamps: dict[str, tuple[str, int]] = {}
        paths: dict[str, list[str]] = {}  # each tenant's files, listed once for stamp and put
        # Tenants outside ``only`` are not checked, but the cross-tenant rules need their hosts
        # and objects: a cached result of theirs gives them without reading their files.
        facts_only: set[str] = set()
        if cache is not None:
            todo = []
            for student in students if cross_tenant else full:
                paths[student] = self.tenant_paths(student)
                stamps[student] = file_stamps(self.tree.root, paths[student])
                hit = cache.get(student, stamps[student])
                if student not in full:
                    if hit is not None:
                        self.merge_facts(hit)
                        facts_only.add(student)
                elif hit is None:
                    todo.append(student)
                else:
                    self.merge(hit)
        workers = min(self.opts.jobs or os.cpu_count() or 1, 8)
        if workers > 1 and len(todo) >= PARALLEL_MIN_TENANTS:
            results = check_parallel(self, todo, workers)
        else:
            results = self.check_tenants(todo)
        if cache is not None:
            for result in results:
                # A tenant whose builds read files outside its folders is never kept: the stamp
                # does not cover those files (unchanged files keep this true for a kept one).
                if not self.reads_outside(paths[result.student]):
                    cache.put(result, stamps[result.student])
            cache.save([PLATFORM, *students])
        for student in students:
            if student not in self.checked and student not in facts_only:
                self.collect_hosts(student)
                self.collect_login(student)
        if cross_tenant:
            self.check_object_duplicates()
            self.check_login_duplicates()
        self.check_hosts()
        if drift:
            self.report_drift(self.platform_drift(whole_repo=only is None))

    def check_tenants(self, students: list[str]) -> list[TenantResult]:
        """Check each tenant in full (its kustomizations built in one batch first)."""
        self.prebuild(students)
        results = []
        for i, student in enumerate(students, 1):
            results.append(self.check_tenant(student))
            if self.progress and len(students) > 1:
                self.progress(i, len(students))
        return results

    def tenant_paths(self, student: str) -> list[str]:
        """Every file a tenant's result depends on: its spec and its rendered folders."""
        return [
            layout.tenant_spec(student),
            *self.tree.files(layout.tenant_dir(student)),
            *self.tree.files(layout.workload_dir(student)),
        ]

    def reads_outside(self, paths: list[str]) -> bool:
        """Whether a kustomization among ``paths`` may read files outside its folder."""
        return any(
            ".." in self.tree.read(p) for p in paths if p.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES
        )

    def merge(self, result: TenantResult) -> None:
        """Add a tenant's result (from a worker or the cache) to this run."""
        if result.student != PLATFORM:
            self.checked.add(result.student)
        self.report.findings.extend(result.findings)
        self.report.files += result.files
        self.report.objects += result.objects
        self.report.builds += result.builds
        self.report.cached_builds += result.cached_builds
        self.report.known_builds += result.known_builds
        for host, path, claim in result.claims:
            self.add_claim(host, path, claim)
        self.object_keys.extend(result.object_keys)
        if result.student != PLATFORM:
            self.logins[result.student] = result.login
        self.tenant_drift.extend(result.drift)

    def merge_facts(self, result: TenantResult) -> None:
        """Add only what the cross-tenant rules need of a tenant this run does not check."""
        for host, path, claim in result.claims:
            self.add_claim(host, path, claim)
        self.object_keys.extend(result.object_keys)
        if result.student != PLATFORM:
            self.logins[result.student] = result.login

    def check_platform_cached(self, cache: ResultCache | None, *, changed_only: bool) -> None:
        """:meth:`check_platform`, or its result from ``cache`` when its files are unchanged."""
        if cache is None or changed_only:
            self.check_platform(changed_only=changed_only)
            return
        paths = [p for p in self.tree.files(layout.APPS_DIR) if tenant_of(p) == PLATFORM]
        stamp = file_stamps(self.tree.root, paths)
        hit = cache.get(PLATFORM, stamp)
        if hit is not None:
            self.merge(hit)
            return
        findings_before, counts_before = len(self.report.findings), self._counts()
        self.check_platform()
        counts = [now - before for now, before in zip(self._counts(), counts_before, strict=True)]
        cache.put(
            TenantResult(
                student=PLATFORM,
                findings=self.report.findings[findings_before:],
                files=counts[0],
                objects=counts[1],
            ),
            stamp,
        )

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

    def check_tenant(self, student: str) -> TenantResult:
        """A tenant's folder (guards, project, Applications), what its apps deploy, its drift."""
        findings_before = len(self.report.findings)
        counts_before = self._counts()
        claims_before = len(self.claims_log)
        self.checked.add(student)
        spec = self.spec_of(student)
        problem = isolation.tenant_name_problem(self.cfg, student)
        if problem:
            where = self.tree.files(layout.tenant_dir(student)) or [layout.tenant_spec(student)]
            self.add_file(F.ISO_TENANT_NAME, problem, where[0], student)
        rendered: dict[str, Rendered] = {}
        if spec is not None:
            # What the spec renders: files that match it need no parsing and no kubectl build,
            # and the drift check compares with it.
            from kuploy_gitops import render

            rendered = render.render_tenant_objects(self.cfg, spec)
        ctx, tenant_docs = self.context(student, spec, rendered)
        self.check_tenant_objects(student, spec, ctx, tenant_docs)
        self.check_workloads(ctx, self.app_scopes(ctx, self.app_sources(student, rendered)))
        drifted: list[str] = []
        if self.opts.drift:
            drifted = self.drift_of(student, spec, rendered)
            self.tenant_drift.extend(drifted)
        login: str | None = ""  # no spec: a folder without a tenant, no login
        if spec is not None:
            login = spec.github.lower()
        elif self.tree.exists(layout.tenant_spec(student)):
            login = None  # a spec that does not read: its login is unknown
        self.logins[student] = login
        counts = [now - before for now, before in zip(self._counts(), counts_before, strict=True)]
        return TenantResult(
            student=student,
            findings=self.report.findings[findings_before:],
            files=counts[0],
            objects=counts[1],
            builds=counts[2],
            cached_builds=counts[3],
            known_builds=counts[4],
            claims=self.claims_log[claims_before:],
            object_keys=self.keys_of(self.tree.files(layout.tenant_dir(student))),
            drift=drifted,
            login=login,
        )

    def _counts(self) -> list[int]:
        r = self.report
        return [r.files, r.objects, r.builds, r.cached_builds, r.known_builds]

    def check_tenant_objects(
        self, student: str, spec: TenantSpec | None, ctx: TenantContext, tenant_docs: list[Doc]
    ) -> None:
        """The admin-owned objects of a tenant folder: guards, the AppProject, Applications."""
        allowed = [(k.group, k.kind) for k in tenant_kinds(self.cfg)]
        # The deployer's ServiceAccount is of a kind students may write too: a student app
        # that claims it changes nothing the account can do (its Role is a guard).
        guard_kinds = {
            (str(d.obj.get("apiVersion", "")).rpartition("/")[0], str(d.obj["kind"]))
            for d in tenant_docs
            if isinstance(d.obj, dict)
            and d.obj.get("kind") not in (*_ARGO_KINDS, "Namespace", None)
        } - set(allowed)
        for doc in tenant_docs:
            if not self.check_common(doc, student):
                continue
            obj = doc.obj
            kind = obj.get("kind")
            issues: list[Issue] = []
            if kind == "Application":
                issues += isolation.check_application(ctx, self.cfg, obj)
            elif kind == "AppProject":
                if meta(obj).get("name") == layout.project_name(student):
                    issues += isolation.check_project(ctx, obj, guard_kinds, allowed)
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

    def check_student_folder(self, student: str, folder: Path, app: str = "") -> None:
        """A student's own deploy folder, as the student's app ``app``, against their rules."""
        spec = self.spec_of(student)
        ctx, _ = self.context(student, spec)
        running = other_apps(self, ctx, spec, app)
        self.checked.add(student)
        folder = folder.resolve()
        cwd = Path.cwd().resolve()
        shown = folder.relative_to(cwd) if folder.is_relative_to(cwd) else Path(folder.name)
        # Symlinks and kustomize bases may reach anywhere in the student's repository.
        top = next((d for d in (folder, *folder.parents) if (d / ".git").exists()), folder)
        self.kustomizer().boundaries.append(top)
        source = AppSource(Tree(folder, boundary=top), "", walk_files(folder), shown.as_posix())
        scopes = self.app_scopes(ctx, [source])
        self.check_workloads(ctx, scopes, in_repo=False, running=running)
        # Every host already claimed in the platform repo, the student's own managed apps too.
        for other in all_students(self.tree):
            self.collect_hosts(other)
        self.check_hosts()

    # -- drift ---------------------------------------------------------------------------------

    def drift_of(
        self, student: str, spec: TenantSpec | None, rendered: Mapping[str, Rendered]
    ) -> list[str]:
        """A tenant's rendered paths that differ from what its spec renders to.

        A tenant whose spec is broken is left out (its spec is a finding of its own); a folder
        without a spec is all drift.
        """
        from kuploy_gitops import drift

        owned = self.tree.files(layout.tenant_dir(student))
        owned += self.tree.files(layout.workload_dir(student))
        if spec is None and self.tree.exists(layout.tenant_spec(student)):
            return []
        expected = {path: text for path, (text, _) in rendered.items()}

        def read(path: str) -> str | None:  # files already found equal are not read again
            return expected[path] if path in self.matched else self.read_or_none(path)

        return drift.compare(expected, owned, read)

    def platform_drift(self, *, whole_repo: bool) -> list[str]:
        """The drift of the platform's files and, for the whole repo, of files no one renders.

        Adds the drift of the tenants checked in this run (:attr:`tenant_drift`).
        """
        from kuploy_gitops import drift, render

        expected = render.render_platform(self.cfg)
        owned = list(expected)
        if whole_repo:
            owned += [
                p
                for root in render.rendered_roots()
                if root != layout.LOGINS_DIR  # see login_drift
                for p in self.tree.files(root)
                if tenant_of(p) == PLATFORM
            ]
        drifted = drift.compare(expected, owned, self.read_or_none)
        drifted += self.login_drift(whole_repo=whole_repo)
        return sorted({*drifted, *self.tenant_drift})

    def report_drift(self, paths: list[str]) -> None:
        """A finding per drifting path."""
        for path in paths:
            state = (
                "missing" if not self.tree.exists(path) else "differs from what the specs render to"
            )
            self.add_file(F.DRIFT, f"{path} {state}", path, tenant_of(path))
