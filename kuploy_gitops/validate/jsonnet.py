"""Jsonnet files evaluated as Argo CD's repo-server evaluates them (go-jsonnet, no arguments).

A plain-directory app's top-level ``*.jsonnet`` files are manifests to Argo CD: each is evaluated
with go-jsonnet, without external variables or top-level arguments (our Applications set none),
with the app folder as the library path, and its output must be an object or a list of objects.
``*.libsonnet`` files are only imported.

The evaluation runs in a child Python process (:func:`_child`) with a
time and a memory limit: a student's jsonnet can loop or grow without bound, and the C binding
cannot be interrupted. Every import is read through :func:`.tree.read_regular`: only regular
files inside the repository (the ``boundary``), of bounded size, as for manifests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The child imports this very package (not whichever the working folder would give it).
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from kuploy_gitops.validate.jsonnet import _child; _child()"
)
TIMEOUT = 30.0  # seconds; a jsonnet app renders in well under one
MEMORY_LIMIT = 2 << 30  # bytes of address space for the child
MAX_OUTPUT = 16 * 1024 * 1024
MAX_DEPTH = 100  # as for YAML manifests (yamlio.MAX_DEPTH): Kubernetes objects nest a few dozen


@dataclass
class Evaluated:
    """The objects a jsonnet file gives, or the error (and its line in that file)."""

    objects: list[Any] = field(default_factory=list)
    error: str | None = None
    line: int = 1


def evaluate(
    root: str, path: str, folder: str, boundary: str, overlay: Mapping[str, str | None]
) -> Evaluated:
    """Evaluate ``root/path`` (the app folder is ``root/folder``; imports stay in ``boundary``).

    ``overlay``: in-memory files (root-relative path -> text, None: deleted) imports see first.
    """
    request = {
        "root": root,
        "path": path,
        "folder": folder,
        "boundary": boundary,
        "overlay": dict(overlay),
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(__file__).resolve().parents[2])],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return Evaluated(error=f"evaluation ran over {TIMEOUT:.0f} s")
    if proc.returncode != 0 or not proc.stdout:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "MemoryError" in proc.stderr or "out of memory" in proc.stderr:
            tail = f"evaluation needed over {MEMORY_LIMIT >> 20} MiB of memory"
        return Evaluated(error=tail)
    try:
        answer = json.loads(proc.stdout)
        if "error" in answer:
            return Evaluated(error=answer["error"], line=int(answer.get("line", 1)))
        data = json.loads(answer["output"])
    except RecursionError:
        return Evaluated(error=f"the output nests deeper than {MAX_DEPTH} levels")
    except (ValueError, KeyError, TypeError):
        return Evaluated(error="the evaluation gave no readable answer")
    return _objects(data)


def _depth(data: Any) -> int:
    """How deep ``data`` nests (counted without recursion: the output may nest without bound)."""
    deepest = 0
    todo = [(data, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        todo.extend((child, depth + 1) for child in children)
    return deepest


def _objects(data: Any) -> Evaluated:
    """Argo CD's reading of the output: a list of objects, else one object."""
    if _depth(data) > MAX_DEPTH:
        return Evaluated(error=f"the output nests deeper than {MAX_DEPTH} levels")
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        return Evaluated(
            error="the output is not an object or a list of objects (Argo CD refuses it)"
        )
    return Evaluated(objects=items)


# -- the child process ------------------------------------------------------------------------


def _inside(path: str, top: str) -> bool:
    return os.path.commonpath([top, path]) == top


def _importer(req: dict[str, Any], refused: list[tuple[str, str]]) -> Any:
    """go-jsonnet's import callback: files inside the boundary only, read as manifests are.

    A refused or missing import is recorded in ``refused`` (import string, reason) and yields
    ``null``: an exception raised in the callback comes back from the binding as a garbled
    message, so none is raised.
    """
    from kuploy_gitops.validate.tree import UnreadableFile, read_regular

    root = os.path.normpath(Path.cwd() / req["root"])
    lexical_top = os.path.normpath(Path.cwd() / req["boundary"])
    top = str(Path(lexical_top).resolve())
    app = os.path.normpath(Path(root) / req["folder"])
    overlay: dict[str, str | None] = req["overlay"]

    def load(base: str, rel: str) -> tuple[str, bytes]:
        # As go-jsonnet's file importer: beside the importing file, then the library path (the
        # app folder). An absolute path stays absolute (Path's "/" keeps it).
        for candidate in (Path(base or app) / rel, Path(app) / rel):
            full = os.path.normpath(candidate)
            if not _inside(full, lexical_top) or not _inside(str(Path(full).resolve()), top):
                refused.append((rel, f"import {rel!r} reaches outside the repository"))
                return full, b"null"
            key = os.path.relpath(full, root)
            if key in overlay:
                text = overlay[key]
                if text is None:
                    continue
                return full, text.encode()
            if not os.path.lexists(full):
                continue
            try:
                data = read_regular(lexical_top, os.path.relpath(full, lexical_top), top)
            except UnreadableFile as exc:
                refused.append((rel, exc.message))
                return full, b"null"
            return full, data.encode()
        refused.append((rel, f"import {rel!r} not found"))
        return f"{app}/{rel}", b"null"

    return load


def _line_of(message: str, file: str) -> int:
    m = re.search(re.escape(file) + r":(\d+)", message)
    return int(m.group(1)) if m else 1


def _child() -> None:
    req = json.loads(sys.stdin.read())
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    import _gojsonnet  # type: ignore[import-not-found]  # go-jsonnet's binding has no stubs

    full = Path(os.path.normpath(Path.cwd() / req["root"] / req["path"]))
    text = req["overlay"].get(req["path"])
    refused: list[tuple[str, str]] = []
    load = _importer(req, refused)
    answer: dict[str, Any] = {}
    if text is None:
        text = load(f"{full.parent}/", full.name)[1].decode()
    if not refused:
        try:
            output = _gojsonnet.evaluate_snippet(str(full), text, import_callback=load)
            # Checked here, not in the parent: it never reads more than a bounded answer.
            if len(output) > MAX_OUTPUT:
                answer = {"error": f"the output is over {MAX_OUTPUT} bytes", "line": 1}
            else:
                answer = {"output": output}
        except RuntimeError as exc:
            message = str(exc)
            first = message.strip().splitlines()[0] if message.strip() else "evaluation failed"
            top = os.path.normpath(Path.cwd() / req["boundary"]) + "/"
            answer = {"error": first.replace(top, ""), "line": _line_of(message, str(full))}
    if refused:  # the first refused import, at the line of the file that names it
        rel, reason = refused[0]
        lines = [i for i, ln in enumerate(text.splitlines(), 1) if rel in ln]
        answer = {"error": reason, "line": lines[0] if lines else 1}
    sys.stdout.write(json.dumps(answer))
