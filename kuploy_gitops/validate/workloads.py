"""A tenant's apps: their folders, kustomize builds, and the admission checks of what they deploy.

An app is a folder of manifests, plain or a kustomization (built with the real `kubectl
kustomize`): a platform-managed app under ``apps/workloads/<student>/<app>/`` in the platform
repo, or a student's own ``deploy/`` folder (``validate --student``). Both go through the same
steps (:meth:`WorkloadChecks.app_scopes`), so a student's CI predicts what the platform checks.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, netpol
from kuploy_gitops.app_manifests import parse_image
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import isolation, policies, pss, quota, reach
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.kustomize import KUSTOMIZATION_FILES, Build
from kuploy_gitops.validate.objects import CLUSTER_SCOPED, group_of
from kuploy_gitops.validate.origins import Origins
from kuploy_gitops.validate.rendered import RenderChecks, chart_in
from kuploy_gitops.validate.tree import BuiltDoc, Doc, Tree, is_manifest, known_docs, temp_dir


@dataclass(frozen=True)
class AppSource:
    """One app folder: its tree, its path in the tree, its files, and how findings name them.

    ``shown`` replaces the folder's path in findings (a student's ``deploy/`` is shown as the
    student's CI sees it); empty: the tree path itself.
    """

    tree: Tree
    folder: str
    files: tuple[str, ...]
    shown: str = ""
    expected: Mapping[str, tuple[str, list[Any] | None]] = field(default_factory=dict)

    def show(self, path: str) -> str:
        """The name a finding gives ``path``."""
        if not self.shown:
            return path
        rest = path[len(self.folder) + 1 :] if self.folder else path
        return f"{self.shown}/{rest}"

    @property
    def real(self) -> Path:
        """The folder on disk."""
        return self.tree.root / self.folder if self.folder else self.tree.root


def kustomization_in(files: tuple[str, ...] | list[str], folder: str) -> str | None:
    """The kustomization file directly in ``folder`` among ``files``, if any."""
    names = {f"{folder}/{n}" if folder else n for n in KUSTOMIZATION_FILES}
    return next((f for f in files if f in names), None)


def walk_files(folder: Path) -> tuple[str, ...]:
    """Every file under ``folder`` (folder-relative, sorted), hidden folders left out."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(folder)
        out.extend((rel / f).as_posix() for f in filenames)
    return tuple(sorted(out))


class WorkloadChecks(RenderChecks):
    """What a tenant's apps deploy: built, scoped per app, and checked like admission would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prebuilt: dict[str, Build] = {}
        self._known_build_checked = False  # the first known build is also built for real
        self._known_builds_off = False
        self._outside: dict[Path, Tree] = {}  # trees of a student's repo, for bases outside

    def app_sources(
        self, student: str, expected: Mapping[str, tuple[str, list[Any] | None]] | None = None
    ) -> list[AppSource]:
        """The student's platform-managed app folders (and loose files) in the repo.

        ``expected`` is what the student's spec renders (spares parsing files that match it).
        """
        base = layout.workload_dir(student)
        files = self.tree.files(base)
        folders = sorted(
            {p[len(base) + 1 :].split("/", 1)[0] for p in files if "/" in p[len(base) + 1 :]}
        )
        rendered = expected or {}
        out = [
            AppSource(
                self.tree,
                f"{base}/{f}",
                tuple(p for p in files if p.startswith(f"{base}/{f}/")),
                expected=rendered,
            )
            for f in folders
        ]
        out += [
            AppSource(self.tree, p, (p,), expected=rendered)
            for p in files
            if "/" not in p[len(base) + 1 :]
        ]
        return out

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
            for src in self.app_sources(student):
                if self.tree.overlaid(src.folder):
                    continue
                kfile = kustomization_in(src.files, src.folder)
                if kfile is None:
                    continue
                text = self.tree.read(kfile)
                if "://" in text or "helmCharts" in text or "github.com/" in text:
                    continue
                if text.startswith(RENDERED_MARK):
                    continue  # most likely known from the render (see known_build)
                folders.append(src.folder)
        if len(folders) < 2:
            return
        real = {f: self.tree.root / f for f in folders}
        results = self.kustomizer().build_all(real.values())
        self._prebuilt.update({f: results[real[f]] for f in folders})

    def app_scopes(self, ctx: TenantContext, sources: list[AppSource]) -> list[list[Doc]]:
        """The objects of each app (one list per app: a duplicate-check scope).

        A kustomization is built; its sources are read only when a built object has a finding
        to place. A Helm chart is rendered, a plain directory's top-level files read and its
        jsonnet evaluated, as Argo CD would (:mod:`.rendered`).
        """
        scopes: list[list[Doc]] = []
        to_build: list[tuple[AppSource, str, Callable[[], list[Doc]]]] = []
        for src in sources:
            kfile = kustomization_in(src.files, src.folder)
            chart = None if kfile is not None else chart_in(src)
            if chart is not None:  # a Helm app: rendered as Argo CD renders it (.rendered)
                ok = self.check_chart(src, chart, ctx)
                scopes.append(self.chart_scope(src, chart, ctx) if ok else [])
                continue
            raw_paths: list[str] = []
            programs: list[str] = []
            if kfile is None:  # a plain directory: Argo CD reads its top level only
                raw_paths, programs = self.directory_paths(src)
            for path in src.files if kfile is not None else ():
                if path.rsplit("/", 1)[-1] == "Chart.yaml":
                    self.check_chart(src, path, ctx)
                    continue
                if not is_manifest(path) or path == kfile or "/templates/" in f"/{path}":
                    continue
                raw_paths.append(path)

            def raw(
                src: AppSource = src, paths: list[str] = raw_paths, programs: list[str] = programs
            ) -> list[Doc]:
                return [
                    d
                    for p in paths
                    for d in self.load(p, ctx.student, src.show(p), src.tree, src.expected.get(p))
                ] + [d for p in programs for d in self.jsonnet_docs(src, p, ctx)]

            if (
                kfile is not None
                and self.check_kustomization(src, kfile, ctx)
                and self.opts.kustomize
            ):
                known = self.known_build(src, kfile, ctx.student)
                if known is None:
                    to_build.append((src, kfile, raw))
                else:
                    scopes.append(known)
            else:
                scopes.append(raw())
        if to_build:
            scopes.extend(self.build(ctx.student, to_build))
        return scopes

    def known_build(self, src: AppSource, kfile: str, student: str) -> list[Doc] | None:
        """The build of a folder that is exactly what kuploy renders, without running kubectl.

        kuploy renders a plain kustomization (its own namespace, one image override) over
        three files whose objects it built: the build is those objects with the image set as
        kustomize sets it, in kustomize's order. The renderer is tested against the real
        `kubectl kustomize`, and each process also builds its first such folder with kubectl
        and compares; on any difference it stops using this shortcut. None: build with kubectl.
        """
        if self._known_builds_off or src.tree is not self.tree or not src.expected:
            return None
        owned = [p for p in src.expected if p.startswith(src.folder + "/")]
        if sorted(owned) != sorted(src.files):
            return None
        for path in src.files:
            if path not in self.matched:
                if self.tree.read(path) != src.expected[path][0]:
                    return None
                self.matched.add(path)
        (kustomization,) = src.expected[kfile][1] or [None]
        if not isinstance(kustomization, dict):
            return None
        docs: list[Doc] = []
        for name in kustomization.get("resources") or []:
            path = f"{src.folder}/{name}"
            text, objs = src.expected[path]
            for doc in known_docs(copy.deepcopy(objs or []), text, path, student):
                _set_images(doc.obj, kustomization.get("images") or [])
                docs.append(doc)
        docs.sort(key=lambda d: _legacy_order(d.obj))
        if not self._known_build_checked:
            self._known_build_checked = True
            real = self.kustomizer().build_all([src.real])[src.real]
            if real.output is None or [_identity(o) for o in real.objects()] != [
                _identity(d.obj) for d in docs
            ]:
                self._known_builds_off = True
                return None
        self.report.builds += 1
        self.report.known_builds += 1
        return docs

    def check_kustomization(self, src: AppSource, path: str, ctx: TenantContext) -> bool:
        """Remote bases and helm charts; True when the folder can be built offline."""
        docs = self.load(path, ctx.student, src.show(path), src.tree, src.expected.get(path))
        if not docs or not isinstance(docs[0].obj, dict):
            return False
        data = docs[0].obj
        issues = isolation.check_kustomization(ctx, data)
        for issue in issues:
            self.add(docs[0], issue, ctx.student)
        if isolation.remote_refs(data) or data.get("helmCharts"):
            if not issues:
                self.add(
                    docs[0],
                    Issue(
                        F.KUSTOMIZE_FAILED,
                        "not built: remote bases or helmCharts need the network",
                        severity=F.WARNING,
                    ),
                    ctx.student,
                )
            return False
        return True

    def check_chart(self, src: AppSource, path: str, ctx: TenantContext) -> bool:
        """A Helm chart's dependencies must come from repositories the AppProject allows.

        True when they do (the chart can be rendered).
        """
        ok = True
        for doc in self.load(path, ctx.student, src.show(path), src.tree):
            if isinstance(doc.obj, dict):
                for issue in isolation.check_chart(ctx, doc.obj):
                    self.add(doc, issue, ctx.student)
                    ok = False
        return ok

    def build(
        self, student: str, todo: list[tuple[AppSource, str, Callable[[], list[Doc]]]]
    ) -> list[list[Doc]]:
        """Build each kustomization (prebuilt ones reused, in-memory ones materialised)."""
        results: dict[int, Build] = {}
        fresh: list[int] = []
        for i, (src, _, _) in enumerate(todo):
            prebuilt = self._prebuilt.get(src.folder) if src.tree is self.tree else None
            if prebuilt is not None:
                results[i] = prebuilt
            else:
                fresh.append(i)
        if fresh:
            sources = [todo[i][0] for i in fresh]
            boundaries = self.kustomizer().boundaries
            with _Materialised(self.tree, sources, boundaries) as real:
                built = self.kustomizer().build_all(real)
            results.update({i: built[path] for i, path in zip(fresh, real, strict=True)})
        scopes: list[list[Doc]] = []
        for i, (src, kfile, raw) in enumerate(todo):
            result = results[i]
            self.report.builds += 1
            self.report.cached_builds += int(result.cached)
            shown = src.show(kfile)
            if result.output is None:
                where = f" {src.folder}" if src.folder and not src.shown else ""
                self.add_file(
                    F.KUSTOMIZE_FAILED, f"kubectl kustomize{where}: {result.error}", shown, student
                )
                scopes.append([])
                continue
            kdoc = self.kdoc(src, kfile, student)
            origins = Origins(partial(self.origin_docs, src, student), kdoc, raw)
            scopes.append(
                [
                    BuiltDoc(obj, shown, student, partial(_place, origins, origin))
                    for obj, origin in result.sourced()
                ]
            )
        return scopes

    def kdoc(self, src: AppSource, kfile: str, student: str) -> Doc | None:
        """The kustomization document of an app (already parsed by check_kustomization)."""
        docs = self.load(kfile, student, src.show(kfile), src.tree, src.expected.get(kfile))
        return docs[0] if docs else None

    def origin_docs(self, src: AppSource, student: str, rel: str) -> list[Doc]:
        """The documents of a build's input ``rel`` (relative to the app folder).

        A file outside the folder (a base elsewhere in the repository) is shown by its path in
        the repository (for a student's folder: from the current folder, else from the top).
        """
        path = posixpath.normpath(posixpath.join(src.folder, rel))
        if not path.startswith("../"):
            inside = not src.folder or path.startswith(src.folder + "/")
            return self.load(path, student, src.show(path) if inside else path, src.tree)
        top = (src.tree.boundary or src.tree.root).resolve()
        real = Path(os.path.normpath(src.real.resolve() / rel))
        if not real.is_relative_to(top):
            return []
        cwd = Path.cwd().resolve()
        shown = real.relative_to(cwd if real.is_relative_to(cwd) else top).as_posix()
        tree = self._outside.setdefault(top, Tree(top, boundary=top))
        return self.load(real.relative_to(top).as_posix(), student, shown, tree)

    def check_workloads(
        self,
        ctx: TenantContext,
        scopes: list[list[Doc]],
        *,
        in_repo: bool = True,
        running: quota.Running | None = None,
    ) -> None:
        """Admission, quota, selectors and host claims of everything the tenant's apps deploy.

        ``in_repo``: the files are the platform repo's (not a student's own folder);
        ``running``: the tenant's objects outside them that share its quota (never reported).
        """
        all_docs: list[Doc] = []
        for scope in scopes:
            valid = [d for d in scope if self.check_common(d, ctx.student, ctx)]
            self.check_duplicates(valid, ctx.namespace, ctx.student)
            all_docs.extend(valid)
        pod_labels: list[dict[str, str]] = []
        refused: set[int] = set()  # whose pods the LimitRange or the quota refuses
        for doc in all_docs:
            for issue in policies.check_workload(ctx, self.cfg, doc.obj):
                self.add(doc, issue, ctx.student)
                if issue.rule in quota.POD_REFUSING_RULES:
                    refused.add(id(doc))
            if doc.obj.get("kind") == "Ingress":
                self.claim_hosts(ctx.student, doc, in_repo=in_repo)
            template = pss.pod_template(doc.obj)
            if template is not None:
                labels = template[1].get("labels")
                pod_labels.append({str(k): str(v) for k, v in (labels or {}).items()})
        by_id = {id(d): d for d in all_docs}
        admitted = ctx.ingress_ports
        if admitted is not None and not in_repo:
            # A student's own folder is deployed by a student-repo app: the port named http.
            admitted = (*admitted, netpol.APP_PORT_NAME)
        for doc, issue in reach.unreachable_backends(admitted, all_docs):
            self.add(doc, issue, ctx.student)
        objs = ((id(d), d.obj) for d in all_docs)
        for key, issue in quota.quota_overflows(ctx, objs, running=running, refused=refused):
            self.add(by_id[key], issue, ctx.student)
        for doc in all_docs:
            obj = doc.obj
            if obj.get("kind") != "Service" or group_of(obj):
                continue
            selector = (obj.get("spec") or {}).get("selector")
            if (
                isinstance(selector, dict)
                and selector
                and not any(
                    all(labels.get(str(k)) == str(v) for k, v in selector.items())
                    for labels in pod_labels
                )
            ):
                self.add(
                    doc,
                    Issue(
                        F.SERVICE_UNMATCHED,
                        f"Service selector {selector} matches no pod template of {ctx.student!r}",
                        ("spec", "selector"),
                    ),
                    ctx.student,
                )

    def check_duplicates(self, docs: list[Doc], default_ns: str, tenant: str) -> None:
        """The same object twice in one app (the later one would silently win)."""
        seen: dict[tuple[str, str, str, str], Doc] = {}
        for doc in docs:
            obj = doc.obj
            meta = obj.get("metadata") or {}
            kind = str(obj.get("kind"))
            ns = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or default_ns)
            key = (group_of(obj), kind, ns, str(meta.get("name")))
            first = seen.get(key)
            if first is None:
                seen[key] = doc
                continue
            first.line_of(())
            self.add(
                doc,
                Issue(
                    F.DUPLICATE,
                    f"{kind} {ns + '/' if ns else ''}{meta.get('name')} is already "
                    f"defined in {first.file}:{first.line}",
                ),
                tenant,
            )


class _Materialised:
    """Real folders for kustomize: the sources' own, or temporary copies of overlaid ones."""

    def __init__(self, tree: Tree, sources: list[AppSource], boundaries: list[Path]) -> None:
        """``boundaries``: the builder's, to which the temporary folder is added."""
        self.tree = tree
        self.sources = sources
        self.boundaries = boundaries
        self.tmp: Any = None

    def __enter__(self) -> list[Path]:
        out: list[Path] = []
        for src in self.sources:
            if src.tree is self.tree and self.tree.overlaid(src.folder):
                if self.tmp is None:
                    self.tmp = temp_dir()
                    self.boundaries.append(Path(self.tmp.name))
                out.append(self.tree.materialise(src.folder, Path(self.tmp.name)))
            else:
                out.append(src.real)
        return out

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _place(where: Origins, origin: str | None, obj: Any, path: tuple[str | int, ...]) -> Any:
    return where.place(obj, origin, path)


# The first line of every file kuploy renders from a tenant spec.
RENDERED_MARK = "# Rendered by kuploy-gitops from "

# kustomize's "legacy" output order: these kinds first, in this order, the rest after them
# (sorted by apiVersion, kind, namespace and name), webhook configurations last.
_ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
    "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass",
    "PersistentVolume", "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob",
    "PodDisruptionBudget",
)  # fmt: skip
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def _legacy_order(obj: Any) -> tuple[int, str, str, str, str]:
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    if kind in _ORDER_FIRST:
        rank = _ORDER_FIRST.index(kind)
    elif kind in _ORDER_LAST:
        rank = len(_ORDER_FIRST) + 1 + _ORDER_LAST.index(kind)
    else:
        rank = len(_ORDER_FIRST)
    return (
        rank,
        str(obj.get("apiVersion", "")),
        kind,
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
    )


def _set_images(obj: Any, images: list[Any]) -> None:
    """Kustomize's image override on the containers of a pod template (name, tag, digest)."""
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for field_name in ("initContainers", "containers"):
        for container in spec.get(field_name) or []:
            name = parse_image(str(container.get("image", ""))).name
            for override in images:
                if override.get("name") != name:
                    continue
                if override.get("digest"):
                    container["image"] = f"{name}@{override['digest']}"
                elif override.get("newTag"):
                    container["image"] = f"{name}:{override['newTag']}"


def _identity(obj: Any) -> str:
    """An object as canonical JSON (for comparing builds)."""
    return json.dumps(obj, sort_keys=True)
