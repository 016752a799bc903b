"""App folders read as Argo CD's repo-server reads a source with no explicit type.

Argo CD looks only at the top of the folder: a kustomization there makes it a kustomize app
(built by :mod:`.workloads`), else a file named ``*Chart.yaml`` makes it a Helm app (rendered
with ``helm template``, :mod:`.helm`), else it is a plain directory, of which only the top-level
``*.yaml``, ``*.yml``, ``*.json`` and ``*.jsonnet`` files are read (``directory.recurse`` is off:
our Applications never set it). Jsonnet is evaluated (:mod:`.jsonnet`). Rendered objects go
through every check, placed at their template (or jsonnet) file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from kuploy_gitops import layout
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.crosstenant import CrossTenantChecks
from kuploy_gitops.validate.tree import (
    Doc,
    Tree,
    UnreadableFile,
    is_manifest,
    iter_objects,
    temp_dir,
)

if TYPE_CHECKING:
    from kuploy_gitops.validate import helm
    from kuploy_gitops.validate.context import TenantContext
    from kuploy_gitops.validate.workloads import AppSource


class SourceDoc(Doc):
    """An object rendered from a template or jsonnet file (text that is not the object's YAML).

    A finding is placed at the one line of the file that names the field it is about (the
    deepest such field named exactly once), else at the file's first line.
    """

    def line_of(self, path: tuple[str | int, ...]) -> int:
        """The line of the file naming the deepest field of ``path`` named only once there."""
        if self.text is None:
            return self.line
        for part in reversed(path):
            if not isinstance(part, str):
                continue
            key = re.compile(rf"(?<![\w.-])[\"']?{re.escape(part)}[\"']?\s*:")
            lines = [i for i, text in enumerate(self.text.splitlines(), 1) if key.search(text)]
            if len(lines) == 1:
                return lines[0]
        return self.line


def relative(src: AppSource, path: str) -> str:
    """``path`` relative to the app folder ("" for a loose file that is its own source)."""
    if path == src.folder:
        return ""
    return path[len(src.folder) + 1 :] if src.folder else path


def top_level(src: AppSource, path: str) -> bool:
    """Whether Argo CD reads ``path`` of a plain-directory app (its top level only)."""
    return "/" not in relative(src, path)


def chart_in(src: AppSource) -> str | None:
    """The top-level ``*Chart.yaml`` that makes the folder a Helm app to Argo CD, if any."""
    return next(
        (
            p
            for p in src.files
            if top_level(src, p) and p.endswith("Chart.yaml") and p != src.folder
        ),
        None,
    )


class RenderChecks(CrossTenantChecks):
    """Helm and jsonnet apps: rendered offline, as Argo CD would, then checked like manifests."""

    def release(self, src: AppSource, ctx: TenantContext) -> helm.Release:
        """What Argo CD passes helm for this app: its Application's name, namespace, cluster."""
        from kuploy_gitops.validate import helm

        if src.tree is self.tree:  # apps/workloads/<student>/<app>
            name = layout.application_name(ctx.student, src.folder.rsplit("/", 1)[-1])
        elif self.opts.app:  # a student's own folder, as the app named by --app
            name = layout.application_name(ctx.student, self.opts.app)
        else:  # a student's own folder: the repo app whose path it is (else their first one)
            spec = self.spec_of(ctx.student)
            apps = [a for a in (spec.apps if spec else ()) if a.mode == "repo"]
            where = _path_in_repo(src)
            app = next((a for a in apps if a.path.strip("/") == where), apps[0] if apps else None)
            name = layout.application_name(ctx.student, app.name) if app else ctx.student
        version = self.opts.kubernetes_version or self.cfg.kubernetes_version
        return helm.Release(name, ctx.namespace, version, self.schemas.api_versions())

    def chart_scope(self, src: AppSource, chart: str, ctx: TenantContext) -> list[Doc]:
        """The objects ``helm template`` renders from the chart (a finding when it cannot)."""
        from kuploy_gitops.validate import helm  # only for a chart: the student path stays lean

        shown_chart = src.show(chart)
        folder = src.show(src.folder) if src.folder else (src.shown or ".")
        try:
            helm.find_helm()
        except helm.HelmUnavailable as exc:
            self.add_file(
                F.RENDER_HELM_UNAVAILABLE,
                f"{folder} is a Helm chart (Argo CD renders it with helm template) but "
                f"{exc.message}: it cannot be checked ({exc.hint})",
                shown_chart,
                ctx.student,
            )
            return []
        # Parsed once per run (check_chart did): a broken Chart.yaml is already yaml.syntax or
        # file.unreadable there, and helm then says what it makes of it.
        chart_docs = self.load(chart, ctx.student, shown_chart, src.tree)
        chart_obj = chart_docs[0].obj if chart_docs and isinstance(chart_docs[0].obj, dict) else {}
        files = {relative(src, p): p for p in src.files}
        copies = {rel: (src.tree, path) for rel, path in files.items()}
        missing = helm.dependencies_missing(chart_obj, set(files))
        local = helm.local_dependencies(chart_obj)
        for name in [m for m in missing if m in local]:
            # A file:// dependency: Argo CD's `helm dependency build` copies it, offline.
            found = _local_chart(src, local[name])
            if found:
                missing.remove(name)
                copies.update({f"charts/{name}/{rel}": where for rel, where in found.items()})
        if missing:
            self.add_file(
                F.RENDER_HELM_FAILED,
                f"dependencies {', '.join(missing)} are not vendored in charts/ (nor a folder "
                "of the repository named by file://): Argo CD would fetch them (helm "
                "dependency build), validate does not",
                shown_chart,
                ctx.student,
            )
            return []
        with temp_dir() as tmp:
            copy = Path(tmp) / "chart"
            for rel, (tree, path) in copies.items():
                if rel == ".git" or rel.startswith(".git/"):
                    continue  # (.helmignore and other hidden files go too: helm decides)
                try:
                    data = tree.read_bytes(path)
                except UnreadableFile as exc:
                    shown = src.show(path) if tree is src.tree else path
                    self.add_file(F.FILE_UNREADABLE, exc.message, shown, ctx.student)
                    return []
                dest = copy / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            result = helm.template(copy, self.release(src, ctx))
        self.report.builds += 1
        if result.error is not None:
            self.add_file(
                F.RENDER_HELM_FAILED, f"helm template: {result.error}", shown_chart, ctx.student
            )
            return []
        docs: list[Doc] = []
        for i, (source, obj) in enumerate(result.objects):
            tree, origin = copies.get(source, (src.tree, ""))
            text: str | None = None
            if origin:
                try:
                    text = tree.read(origin)
                except UnreadableFile:
                    text = None
            shown = (src.show(origin) if tree is src.tree else origin) if origin else shown_chart
            docs.append(SourceDoc(obj, shown, 1, i, text, ctx.student))
        return list(iter_objects(docs))

    def jsonnet_docs(self, src: AppSource, path: str, ctx: TenantContext) -> list[Doc]:
        """The objects a top-level ``*.jsonnet`` file evaluates to (a finding when it fails)."""
        from kuploy_gitops.validate import jsonnet

        shown = src.show(path)
        self.report.files += 1
        tree = src.tree
        boundary = str(tree.boundary or tree.root)
        folder = src.folder if src.folder != path else path.rpartition("/")[0]
        result = jsonnet.evaluate(str(tree.root), path, folder, boundary, tree.overlay)
        if result.error is not None:
            self.add_file(
                F.RENDER_JSONNET_FAILED,
                f"{shown}: {result.error}",
                shown,
                ctx.student,
                result.line,
            )
            return []
        try:
            text: str | None = tree.read(path)
        except UnreadableFile:
            text = None
        docs: list[Doc] = [
            SourceDoc(o, shown, 1, i, text, ctx.student) for i, o in enumerate(result.objects)
        ]
        return list(iter_objects(docs))

    def directory_paths(self, src: AppSource) -> tuple[list[str], list[str]]:
        """A plain-directory app's manifest files and jsonnet files: its top level only."""
        plain = [p for p in src.files if top_level(src, p) and is_manifest(p)]
        programs = [p for p in src.files if top_level(src, p) and p.endswith(".jsonnet")]
        return plain, programs


def _local_chart(src: AppSource, path: str) -> dict[str, tuple[Tree, str]]:
    """The files of the chart folder ``path`` (relative to the app's chart) inside the repository.

    File path inside that chart -> (tree, path to read it with); empty when the folder is
    outside the repository or has no files.
    """
    if path.startswith("/"):
        return {}
    tree = src.tree
    joined = os.path.normpath(f"{src.folder}/{path}" if src.folder else path)
    if joined != ".." and not joined.startswith("../"):
        return {p[len(joined) + 1 :]: (tree, p) for p in tree.files(joined) if p != joined}
    # Beside the student's folder: read it from the repository holding that folder.
    top = Path(tree.boundary or tree.root)
    rel = os.path.relpath(os.path.normpath(tree.root / joined), top)
    if rel == ".." or rel.startswith("../"):
        return {}
    outer = Tree(top, boundary=top)
    return {p[len(rel) + 1 :]: (outer, p) for p in outer.files(rel) if p != rel}


def _path_in_repo(src: AppSource) -> str:
    """A student folder's path inside its git repository (the Application's source path)."""
    tree = src.tree
    if tree.boundary is None:
        return ""
    try:
        return Path(tree.root).resolve().relative_to(Path(tree.boundary).resolve()).as_posix()
    except ValueError:
        return ""
