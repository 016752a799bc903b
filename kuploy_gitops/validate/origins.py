"""Where a field of a kustomize-built object is written: its origin file, or the patch setting it.

A build records each object's origin file (kustomize's origin annotation, see
:mod:`.kustomize`). A finding on a field is placed at the document in that file with the same
kind and pre-transform name (a ``namePrefix``/``nameSuffix`` only adds to the name), at the
field's own line. When a patch of the app's kustomization sets the field (a strategic-merge
patch with that value, a JSON 6902 operation on it or on a parent), the patch is the place to
edit instead. Patches of bases further down are not looked at: a field they set is placed at
the origin file's document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from kuploy_gitops import yamlio
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.validate.tree import Doc

Path_ = tuple[str | int, ...]
Place = tuple[Doc, Path_]


def translate(built: Any, source: Any, path: Path_) -> tuple[Path_, bool, Any]:
    """``path`` of ``built`` as a path of ``source``: (path, whether complete, value there).

    List items are matched by their ``name`` (how kustomize merges containers, ports, env and
    volumes), other list items by position; the path stops where ``source`` has no such field.
    """
    out: list[str | int] = []
    for part in path:
        if isinstance(part, int):
            if not (isinstance(built, list) and isinstance(source, list)) or part >= len(built):
                return tuple(out), False, None
            item = built[part]
            if isinstance(item, dict) and "name" in item:
                names = [x.get("name") if isinstance(x, dict) else None for x in source]
                j = names.index(item["name"]) if item["name"] in names else -1
            else:
                j = part if part < len(source) else -1
            if j < 0:
                return tuple(out), False, None
            out.append(j)
            built, source = item, source[j]
        else:
            if not (isinstance(built, dict) and isinstance(source, dict)) or part not in source:
                return tuple(out), False, None
            out.append(part)
            built, source = built.get(part), source[part]
    return tuple(out), True, source


def _meta(obj: Any) -> Mapping[str, Any]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta if isinstance(meta, dict) else {}


def _pointer(path: str) -> Path_:
    """A JSON pointer ("/spec/containers/0/image") as a key path."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _matches(target: Any, kind: str, name: str) -> bool:
    """Whether a patch ``target`` selector picks an object (kind and name, as regexes)."""
    if not isinstance(target, Mapping):
        return True
    for key, value in (("kind", kind), ("name", name)):
        want = target.get(key)
        if want is None:
            continue
        try:
            if not re.fullmatch(str(want), value):
                return False
        except re.error:
            if str(want) != value:
                return False
    return True


class Origins:
    """Places fields of one app's built objects (see the module docstring).

    ``open_file`` gives the documents of a file by its path relative to the app folder (with
    the names findings show; [] when unreadable), ``kdoc`` is the app's kustomization
    document, ``raw`` every manifest of the folder (for objects without a recorded origin).
    """

    def __init__(
        self,
        open_file: Callable[[str], list[Doc]],
        kdoc: Doc | None,
        raw: Callable[[], list[Doc]],
    ) -> None:
        self._open = open_file
        self._kdoc = kdoc
        self._raw = raw
        self._sources: dict[int, Place | None] = {}
        self._patches: list[tuple[Doc, Path_, Any, Any]] | None = None
        self._by_name: dict[tuple[str, str], Doc] | None = None

    def place(self, obj: Any, origin: str | None, path: Path_) -> Place | None:
        """The document and inner path where ``path`` of the built ``obj`` is written."""
        if id(obj) not in self._sources:
            self._sources[id(obj)] = self._source(obj, origin)
        found = self._sources[id(obj)]
        if found is None:
            return None
        src, prefix = found
        if prefix:  # a generated object: its generator entry in the kustomization
            return found
        if path:
            patched = self._patched(obj, src, path)
            if patched is not None:
                return patched
        return src, translate(obj, src.obj, path)[0]

    def _source(self, obj: Any, origin: str | None) -> Place | None:
        kind = str(obj.get("kind")) if isinstance(obj, dict) else ""
        name = str(_meta(obj).get("name"))
        if origin is None:
            return self._legacy(kind, name)
        docs = [d for d in self._open(origin) if isinstance(d.obj, dict)]
        if docs and docs[0].obj.get("kind", "Kustomization") == "Kustomization":
            return self._generator(docs[0], name)
        same = [d for d in docs if d.obj.get("kind") == kind]
        exact = [d for d in same if str(_meta(d.obj).get("name")) == name]
        # A namePrefix/nameSuffix wraps the original name: the longest one inside is it.
        inside = sorted(
            (d for d in same if str(_meta(d.obj).get("name") or "\0") in name),
            key=lambda d: -len(str(_meta(d.obj).get("name"))),
        )
        best = exact or inside or same or docs
        return (best[0], ()) if best else None

    def _generator(self, kdoc: Doc, name: str) -> Place:
        """A generated ConfigMap or Secret: the generator entry whose name it carries."""
        for key in ("configMapGenerator", "secretGenerator"):
            for i, gen in enumerate(kdoc.obj.get(key) or []):
                if isinstance(gen, Mapping) and str(gen.get("name") or "\0") in name:
                    return kdoc, (key, i)
        return kdoc, ()

    def _legacy(self, kind: str, name: str) -> Place | None:
        """No origin recorded: the folder's first document of that kind and name (or kind)."""
        if self._by_name is None:
            self._by_name = {}
            for doc in self._raw():
                if isinstance(doc.obj, dict):
                    key = (str(doc.obj.get("kind")), str(_meta(doc.obj).get("name")))
                    self._by_name.setdefault(key, doc)
                    self._by_name.setdefault((key[0], "\0"), doc)
        found = self._by_name.get((kind, name)) or self._by_name.get((kind, "\0"))
        return None if found is None else (found, ())

    def _patched(self, obj: Any, src: Doc, path: Path_) -> Place | None:
        """The last patch of the app's kustomization that writes ``path``, if any."""
        kind = str(obj.get("kind"))
        name = str(_meta(src.obj).get("name"))  # the name before any prefix or suffix
        for doc, at, patch, target in reversed(self._patch_list()):
            if isinstance(patch, list):  # JSON 6902 operations
                if not _matches(target, kind, name) or target is None:
                    continue
                for i in reversed(range(len(patch))):
                    op = patch[i]
                    if not isinstance(op, Mapping) or not isinstance(op.get("path"), str):
                        continue
                    where = _pointer(op["path"])
                    if path[: len(where)] == where:
                        return doc, (*at, i, "value", *path[len(where) :])
                continue
            if not isinstance(patch, dict) or patch.get("kind", kind) != kind:
                continue
            pname = str(_meta(patch).get("name"))
            if target is None and pname != name or not _matches(target, kind, name):
                continue
            inner, complete, value = translate(obj, patch, path)
            if complete and (
                not isinstance(value, dict | list) or not translate(obj, src.obj, path)[1]
            ):
                return doc, (*at, *inner)
        return None

    def _patch_list(self) -> list[tuple[Doc, Path_, Any, Any]]:
        """(document, path prefix inside it, patch, target) of every patch, in order."""
        if self._patches is not None:
            return self._patches
        self._patches = []
        kdoc = self._kdoc
        data = kdoc.obj if kdoc is not None and isinstance(kdoc.obj, dict) else {}
        entries: list[tuple[Path_, Any, Any]] = []
        for i, ref in enumerate(data.get("patchesStrategicMerge") or []):
            entries.append((("patchesStrategicMerge", i), ref, None))
        for i, entry in enumerate(data.get("patches") or []):
            if isinstance(entry, Mapping):
                ref = entry.get("path") or entry.get("patch")
                entries.append((("patches", i, "patch"), ref, entry.get("target")))
        for at, ref, target in entries:
            if not isinstance(ref, str) or kdoc is None:
                continue
            if "\n" not in ref.strip():  # a file of the folder
                for doc in self._open(ref.strip()):
                    self._patches.append((doc, (), doc.obj, target))
                continue
            try:
                inline = yamlio.load(ref, source="inline patch")
            except ConfigError:
                continue
            self._patches.append((kdoc, at, inline, target))
        return self._patches
