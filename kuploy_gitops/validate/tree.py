"""Reading manifests: files (disk plus an in-memory overlay), documents and their lines.

Documents are parsed with yamlio's fast C loader; the slower node walk that finds the line of a
field only runs for documents that have findings.
"""

from __future__ import annotations

import bisect
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kuploy_gitops import yamlio
from kuploy_gitops.errors import ConfigError, InvalidInputError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Doc:
    """One document of a manifest file (or of a kustomize build, mapped back to its source)."""

    obj: Any
    file: str  # path shown to the user (repo-relative, or relative to the student's folder)
    line: int
    index: int  # position of the document in its file (for the line lookup)
    text: str | None = None  # the file's text, when lines inside the document can be found
    tenant: str = ""

    def line_of(self, path: tuple[str | int, ...]) -> int:
        """The line of ``path`` inside the document (the document's line when not found)."""
        if not path or self.text is None:
            return self.line
        return locate(self.text, self.index, path) or self.line


# Where a field of a built object is written: the source document and the field's path in it.
Placer = Callable[[Any, tuple[str | int, ...]], tuple[Doc, tuple[str | int, ...]] | None]


class BuiltDoc(Doc):
    """A kustomize-built object, placed at its source document only when a line is asked for.

    The place may differ per field (a field a patch sets is at the patch), so :attr:`file`
    and :attr:`line` are those of the last :meth:`line_of` call.
    """

    def __init__(self, obj: Any, kfile: str, tenant: str, place: Placer) -> None:
        """Start at the kustomization file; ``place`` finds where a field is written."""
        super().__init__(obj, kfile, 1, 0, None, tenant)
        self._place = place

    def line_of(self, path: tuple[str | int, ...]) -> int:
        """Place the field at its source document, then find its line as for any document."""
        found = self._place(self.obj, path)
        if found is None:
            return super().line_of(path)
        src, inner = found
        self.file, self.line, self.index, self.text = src.file, src.line, src.index, src.text
        return super().line_of(inner)


@dataclass
class Tree:
    """The files of a folder, with an optional overlay of in-memory files (path -> text).

    An overlay value of ``None`` hides the file on disk (a deletion in a change set).
    """

    root: Path
    overlay: Mapping[str, str | None] = field(default_factory=dict)
    # Where symlinks may point (the repository holding ``root``); None: ``root`` itself.
    boundary: Path | None = None

    def _listing(self, top: str) -> list[str]:
        """Every file under the top-level folder ``top``, walked once per tree (sorted)."""
        cache: dict[str, list[str]] = self.__dict__.setdefault("_listings", {})
        if top not in cache:
            cache[top] = self._walk(top)
        return cache[top]

    def _walk(self, folder: str) -> list[str]:
        """Every file under ``folder`` on disk (sorted; ``.git`` left out)."""
        found: list[str] = []
        # os.scandir and plain strings: a repo of 5,000 tenants has 30,000 folders to walk.
        stack = [folder]
        root = str(self.root)
        while stack:
            rel = stack.pop()
            try:
                entries = os.scandir(f"{root}/{rel}")
            except (FileNotFoundError, NotADirectoryError):
                continue
            with entries:
                for entry in entries:
                    if not entry.is_dir():
                        found.append(f"{rel}/{entry.name}")
                    elif entry.name != ".git" and not entry.is_symlink():
                        stack.append(f"{rel}/{entry.name}")  # (as os.walk: links not followed)
        found.sort()
        return found

    def files(self, prefix: str) -> list[str]:
        """Repo-relative paths of every file under ``prefix`` (sorted)."""
        prefix = prefix.rstrip("/")
        if prefix in ("", "."):
            found: list[str] = []
        else:
            top = prefix.split("/", 1)[0]
            if top in self.__dict__.get("_listings", {}) or prefix == top:
                listing = self._listing(top)
            else:
                # A narrow question (one tenant's folder) before any whole-tree walk: walk only
                # that folder, so checking one tenant costs the same in a repo of thousands.
                listing = self._walk(prefix) if (self.root / prefix).is_dir() else []
            # The paths under "prefix/" sit between "prefix/" and "prefix0" ("0" follows "/").
            lo = bisect.bisect_left(listing, prefix + "/")
            found = listing[lo : bisect.bisect_left(listing, prefix + "0", lo)]
            if not found and (self.root / prefix).is_file():
                found = [prefix]
        if not self.overlay:
            return found
        merged = set(found)
        pre = prefix + "/"
        for p, text in self.overlay.items():
            if p.startswith(pre) or p == prefix:
                if text is None:
                    merged.discard(p)
                else:
                    merged.add(p)
        return sorted(merged)

    def read(self, path: str) -> str:
        """The text of a file (overlay first).

        Only a regular UTF-8 file inside the tree of at most :data:`MAX_FILE_BYTES` is read (a
        student controls these files): anything else is :class:`UnreadableFile`, never a hang
        on a FIFO, an endless device, or a read outside through a symlink.
        """
        if path in self.overlay:
            text = self.overlay[path]
            if text is None:
                raise FileNotFoundError(path)
            return text
        return read_regular(str(self.root), path, self.boundary)

    def read_bytes(self, path: str) -> bytes:
        """The bytes of a file (overlay first), read as bounded as :meth:`read`."""
        if path in self.overlay:
            return self.read(path).encode("utf-8")
        return read_regular_bytes(str(self.root), path, self.boundary)

    def exists(self, path: str) -> bool:
        """Whether the file exists in the overlay or on disk."""
        if path in self.overlay:
            return self.overlay[path] is not None
        return (self.root / path).is_file()

    def overlaid(self, prefix: str) -> bool:
        """Whether any overlay file lies under ``prefix``."""
        pre = prefix.rstrip("/") + "/"
        return any(p.startswith(pre) for p in self.overlay)

    def materialise(self, prefix: str, into: Path) -> Path:
        """Copy the folder ``prefix`` with the overlay applied under ``into``; return the copy."""
        target = into / prefix
        if (self.root / prefix).is_dir():
            # Links stay links (checked where they are read), special files are refused: a
            # copy never reads a FIFO or a device.
            shutil.copytree(
                self.root / prefix,
                target,
                symlinks=True,
                dirs_exist_ok=True,
                copy_function=_copy_regular,
            )
        pre = prefix.rstrip("/") + "/"
        for path, text in self.overlay.items():
            if not (path.startswith(pre) or path == prefix):
                continue
            dest = into / path
            if text is None:
                dest.unlink(missing_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(text, encoding="utf-8")
        return target


def _copy_regular(src: str, dst: str) -> str:
    if not stat.S_ISREG(os.lstat(src).st_mode):
        raise UnreadableFile(f"{src}: not a regular file")
    return str(shutil.copy2(src, dst))


def temp_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for materialised overlays."""
    return tempfile.TemporaryDirectory(prefix="kuploy-validate-")


MAX_FILE_BYTES = 4 * 1024 * 1024  # a manifest file; Argo CD's repo-server also caps its input


class UnreadableFile(InvalidInputError):
    """A file `validate` will not read: outside the tree, not regular, too big, or not UTF-8.

    Its message names the file; the engine reports it as the finding ``file.unreadable``.
    """


def read_regular(root: str, path: str, boundary: Path | str | None = None) -> str:
    """The UTF-8 text of the regular file ``root/path``, or :class:`UnreadableFile`.

    A symlink may point anywhere inside ``boundary`` (default: ``root``), as Argo CD lets a
    symlink point anywhere inside the repository.
    """
    data = read_regular_bytes(root, path, boundary)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            f"{path}: not UTF-8 (line {line})",
            hint="save the file as UTF-8 (Kubernetes and Argo CD read only UTF-8)",
        ) from exc


def read_regular_bytes(root: str, path: str, boundary: Path | str | None = None) -> bytes:
    """The bytes of the regular file ``root/path`` (as :func:`read_regular`, not decoded)."""
    full = f"{root}/{path}"
    try:
        # O_NOFOLLOW: a symlink is looked at before it is followed; O_NONBLOCK: a FIFO does
        # not block the open (it is then refused as not a regular file).
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:  # ELOOP: a symlink (O_NOFOLLOW), dangling or not
            raise
        real = os.path.realpath(full)
        top = os.path.realpath(boundary or root)
        if os.path.commonpath([top, real]) != top:
            raise UnreadableFile(
                f"{path}: a symlink to {real}, outside the repository",
                hint="copy the file into the folder (Argo CD refuses such links too)",
            ) from exc
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise UnreadableFile(f"{path}: a symlink to nothing") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(
                f"{path}: not a regular file", hint="replace it with a plain YAML file"
            )
        if info.st_size > MAX_FILE_BYTES:
            raise UnreadableFile(
                f"{path}: {info.st_size} bytes, over the {MAX_FILE_BYTES} bytes a manifest "
                "file may have",
                hint="split it, or keep data out of manifests",
            )
        chunks = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:  # grew while read
        raise UnreadableFile(f"{path}: over the {MAX_FILE_BYTES} bytes a manifest file may have")
    return data


def is_manifest(path: str) -> bool:
    """Whether a file name is one Argo CD reads as a manifest."""
    return path.endswith(MANIFEST_SUFFIXES)


def parse(text: str, file: str, tenant: str = "") -> tuple[list[Doc], str | None]:
    """Documents of a file with their lines, or ([], error message) on a syntax error."""
    if file.endswith(".json"):
        try:
            import json

            yamlio.check_json_depth(text)
            return [Doc(json.loads(text), file, 1, 0, None, tenant)], None
        except yamlio.HostileYAML as exc:
            return [], f"{file}: {exc}"
        except ValueError as exc:
            return [], f"{file}: not valid JSON: {exc}"
    docs: list[Doc] = []
    try:
        for i, (line, obj) in enumerate(yamlio.iter_docs_fast(text, source=file)):
            docs.append(Doc(obj, file, line, i, text, tenant))
    except ConfigError as exc:
        return docs, str(exc)
    return docs, None


def known_docs(objs: list[Any], text: str, file: str, tenant: str = "") -> list[Doc]:
    """The documents of ``text`` whose objects are already known (built as data, then dumped).

    What :func:`parse` would give for text that kuploy wrote from ``objs``, without parsing:
    each document starts at its first line that is not blank, a comment or ``---``.
    """
    starts: list[int] = []
    content = False  # whether the current document has a line of its own yet
    for number, line in enumerate(text.splitlines(), 1):
        if line == "---":
            content = False
        elif not content and line.strip() and not line.lstrip().startswith("#"):
            starts.append(number)
            content = True
    if len(starts) != len(objs):  # not text kuploy wrote from these objects: parse it
        return parse(text, file, tenant)[0]
    return [
        Doc(obj, file, start, i, text, tenant)
        for i, (obj, start) in enumerate(zip(objs, starts, strict=True))
    ]


def error_line(message: str) -> int:
    """The line to edit for a PyYAML error message, or 1.

    PyYAML names up to two places: where the construct being read began ("while parsing a
    block mapping ... line 3") and where reading failed ("did not find expected key ... line
    11"). The failure is the line to edit, except for a quote never closed or a key without
    its colon: there the failure is only found lines later, and the start is the mistake.
    Hostile-input errors name one "(line N)".
    """
    import re

    lines = [int(n) for n in re.findall(r"line (\d+)(?:, column|\))", message)]
    if not lines:
        return 1
    starts_wrong = "while scanning a quoted scalar" in message or (
        "while scanning a simple key" in message
    )
    return lines[0] if starts_wrong else lines[-1]


def locate(text: str, index: int, path: tuple[str | int, ...]) -> int | None:
    """Line (1-based) of the deepest node of ``path`` found in document ``index`` of ``text``."""
    loader = _Loader(text)
    try:
        i = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if _is_empty(node):
                continue
            if i == index:
                return _walk(node, path)
            i += 1
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


def _is_empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _walk(node: yaml.Node, path: tuple[str | int, ...]) -> int:
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def iter_objects(docs: list[Doc]) -> Iterator[Doc]:
    """Documents that are mappings, expanding ``kind: List`` items."""
    for doc in docs:
        obj = doc.obj
        if (
            isinstance(obj, dict)
            and str(obj.get("kind", "")).endswith("List")
            and isinstance(obj.get("items"), list)
        ):
            for item in obj["items"]:
                yield Doc(item, doc.file, doc.line, doc.index, None, doc.tenant)
        else:
            yield doc
