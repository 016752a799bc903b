"""Orchestration of `validate`: which files, which tenant's rules, which builds; the findings.

Three entry points: :func:`validate_repo` (the whole platform repo, or only tenants touched since
a git ref), :func:`validate_student` (a student's own ``deploy/`` folder against that student's
platform rules) and :func:`validate_files` (a change set in memory, for ``onboard``/``app add``).
Cross-tenant rules (ingress host uniqueness, duplicate objects under the root Application) always
see the whole repo.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import config, drift, layout, render, tenant_spec, yamlio
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConfigError, KuployError, UsageError
from kuploy_gitops.gitrepo import GitRepo
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import policies, pss
from kuploy_gitops.validate.context import TenantContext, build
from kuploy_gitops.validate.findings import Finding, Issue
from kuploy_gitops.validate.index import FileIndex
from kuploy_gitops.validate.kustomize import Build, Kustomizer, default_cache_dir
from kuploy_gitops.validate.schemas import SchemaSet
from kuploy_gitops.validate.tree import (
    BuiltDoc,
    Doc,
    Tree,
    error_line,
    is_manifest,
    iter_objects,
    parse,
)

Progress = Callable[[int, int], None]
PLATFORM = "(platform)"


@dataclass
class Options:
    """How to validate (the CLI's flags)."""

    repo: Path
    crd_dir: Path | None = None
    kubernetes_version: str = ""
    changed_since: str = ""
    kustomize: bool = True
    cache_dir: Path | None = None
    use_cache: bool = True
    drift: bool = True
    jobs: int | None = None


@dataclass
class Report:
    """What a validation found, plus counts for the summary line."""

    findings: list[Finding] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    files: int = 0
    objects: int = 0
    builds: int = 0
    cached_builds: int = 0
    kubernetes_version: str = ""

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity error."""
        return [f for f in self.findings if f.severity == F.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of severity warning."""
        return [f for f in self.findings if f.severity == F.WARNING]


# ---------------------------------------------------------------------------------------------
# entry points


def validate_repo(opts: Options, progress: Progress | None = None) -> Report:
    """Validate the platform repo at ``opts.repo`` (only touched tenants with changed_since)."""
    cfg = config.load_config(opts.repo)
    run = _Run(cfg, Tree(opts.repo), opts, progress)
    students = _all_students(run.tree)
    only: set[str] | None = None
    if opts.changed_since:
        only = touched_tenants(opts.repo, opts.changed_since, students)
    run.check_repo(students, only, opts.drift)
    return run.finish()


def validate_student(opts: Options, student: str, folder: Path,
                     progress: Progress | None = None) -> Report:
    """Validate a student's own deploy folder against that student's rules in the platform repo."""
    cfg = config.load_config(opts.repo)
    if not folder.is_dir():
        raise UsageError(f"folder {folder} does not exist",
                         hint="give the student's deploy folder, e.g. deploy/")
    tenant_spec.require_spec(opts.repo, student)
    tree = Tree(opts.repo)
    run = _Run(cfg, tree, opts, progress)
    run.check_student_folder(student, folder)
    return run.finish()


def validate_files(cfg: PlatformConfig, files: Mapping[str, str | None], repo_root: Path,
                   *, crd_dir: Path | None = None, kustomize: bool = True,
                   cross_tenant: bool = True) -> list[Finding]:
    """Validate an in-memory change set (repo-relative path -> text, None = deleted) over the repo.

    Checks the tenants the files touch (schemas, admission, isolation, kustomize builds) and,
    with ``cross_tenant``, the cross-tenant rules over the whole repo (which read every tenant:
    callers whose names are unique by construction may leave them to `validate` in CI); no
    drift check (the change set is the render).
    """
    students = sorted({s for s in (tenant_of(p) for p in files) if s and s != PLATFORM})
    tree = Tree(repo_root, files)
    opts = Options(repo=repo_root, crd_dir=crd_dir, kustomize=kustomize, drift=False)
    run = _Run(cfg, tree, opts, None)
    run.check_repo(_all_students(tree) if cross_tenant else students, set(students),
                   cross_tenant=cross_tenant)
    return run.finish().findings


@functools.lru_cache(maxsize=8)
def schema_set(kubernetes_version: str, crd_dir: Path | None) -> SchemaSet:
    """One SchemaSet per (version, CRD folder) per process: compiled validators are reused."""
    return SchemaSet(kubernetes_version, crd_dir)


# ---------------------------------------------------------------------------------------------
# paths -> tenants


def tenant_of(path: str) -> str:
    """The student a repo path belongs to; PLATFORM for everything else."""
    for base in (layout.TENANT_MANIFESTS_DIR, layout.WORKLOADS_DIR):
        if path.startswith(base + "/"):
            rest = path[len(base) + 1:]
            if "/" in rest:
                return rest.split("/", 1)[0]
    if path.startswith(layout.TENANTS_DIR + "/") and path.count("/") == 1 and path.endswith(
        ".yaml"
    ):
        return Path(path).stem
    return PLATFORM


def touched_tenants(repo: Path, ref: str, students: Iterable[str]) -> set[str]:
    """Tenants with files changed since ``ref`` (committed, staged, unstaged or untracked).

    A change to kuploy.yaml touches every tenant: tiers, domain and registries apply to all.
    """
    git = GitRepo(repo)
    check = git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if check.returncode != 0:
        raise UsageError(f"--changed-since {ref!r} is not a commit in {repo}",
                         hint="fetch it first (e.g. git fetch origin main) or pass a valid ref")
    changed = git.run("diff", "--name-only", "-z", ref, "--").stdout.split("\0")
    changed += git.run("ls-files", "--others", "--exclude-standard", "-z").stdout.split("\0")
    paths = [p for p in changed if p]
    if layout.CONFIG_FILE in paths:
        return set(students)
    return {t for t in (tenant_of(p) for p in paths) if t != PLATFORM}


def _all_students(tree: Tree) -> list[str]:
    found = {Path(p).stem for p in tree.files(layout.TENANTS_DIR)
             if p.count("/") == 1 and p.endswith(".yaml")}
    for base in (layout.TENANT_MANIFESTS_DIR, layout.WORKLOADS_DIR):
        for p in tree.files(base):
            t = tenant_of(p)
            if t != PLATFORM:
                found.add(t)
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# the run


class _Run:
    def __init__(self, cfg: PlatformConfig, tree: Tree, opts: Options,
                 progress: Progress | None, *, schemas: SchemaSet | None = None) -> None:
        self.cfg = cfg
        self.tree = tree
        self.opts = opts
        self.progress = progress
        if schemas is None:
            crd_dir = opts.crd_dir
            if crd_dir is None and cfg.argocd_crd_dir:
                crd_dir = (opts.repo / cfg.argocd_crd_dir).resolve()
            schemas = schema_set(opts.kubernetes_version or cfg.kubernetes_version, crd_dir)
        self.schemas = schemas
        self.report = Report(kubernetes_version=self.schemas.kubernetes_version)
        self.hosts: dict[tuple[str, str], list[Claim]] = {}
        self._root_keys: list[RootKey] = []
        self.checked: set[str] = set()
        self._kustomizer: Kustomizer | None = None
        self._unknown_kinds: set[tuple[str, str]] = set()
        self._parsed: dict[tuple[int, str], list[Doc]] = {}
        self._prebuilt: dict[str, Build] = {}
        self._index: FileIndex | None = None

    # -- recording -----------------------------------------------------------------------------

    def add(self, doc: Doc, issue: Issue, tenant: str) -> None:
        line = doc.line_of(issue.path)  # first: places a built object at its source file
        self.report.findings.append(
            F.make(issue.rule, issue.message, file=doc.file, line=line,
                   tenant=tenant, obj=doc.obj if isinstance(doc.obj, dict) else None,
                   severity=issue.severity)
        )

    def add_file(self, rule: str, message: str, file: str, tenant: str, line: int = 1) -> None:
        self.report.findings.append(F.make(rule, message, file=file, line=line, tenant=tenant))

    def finish(self) -> Report:
        if self._index is not None:
            self._index.save()
        self.report.findings = sorted(set(self.report.findings),
                                      key=lambda f: (f.tenant, f.file, f.line, f.rule, f.message))
        self.report.tenants = sorted(self.checked)
        return self.report

    # -- loading -------------------------------------------------------------------------------

    def load(self, path: str, tenant: str, shown: str | None = None) -> list[Doc]:
        """The objects of a file, parsed once per run (a syntax error is reported once)."""
        key = (id(self.tree), path)
        if key not in self._parsed:
            self.report.files += 1
            text = self.tree.read(path)
            docs, error = parse(text, shown or path, tenant)
            if error is not None:
                self.add_file(F.YAML_SYNTAX, error, shown or path, tenant, error_line(error))
            self._parsed[key] = list(iter_objects(docs))
        return self._parsed[key]

    # -- per object ----------------------------------------------------------------------------

    def check_common(self, doc: Doc, tenant: str) -> bool:
        """Shape, name, schema, `project: default`; False when no later check applies."""
        obj = doc.obj
        self.report.objects += 1
        if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
            self.add(doc, Issue(F.MALFORMED, "document has no apiVersion/kind"), tenant)
            return False
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
            self.add(doc, Issue(F.MALFORMED, f"{obj.get('kind')} has no metadata.name",
                                ("metadata",)), tenant)
            return False
        usable = True
        for issue in self.schemas.check(obj):
            # A removed API is refused outright: no admission check ever sees the object.
            usable = usable and issue.rule != F.API_REMOVED
            if issue.rule == F.UNKNOWN_KIND:
                key = (str(obj.get("apiVersion")), str(obj.get("kind")))
                if key in self._unknown_kinds:
                    continue
                self._unknown_kinds.add(key)
            self.add(doc, issue, tenant)
        for issue in policies.check_name(obj) + policies.check_application_project(obj):
            self.add(doc, issue, tenant)
        return usable

    # -- the whole repo ------------------------------------------------------------------------

    def check_repo(self, students: list[str], only: set[str] | None,
                   drift: bool = False, cross_tenant: bool = True) -> None:
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
            drift_result = self._check_parallel(full, workers, drift, drift_of)
        else:
            self.check_tenants(full)
        for student in students:
            if student not in self.checked:
                self.collect_hosts(student)
        if cross_tenant:
            self.check_root_duplicates()
        self.check_hosts()
        if drift:
            if drift_result is None:
                drift_result = self.drift_paths(drift_of)
            self.report_drift(drift_result)

    def prebuild(self, students: list[str]) -> None:
        """Build every plain (local, on-disk) kustomization of these tenants in one go.

        One call lets the kustomizer batch many folders per kubectl process and use every
        core; folders with remote sources, helm charts or in-memory files are left to the
        per-tenant path, which reports on them.
        """
        if not self.opts.kustomize:
            return
        folders: list[str] = []
        for student in students:
            for folder in self.app_folders(student):
                if self.tree.overlaid(folder):
                    continue
                kfile = next((f for f in self.tree.files(folder) if f.rsplit("/", 1)[-1] in
                              ("kustomization.yaml", "kustomization.yml", "Kustomization")), None)
                if kfile is None:
                    continue
                text = self.tree.read(kfile)
                if "://" in text or "helmCharts" in text or "github.com/" in text:
                    continue
                folders.append(folder)
        if len(folders) < 2:
            return
        real = {f: self.tree.root / f for f in folders}
        results = self.kustomizer().build_all(real.values())
        self._prebuilt.update({f: results[real[f]] for f in folders})

    def check_tenants(self, students: list[str]) -> None:
        self.prebuild(students)
        for i, student in enumerate(students, 1):
            self.checked.add(student)
            self.check_tenant(student)
            if self.progress and len(students) > 1:
                self.progress(i, len(students))

    def _check_parallel(self, students: list[str], workers: int, drift: bool,
                        drift_of: list[str] | None) -> list[str] | None:
        """Shards of tenants in forked workers (they inherit the compiled schemas)."""
        global _FORKED  # noqa: PLW0603 - handed to forked children, never pickled
        self.schemas.warm()
        _FORKED = self
        size = max(8, min(64, len(students) // (workers * 4) or 1))
        shards = [students[i:i + size] for i in range(0, len(students), size)]
        done = 0
        drift_future = None
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads (rich's refresh
            # thread); the children only run pure Python validation and exit.
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        try:
            if drift:
                drift_future = pool.submit(_forked_drift, drift_of)
            for result in pool.map(_forked_shard, shards):
                self.merge(result)
                done += result.tenants
                if self.progress:
                    self.progress(done, len(students))
            return drift_future.result() if drift_future is not None else None
        finally:
            pool.shutdown()
            _FORKED = None

    def shard_result(self) -> ShardResult:
        return ShardResult(
            findings=self.report.findings, files=self.report.files,
            objects=self.report.objects, builds=self.report.builds,
            cached_builds=self.report.cached_builds, hosts=self.hosts,
            checked=self.checked, unknown_kinds=self._unknown_kinds,
            root_keys=self.root_keys([p for p, _ in self._parsed_paths()]),
            tenants=len(self.checked),
        )

    def merge(self, result: ShardResult) -> None:
        seen = {f.message for f in self.report.findings if f.rule == F.UNKNOWN_KIND}
        for finding in result.findings:
            if finding.rule == F.UNKNOWN_KIND:
                if finding.message in seen:
                    continue  # one warning per kind per run, as in a serial run
                seen.add(finding.message)
            self.report.findings.append(finding)
        self.report.files += result.files
        self.report.objects += result.objects
        self.report.builds += result.builds
        self.report.cached_builds += result.cached_builds
        for key, claims in result.hosts.items():
            self.hosts.setdefault(key, []).extend(claims)
        self.checked |= result.checked
        self._root_keys.extend(result.root_keys)

    def check_platform(self, changed_only: bool = False) -> None:
        # changed_only: a change set checks the platform files it changes, not every file.
        if changed_only:
            paths = sorted(p for p, text in self.tree.overlay.items()
                           if text is not None and p.startswith(layout.APPS_DIR + "/"))
        else:
            paths = self.tree.files(layout.APPS_DIR)
        for path in paths:
            if not is_manifest(path) or tenant_of(path) != PLATFORM:
                continue
            for doc in self.load(path, PLATFORM):
                self.check_common(doc, PLATFORM)

    def spec_of(self, student: str) -> TenantSpec | None:
        path = layout.tenant_spec(student)
        if not self.tree.exists(path):
            return None
        try:
            spec = tenant_spec.parse_spec(yamlio.load(self.tree.read(path), source=path), path)
            tenant_spec.validate_spec(spec, self.cfg, check_dates=False)
            if spec.student != student:
                raise ConfigError(f"student {spec.student!r} does not match the file name")
        except KuployError as exc:
            self.add_file(F.SPEC_INVALID, str(exc), path, student)
            return None
        return spec

    def context(self, student: str, spec: TenantSpec | None) -> tuple[TenantContext, list[Doc]]:
        docs: list[Doc] = []
        for path in self.tree.files(layout.tenant_dir(student)):
            if is_manifest(path):
                docs.extend(self.load(path, student))
        objs = [d.obj for d in docs if isinstance(d.obj, dict)]
        return build(self.cfg, student, spec, objs), docs

    def check_tenant(self, student: str) -> None:
        spec = self.spec_of(student)
        ctx, guard_docs = self.context(student, spec)
        apps = sorted({a.name for a in spec.apps} if spec else set())
        for doc in guard_docs:
            if not self.check_common(doc, student):
                continue
            obj = doc.obj
            kind = obj.get("kind")
            issues: list[Issue] = []
            if kind == "Application":
                issues += policies.check_application(ctx, self.cfg, obj, apps)
            elif kind == "AppProject":
                if policies.meta(obj).get("name") == layout.project_name(student):
                    issues += policies.check_project(ctx, obj)
            else:
                issues += policies.check_guard_object(ctx, obj)
            if kind in ("Application", "AppProject"):
                ns = policies.meta(obj).get("namespace")
                if ns != self.cfg.argocd_namespace:
                    issues.append(Issue(F.ISO_NAMESPACE,
                                        f"{kind} in namespace {ns!r}: Argo CD only reads "
                                        f"{self.cfg.argocd_namespace!r}",
                                        ("metadata", "namespace")))
            for issue in issues:
                self.add(doc, issue, student)
        workloads = self.workload_docs(student, ctx)
        self.check_workloads(ctx, workloads)

    # -- workloads -----------------------------------------------------------------------------

    def app_folders(self, student: str) -> list[str]:
        base = layout.workload_dir(student)
        folders = sorted({p[len(base) + 1:].split("/", 1)[0] for p in self.tree.files(base)
                          if "/" in p[len(base) + 1:]})
        loose = [p for p in self.tree.files(base) if "/" not in p[len(base) + 1:]]
        out = [f"{base}/{f}" for f in folders]
        return out + loose

    def kustomizer(self) -> Kustomizer:
        if self._kustomizer is None:
            cache = None
            if self.opts.use_cache:
                cache = self.opts.cache_dir or default_cache_dir()
            self._kustomizer = Kustomizer(cache, jobs=self.opts.jobs)
        return self._kustomizer

    def workload_docs(self, student: str, ctx: TenantContext) -> list[list[Doc]]:
        """Objects of each app of the student (one list per app: a duplicate-check scope)."""
        scopes: list[list[Doc]] = []
        to_build: dict[str, Callable[[], list[Doc]]] = {}
        for folder in self.app_folders(student):
            files = self.tree.files(folder)
            kfile = next((f for f in files if f.rsplit("/", 1)[-1] in
                          ("kustomization.yaml", "kustomization.yml", "Kustomization")), None)
            raw_paths: list[str] = []
            for path in files:
                name = path.rsplit("/", 1)[-1]
                if name in ("Chart.yaml",):
                    self.check_chart(path, ctx)
                    continue
                if not is_manifest(path) or path == kfile:
                    continue
                if kfile is not None and "/templates/" in path:
                    continue
                raw_paths.append(path)

            def raw(paths: list[str] = raw_paths) -> list[Doc]:
                return [d for p in paths for d in self.load(p, student)]

            if kfile is not None and self.check_kustomization(kfile, ctx) and self.opts.kustomize:
                # The sources are only read when a built object has a finding to place.
                to_build[folder] = raw
            else:
                scopes.append(raw())
        if to_build:
            scopes.extend(self.build(student, to_build))
        return scopes

    def check_kustomization(self, path: str, ctx: TenantContext) -> bool:
        """Remote bases and helm charts; True when the folder can be built offline."""
        docs = self.load(path, ctx.student)
        if not docs or not isinstance(docs[0].obj, dict):
            return False
        data = docs[0].obj
        issues = policies.check_kustomization(ctx, data)
        for issue in issues:
            self.add(docs[0], issue, ctx.student)
        if policies.remote_refs(data) or data.get("helmCharts"):
            if not issues:
                self.add(docs[0], Issue(F.KUSTOMIZE_FAILED,
                                        "not built: remote bases or helmCharts need the network",
                                        severity=F.WARNING), ctx.student)
            return False
        return True

    def check_chart(self, path: str, ctx: TenantContext) -> None:
        for doc in self.load(path, ctx.student):
            if isinstance(doc.obj, dict):
                for issue in policies.check_chart(ctx, doc.obj):
                    self.add(doc, issue, ctx.student)

    def build(self, student: str,
              folders: dict[str, Callable[[], list[Doc]]]) -> list[list[Doc]]:
        k = self.kustomizer()
        scopes: list[list[Doc]] = []
        todo = {f: raw for f, raw in folders.items() if f not in self._prebuilt}
        results = {f: self._prebuilt[f] for f in folders if f in self._prebuilt}
        if todo:
            with _Materialised(self.tree, todo) as real:
                built_now = k.build_all(real.values())
            results.update({f: built_now[real[f]] for f in todo})
        for folder, raw in folders.items():
            result = results[folder]
            self.report.builds += 1
            self.report.cached_builds += int(result.cached)
            kfile = next(f for f in self.tree.files(folder)
                         if f.rsplit("/", 1)[-1] in ("kustomization.yaml", "kustomization.yml",
                                                      "Kustomization"))
            if result.output is None:
                self.add_file(F.KUSTOMIZE_FAILED, f"kubectl kustomize {folder}: {result.error}",
                              kfile, student)
                scopes.append([])
                continue
            scopes.append(_map_sources(result.objects(), raw, kfile, student))
        return scopes

    def check_workloads(self, ctx: TenantContext, scopes: list[list[Doc]]) -> None:
        all_docs: list[Doc] = []
        for scope in scopes:
            valid = [d for d in scope if self.check_common(d, ctx.student)]
            self.check_duplicates(valid, ctx.namespace, ctx.student)
            all_docs.extend(valid)
        pod_labels: list[dict[str, str]] = []
        for doc in all_docs:
            for issue in policies.check_workload(ctx, self.cfg, doc.obj):
                self.add(doc, issue, ctx.student)
            if doc.obj.get("kind") == "Ingress":
                self.claim_hosts(ctx.student, doc)
            template = pss.pod_template(doc.obj)
            if template is not None:
                labels = template[1].get("labels")
                pod_labels.append({str(k): str(v) for k, v in (labels or {}).items()})
        by_id = {id(d): d for d in all_docs}
        for key, issue in policies.quota_overflows(ctx, ((id(d), d.obj) for d in all_docs)):
            self.add(by_id[key], issue, ctx.student)
        for doc in all_docs:
            obj = doc.obj
            if obj.get("kind") != "Service" or policies.group_of(obj):
                continue
            selector = (obj.get("spec") or {}).get("selector")
            if isinstance(selector, dict) and selector and not any(
                all(labels.get(str(k)) == str(v) for k, v in selector.items())
                for labels in pod_labels
            ):
                self.add(doc, Issue(F.SERVICE_UNMATCHED,
                                    f"Service selector {selector} matches no pod template of "
                                    f"{ctx.student!r}", ("spec", "selector")), ctx.student)

    # -- student folder mode -------------------------------------------------------------------

    def check_student_folder(self, student: str, folder: Path) -> None:
        spec = self.spec_of(student)
        ctx, _ = self.context(student, spec)
        self.checked.add(student)
        folder = folder.resolve()
        cwd = Path.cwd().resolve()
        shown_root = folder.relative_to(cwd) if folder.is_relative_to(cwd) else Path(folder.name)
        local = Tree(folder)
        files = _walk_files(folder)
        kfile = next((f for f in files if f in ("kustomization.yaml", "kustomization.yml",
                                                "Kustomization")), None)
        raw: list[Doc] = []
        saved, self.tree = self.tree, local
        try:
            for path in files:
                shown = (shown_root / path).as_posix()
                if path.rsplit("/", 1)[-1] == "Chart.yaml":
                    for doc in self.load(path, student, shown):
                        if isinstance(doc.obj, dict):
                            for issue in policies.check_chart(ctx, doc.obj):
                                self.add(doc, issue, student)
                    continue
                if not is_manifest(path) or path == kfile or "/templates/" in f"/{path}":
                    continue
                raw.extend(self.load(path, student, shown))
            scopes = [raw]
            if kfile is not None:
                shown_k = (shown_root / kfile).as_posix()
                kdocs = self.load(kfile, student, shown_k)
                data = kdocs[0].obj if kdocs and isinstance(kdocs[0].obj, dict) else {}
                for issue in policies.check_kustomization(ctx, data):
                    self.add(kdocs[0], issue, student)
                buildable = not policies.remote_refs(data) and not data.get("helmCharts")
                if buildable and self.opts.kustomize:
                    result = self.kustomizer().build_all([folder])[folder]
                    self.report.builds += 1
                    self.report.cached_builds += int(result.cached)
                    if result.output is None:
                        self.add_file(F.KUSTOMIZE_FAILED, f"kubectl kustomize: {result.error}",
                                      shown_k, student)
                        scopes = [[]]
                    else:
                        sources = list(raw)
                        scopes = [_map_sources(result.objects(), lambda: sources, shown_k,
                                               student)]
        finally:
            self.tree = saved
        self.check_workloads(ctx, scopes)
        # Every host already claimed in the platform repo, the student's own managed apps too.
        for other in _all_students(self.tree):
            self.collect_hosts(other)
        self.check_hosts()

    # -- cross-tenant ----------------------------------------------------------------------------

    def index(self) -> FileIndex:
        """The cache of cross-tenant facts of unchecked files (see :mod:`.index`)."""
        if self._index is None:
            cache = None
            if self.opts.use_cache:
                cache = (self.opts.cache_dir or default_cache_dir()).parent
            self._index = FileIndex(cache, self.tree.root)
        return self._index

    def collect_hosts(self, student: str) -> None:
        """Host claims of a tenant that is not checked in this run (raw files, no build)."""
        for path in self.tree.files(layout.workload_dir(student)):
            if not is_manifest(path):
                continue

            def claims(path: str = path) -> list[list[Any]]:
                text = self.tree.read(path)
                if "Ingress" not in text:
                    return []
                out: list[list[Any]] = []
                for doc in iter_objects(parse(text, path, student)[0]):
                    if isinstance(doc.obj, dict) and doc.obj.get("kind") == "Ingress":
                        meta = doc.obj.get("metadata") or {}
                        for host, rule_path, key in policies.ingress_hosts(doc.obj):
                            out.append([host, rule_path, doc.file, doc.line_of(key),
                                        str(meta.get("name") or ""),
                                        str(meta.get("namespace") or "")])
                return out

            found = claims() if path in self.tree.overlay else self.index().facts(path, claims)
            for host, rule_path, file, line, name, namespace in found:
                self.hosts.setdefault((host, rule_path), []).append(
                    Claim(student, file, line, "Ingress", name, namespace))

    def claim_hosts(self, student: str, doc: Doc) -> None:
        meta = doc.obj.get("metadata") or {}
        for host, path, key in policies.ingress_hosts(doc.obj):
            line = doc.line_of(key)
            self.hosts.setdefault((host, path), []).append(
                Claim(student, doc.file, line, str(doc.obj.get("kind")),
                      str(meta.get("name") or ""), str(meta.get("namespace") or "")))

    def check_hosts(self) -> None:
        for (host, path), claims in sorted(self.hosts.items(), key=lambda kv: kv[0]):
            if len(claims) < 2:
                continue
            for i, claim in enumerate(claims):
                if claim.student not in self.checked:
                    continue
                others = [f"{c.student} ({c.file})" for j, c in enumerate(claims) if j != i]
                obj = {"kind": claim.kind,
                       "metadata": {"name": claim.name, "namespace": claim.namespace}}
                self.report.findings.append(F.make(
                    F.INGRESS_DUPLICATE,
                    f"host {host} path {path} is also claimed by {', '.join(others)}",
                    file=claim.file, line=claim.line, tenant=claim.student, obj=obj))

    def check_duplicates(self, docs: list[Doc], default_ns: str, tenant: str) -> None:
        seen: dict[tuple[str, str, str, str], Doc] = {}
        for doc in docs:
            obj = doc.obj
            meta = obj.get("metadata") or {}
            kind = str(obj.get("kind"))
            ns = "" if kind in policies.CLUSTER_SCOPED else str(meta.get("namespace") or
                                                               default_ns)
            key = (policies.group_of(obj), kind, ns, str(meta.get("name")))
            first = seen.get(key)
            if first is None:
                seen[key] = doc
                continue
            first.line_of(())
            self.add(doc, Issue(F.DUPLICATE,
                                f"{kind} {ns + '/' if ns else ''}{meta.get('name')} is already "
                                f"defined in {first.file}:{first.line}"), tenant)

    def _parsed_paths(self) -> list[tuple[str, list[Doc]]]:
        tree = id(self.tree)
        return [(path, docs) for (t, path), docs in self._parsed.items() if t == tree]

    def root_keys(self, paths: list[str]) -> list[RootKey]:
        """Identity keys of the objects in ``paths`` that the root Application syncs."""
        keys: list[RootKey] = []
        prefix = layout.CLUSTER_DIR + "/"
        for path in paths:
            if not path.startswith(prefix) or not is_manifest(path):
                continue
            tenant = tenant_of(path)
            parsed = self._parsed.get((id(self.tree), path))
            if parsed is not None:
                keys.extend(self._keys(parsed, tenant))
            elif path in self.tree.overlay:
                keys.extend(self._keys(self._parse_plain(path, tenant), tenant))
            else:  # a tenant this run does not check: its objects still count (cached)

                def compute(path: str = path, tenant: str = tenant) -> list[list[Any]]:
                    return [list(k) for k in self._keys(self._parse_plain(path, tenant), tenant)]

                for g, kind, ns, name, file, line, owner in self.index().facts(path, compute):
                    keys.append((g, kind, ns, name, file, line, owner))
        return keys

    def _parse_plain(self, path: str, tenant: str) -> list[Doc]:
        return list(iter_objects(parse(self.tree.read(path), path, tenant)[0]))

    def _keys(self, docs: list[Doc], tenant: str) -> list[RootKey]:
        keys: list[RootKey] = []
        for doc in docs:
            obj = doc.obj
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                continue
            kind = str(obj.get("kind"))
            ns = "" if kind in policies.CLUSTER_SCOPED else str(
                obj["metadata"].get("namespace") or self.cfg.argocd_namespace)
            keys.append((policies.group_of(obj), kind, ns, str(obj["metadata"].get("name")),
                         doc.file, doc.line, tenant))
        return keys

    def check_root_duplicates(self) -> None:
        """Objects synced by the root Application (all of apps/cluster) must be unique."""
        merged = {k[4] for k in self._root_keys}
        own = [p for p in self.tree.files(layout.CLUSTER_DIR) if p not in merged]
        keys = sorted(self._root_keys + self.root_keys(own), key=lambda k: (k[4], k[5]))
        seen: dict[tuple[str, str, str, str], RootKey] = {}
        for key in keys:
            ident = key[:4]
            first = seen.get(ident)
            if first is None:
                seen[ident] = key
            elif key[6] in self.checked or key[6] == PLATFORM:
                obj = {"kind": key[1], "metadata": {"name": key[3], "namespace": key[2]}}
                self.report.findings.append(F.make(
                    F.DUPLICATE,
                    f"{key[1]} {key[3]} is already defined in {first[4]}:{first[5]} (both "
                    "under the root Application)", file=key[4], line=key[5], tenant=key[6],
                    obj=obj))

    # -- drift ---------------------------------------------------------------------------------

    def drift_paths(self, students: list[str] | None) -> list[str]:
        """Rendered paths that differ from what the specs render to (None: whole repo)."""
        if students is None:
            return drift.drift_paths(self.opts.repo, self.cfg)
        expected: dict[str, str] = dict(render.render_platform(self.cfg))
        owned = list(expected)
        for student in students:
            spec = self.spec_of(student)
            if spec is None:
                continue
            expected.update(render.render_tenant(self.cfg, spec))
            owned += self.tree.files(layout.tenant_dir(student))
            owned += self.tree.files(layout.workload_dir(student))
        return drift.compare(expected, owned,
                             lambda p: self.tree.read(p) if self.tree.exists(p) else None)

    def report_drift(self, drift: list[str]) -> None:
        for path in drift:
            tenant = tenant_of(path)
            state = "missing" if not self.tree.exists(path) else (
                "differs from what the specs render to")
            self.add_file(F.DRIFT, f"{path} {state}", path, tenant)


PARALLEL_MIN_TENANTS = 40
_FORKED: _Run | None = None


@dataclass
class Claim:
    """One Ingress rule's claim on a host and path."""

    student: str
    file: str
    line: int
    kind: str
    name: str
    namespace: str


RootKey = tuple[str, str, str, str, str, int, str]  # group, kind, ns, name, file, line, tenant


@dataclass
class ShardResult:
    """What a worker found in its shard of tenants (small, picklable)."""

    findings: list[Finding]
    files: int
    objects: int
    builds: int
    cached_builds: int
    hosts: dict[tuple[str, str], list[Claim]]
    checked: set[str]
    unknown_kinds: set[tuple[str, str]]
    root_keys: list[RootKey]
    tenants: int


def _forked_shard(students: list[str]) -> ShardResult:
    parent = _FORKED
    assert parent is not None
    run = _Run(parent.cfg, parent.tree, parent.opts, None, schemas=parent.schemas)
    run.check_tenants(students)
    return run.shard_result()


def _forked_drift(students: list[str] | None) -> list[str]:
    parent = _FORKED
    assert parent is not None
    run = _Run(parent.cfg, parent.tree, parent.opts, None, schemas=parent.schemas)
    return run.drift_paths(students)


class _Materialised:
    """Real folders for kustomize: the repo's own, or temporary copies when overlaid."""

    def __init__(self, tree: Tree, folders: Mapping[str, Any]) -> None:
        self.tree = tree
        self.folders = list(folders)
        self.tmp: Any = None

    def __enter__(self) -> dict[str, Path]:
        from kuploy_gitops.validate.tree import temp_dir

        out: dict[str, Path] = {}
        for folder in self.folders:
            if self.tree.overlaid(folder):
                if self.tmp is None:
                    self.tmp = temp_dir()
                out[folder] = self.tree.materialise(folder, Path(self.tmp.name))
            else:
                out[folder] = self.tree.root / folder
        return out

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _walk_files(folder: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(folder)
        out.extend((rel / f).as_posix() for f in filenames)
    return sorted(out)


def _map_sources(objs: list[Any], raw: Callable[[], list[Doc]], kfile: str,
                 tenant: str) -> list[Doc]:
    """Built objects as documents placed, on demand, at their source file and line."""
    index: dict[tuple[str, str], Doc] = {}
    by_kind: dict[str, list[Doc]] = {}
    loaded: list[bool] = []

    def source(obj: Any) -> Doc | None:
        if not loaded:
            loaded.append(True)
            for doc in raw():
                if isinstance(doc.obj, dict):
                    kind = str(doc.obj.get("kind"))
                    index[(kind, str((doc.obj.get("metadata") or {}).get("name")))] = doc
                    by_kind.setdefault(kind, []).append(doc)
        kind = str(obj.get("kind")) if isinstance(obj, dict) else ""
        name = str((obj.get("metadata") or {}).get("name")) if isinstance(obj, dict) else ""
        found = index.get((kind, name))
        if found is None and len(by_kind.get(kind, [])) == 1:
            found = by_kind[kind][0]
        return found

    return [BuiltDoc(obj, kfile, tenant, source) for obj in objs]
