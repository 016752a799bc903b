"""One validation run: its options, its report, and the primitives every check builds on.

:class:`RunBase` holds the state of a run (the tree of files, the compiled schemas, what has been
parsed, the findings) and the steps every check uses: parse a file once, record a finding at a
file and line, the checks every object gets (shape, name, schema), a tenant's spec and context.
The checks themselves extend it: :mod:`.crosstenant` (hosts and objects across tenants),
:mod:`.workloads` (a tenant's apps), :mod:`.engine` (what a run checks, and the entry points).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, tenant_spec, yamlio
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConfigError, KuployError
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate import boundary, policies
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import TenantContext, build
from kuploy_gitops.validate.findings import PLATFORM, Finding, Issue
from kuploy_gitops.validate.index import FileIndex
from kuploy_gitops.validate.kustomize import Kustomizer, default_cache_dir
from kuploy_gitops.validate.objects import CLUSTER_SCOPED, group_of
from kuploy_gitops.validate.schemas import SchemaSet
from kuploy_gitops.validate.tree import (
    Doc,
    Tree,
    UnreadableFile,
    error_line,
    is_manifest,
    iter_objects,
    known_docs,
    parse,
)

Progress = Callable[[int, int], None]


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
    app: str = ""  # with --student: the app FOLDER is (Argo CD's Helm release <student>-<app>)


@dataclass
class Report:
    """What a validation found, plus counts for the summary line."""

    findings: list[Finding] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    files: int = 0
    objects: int = 0
    builds: int = 0
    cached_builds: int = 0
    known_builds: int = 0
    kubernetes_version: str = ""

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity error."""
        return [f for f in self.findings if f.severity == F.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of severity warning."""
        return [f for f in self.findings if f.severity == F.WARNING]


@functools.lru_cache(maxsize=8)
def schema_set(kubernetes_version: str, crd_dir: Path | None) -> SchemaSet:
    """One SchemaSet per (version, CRD folder) per process: compiled validators are reused."""
    return SchemaSet(kubernetes_version, crd_dir)


def tenant_of(path: str) -> str:
    """The student a repo path belongs to; PLATFORM for everything else."""
    for base in (layout.TENANT_MANIFESTS_DIR, layout.WORKLOADS_DIR):
        if path.startswith(base + "/"):
            rest = path[len(base) + 1 :]
            if "/" in rest:
                return rest.split("/", 1)[0]
    if (
        path.startswith(layout.TENANTS_DIR + "/")
        and path.count("/") == 1
        and path.endswith(".yaml")
    ):
        return Path(path).stem
    return PLATFORM


def all_students(tree: Tree) -> list[str]:
    """Every student with a spec or rendered files in the tree."""
    found = {
        Path(p).stem
        for p in tree.files(layout.TENANTS_DIR)
        if p.count("/") == 1 and p.endswith(".yaml")
    }
    for base in (layout.TENANT_MANIFESTS_DIR, layout.WORKLOADS_DIR):
        for p in tree.files(base):
            t = tenant_of(p)
            if t != PLATFORM:
                found.add(t)
    return sorted(found)


class RunBase:
    """The state of one run and the steps every check uses."""

    def __init__(
        self,
        cfg: PlatformConfig,
        tree: Tree,
        opts: Options,
        progress: Progress | None,
        *,
        schemas: SchemaSet | None = None,
    ) -> None:
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
        self.checked: set[str] = set()
        self._kustomizer: Kustomizer | None = None
        self.unknown_kinds: set[tuple[str, str]] = set()
        self._parsed: dict[tuple[int, str], list[Doc]] = {}
        # Paths of the run's tree whose text was found equal to what kuploy renders there.
        self.matched: set[str] = set()
        self._index: FileIndex | None = None

    # -- recording -----------------------------------------------------------------------------

    def add(self, doc: Doc, issue: Issue, tenant: str) -> None:
        """Record ``issue`` at the file and line of ``doc`` (for a built object: its source)."""
        line = doc.line_of(issue.path)  # first: places a built object at its source file
        self.report.findings.append(
            F.make(
                issue.rule,
                issue.message,
                file=doc.file,
                line=line,
                tenant=tenant,
                obj=doc.obj if isinstance(doc.obj, dict) else None,
                severity=issue.severity,
            )
        )

    def add_file(self, rule: str, message: str, file: str, tenant: str, line: int = 1) -> None:
        """Record a finding about a whole file."""
        self.report.findings.append(F.make(rule, message, file=file, line=line, tenant=tenant))

    def finish(self) -> Report:
        """The report: findings deduplicated and sorted, the index saved."""
        if self._index is not None:
            self._index.save()
        self.report.findings = sorted(
            set(self.report.findings), key=lambda f: (f.tenant, f.file, f.line, f.rule, f.message)
        )
        self.report.tenants = sorted(self.checked)
        return self.report

    # -- loading -------------------------------------------------------------------------------

    def load(
        self,
        path: str,
        tenant: str,
        shown: str | None = None,
        tree: Tree | None = None,
        expected: tuple[str, list[Any] | None] | None = None,
    ) -> list[Doc]:
        """The objects of a file of ``tree`` (the run's by default), parsed once per run.

        ``shown`` is the name findings give the file (default: its path); a syntax error is
        reported once. ``expected`` is what kuploy renders there (text, objects): a file with
        exactly that text is not parsed, its objects are the rendered ones.
        """
        tree = tree or self.tree
        key = (id(tree), path)
        if key not in self._parsed:
            self.report.files += 1
            try:
                text = tree.read(path)
            except UnreadableFile as exc:
                self.add_file(F.FILE_UNREADABLE, exc.message, shown or path, tenant)
                self._parsed[key] = []
                return []
            if expected is not None and text == expected[0]:
                self.matched.add(path)
                if expected[1] is not None:
                    self._parsed[key] = known_docs(expected[1], text, shown or path, tenant)
                    return self._parsed[key]
            docs, error = parse(text, shown or path, tenant)
            if error is not None:
                self.add_file(F.YAML_SYNTAX, error, shown or path, tenant, error_line(error))
            self._parsed[key] = list(iter_objects(docs))
        return self._parsed[key]

    def parsed_paths(self) -> list[tuple[str, list[Doc]]]:
        """(path, objects) of every file of the run's tree parsed so far."""
        tree = id(self.tree)
        return [(path, docs) for (t, path), docs in self._parsed.items() if t == tree]

    def parse_plain(self, path: str, tenant: str) -> list[Doc]:
        """The objects of a file, parsed without recording anything (for cached facts)."""
        return list(iter_objects(parse(self.tree.read(path), path, tenant)[0]))

    # -- per object ----------------------------------------------------------------------------

    def check_common(self, doc: Doc, tenant: str, ctx: TenantContext | None = None) -> bool:
        """Shape, name, schema, `project: default`; False when no later check applies.

        With ``ctx`` (an object a student's app deploys), a kind the tenant's AppProject does
        not allow is reported as such instead of as a kind unknown to the schemas; a typo in a
        known group's kind stays a schema finding (it names the kind meant).
        """
        obj = doc.obj
        self.report.objects += 1
        if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
            self.add(doc, Issue(F.MALFORMED, "document has no apiVersion/kind"), tenant)
            return False
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(meta, dict) and name is not None and not isinstance(name, str):
            # e.g. `name: n`, a boolean to kubectl's YAML reader (a plain y/n/yes/no/on/off)
            quote = " (an unquoted y/n/yes/no/on/off is a boolean: quote it)"
            self.add(
                doc,
                Issue(
                    F.MALFORMED,
                    f"metadata.name: {name!r} is not a string"
                    + (quote if isinstance(name, bool) else ""),
                    ("metadata", "name"),
                ),
                tenant,
            )
            return False
        if not isinstance(meta, dict) or not (name or meta.get("generateName")):
            self.add(
                doc,
                Issue(F.MALFORMED, f"{obj.get('kind')} has no metadata.name", ("metadata",)),
                tenant,
            )
            return False
        usable = True
        schema_issues = self.schemas.check(obj)
        # An apiVersion no API server serves ("no matches for kind"): its one finding says
        # all, the kind's schema and the tenant's kind list do not apply to it.
        unserved = [
            i for i in schema_issues if i.rule == F.SCHEMA_INVALID and i.path == ("apiVersion",)
        ]
        if unserved:
            schema_issues, usable = unserved, False
        if ctx is not None and str(obj.get("kind")) not in CLUSTER_SCOPED:
            refused = boundary.check_kind(ctx, group_of(obj), str(obj.get("kind")))
            # A typo of a known group's kind, or a removed API: the schema finding says more.
            typo = bool(unserved) or any(
                (i.rule == F.SCHEMA_INVALID and i.path[:1] == ("kind",)) or i.rule == F.API_REMOVED
                for i in schema_issues
            )
            if refused and not typo:
                schema_issues = [i for i in schema_issues if i.rule != F.UNKNOWN_KIND] + refused
            # Argo CD refuses the object: no admission check ever sees it.
            usable = usable and not refused
        for issue in schema_issues:
            # A removed API is refused outright: no admission check ever sees the object.
            usable = usable and issue.rule != F.API_REMOVED
            if issue.rule == F.UNKNOWN_KIND:
                key = (str(obj.get("apiVersion")), str(obj.get("kind")))
                if key in self.unknown_kinds:
                    continue
                self.unknown_kinds.add(key)
            self.add(doc, issue, tenant)
        for issue in policies.check_name(obj) + policies.check_application_project(obj):
            self.add(doc, issue, tenant)
        return usable

    # -- tenants -------------------------------------------------------------------------------

    def spec_of(self, student: str) -> TenantSpec | None:
        """The student's spec, checked; a broken spec is a finding (and None)."""
        path = layout.tenant_spec(student)
        if not self.tree.exists(path):
            return None
        try:
            text = self.tree.read(path)
            spec = tenant_spec.parse_spec(yamlio.load(text, source=path), path, text)
            if spec.student != student:
                raise ConfigError(
                    f"{path}: student {spec.student!r} does not match the file name",
                    hint=f"rename the file or set student: {student}",
                )
            tenant_spec.check_spec_file(spec, self.cfg, path)
        except KuployError as exc:
            # The message names the line of a bad key ("tenants/kim.yaml:19: ..."): point there.
            where = re.match(rf"{re.escape(path)}:(\d+):", str(exc))
            line = int(where.group(1)) if where else 1
            self.add_file(F.SPEC_INVALID, str(exc), path, student, line)
            return None
        return spec

    def context(
        self,
        student: str,
        spec: TenantSpec | None,
        rendered: Mapping[str, tuple[str, list[Any] | None]] | None = None,
    ) -> tuple[TenantContext, list[Doc]]:
        """The tenant's rules (from its spec and guard objects) and its guard folder's objects.

        ``rendered`` (what the spec renders to) spares parsing the files that match it.
        """
        docs: list[Doc] = []
        for path in self.tree.files(layout.tenant_dir(student)):
            if is_manifest(path):
                docs.extend(self.load(path, student, expected=(rendered or {}).get(path)))
        objs = [d.obj for d in docs if isinstance(d.obj, dict)]
        return build(self.cfg, student, spec, objs), docs

    # -- shared tools --------------------------------------------------------------------------

    def kustomizer(self) -> Kustomizer:
        """The run's kustomize builder (one per run: it batches and caches builds)."""
        if self._kustomizer is None:
            cache = None
            if self.opts.use_cache:
                cache = (self.opts.cache_dir or default_cache_dir()) / "kustomize"
            self._kustomizer = Kustomizer(cache, jobs=self.opts.jobs, boundaries=[self.tree.root])
        return self._kustomizer

    def index(self) -> FileIndex:
        """The cache of cross-tenant facts of unchecked files (see :mod:`.index`)."""
        if self._index is None:
            cache = None
            if self.opts.use_cache:
                cache = self.opts.cache_dir or default_cache_dir()
            self._index = FileIndex(cache, self.tree.root)
        return self._index
