"""Strict schema checks: Kubernetes OpenAPI schemas and Argo CD CRD schemas, one validator each.

Kubernetes schemas come from the ``kubernetes-validate`` package's bundled "strict" JSON schemas
(``additionalProperties: false`` everywhere, so a typo such as ``replica:`` is an error). Its own
``validate()`` re-reads the schema files on every call (~11 ms per object); here every
(apiVersion, kind) gets ONE compiled validator, reused for every object (~0.3 ms per object).

Custom resources (Argo CD's Application, AppProject, ApplicationSet) are checked against the
``openAPIV3Schema`` of their CRDs: the ones shipped with kuploy-gitops (:mod:`.crdbundle`), or,
kind by kind, those of a folder (``--crd-dir`` or ``argocd.crd_dir`` in kuploy.yaml), converted to
JSON schema and made strict the way the API server prunes: objects without
``x-kubernetes-preserve-unknown-fields`` accept no unknown fields.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema  # type: ignore[import-untyped]
    from referencing import Registry

from kuploy_gitops import yamlio
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.quantity import KUBE_QUANTITY
from kuploy_gitops.validate import apirules, apiversions, crdbundle
from kuploy_gitops.validate.apiversions import REMOVED_APIS
from kuploy_gitops.validate.fastcheck import Check, Compiler
from kuploy_gitops.validate.findings import (
    API_REMOVED,
    SCHEMA_INVALID,
    UNKNOWN_FIELD,
    UNKNOWN_KIND,
    Issue,
)

_DEFS_ID = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META = f"{_DEFS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# The bundled schemas let a Quantity be any string; the API server parses it (ParseQuantity).
# The marker key words the finding (jsonschema and the compiled check ignore x- keys).
QUANTITY_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": KUBE_QUANTITY}, {"type": "number"}],
    "x-kuploy-quantity": True,
}
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
# controller-gen writes a CRD's names block sorted: `kind:` is followed by `listKind:`.
_CRD_KIND = re.compile(r"^\s+kind:\s*['\"]?(\w+)['\"]?\s*\n\s+listKind:", re.MULTILINE)
_CRD_GROUP = re.compile(r"^\s+group:\s*['\"]?([\w.-]+)['\"]?\s*$", re.MULTILINE)


WARM_KINDS = (
    ("v1", "Namespace"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "AppProject"),
)


def bundled_versions() -> list[str]:
    """Kubernetes versions whose strict schemas ``kubernetes-validate`` bundles (``1.34.0``...)."""
    root = _schema_root()
    found = []
    for p in root.iterdir():
        m = re.match(r"^v(\d+\.\d+\.\d+)-local-strict$", p.name)
        if m:
            found.append(m.group(1))
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


@functools.cache
def _schema_root() -> Path:
    # Found, not imported: importing kubernetes_validate loads jsonschema, which only an
    # object with findings needs.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        raise ConfigError(
            "the kubernetes-validate package is not installed",
            hint="reinstall kuploy-gitops (pip install kuploy-gitops) to get its dependencies",
        )
    return Path(spec.origin).resolve().parent / "kubernetes-json-schema"


def _minor(version: str) -> tuple[int, int]:
    m = _VERSION.match(version.strip())
    if not m:
        raise ConfigError(
            f"Kubernetes version {version!r} is not a version like 1.34.0",
            hint="set cluster.kubernetes_version in kuploy.yaml or pass --kubernetes-version",
        )
    return int(m.group(1)), int(m.group(2))


def _schema_filename(api_version: str, kind: str) -> str:
    # kubernetes-validate's naming: networking.k8s.io/v1 Ingress -> ingress-networking-v1.json
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{short}.json"


class LazyDefs(Mapping[str, Any]):
    """The ``$defs`` of a definitions document, each definition decoded when first asked for.

    The Kubernetes definitions file is 1.6 MB of JSON; checking a few kinds needs a few hundred
    of its definitions, and decoding the whole file cost more than compiling them (the
    start-up of ``validate --student``). The files of kubernetes-validate are indented by two
    spaces, so each definition starts on a line of its own with its name four spaces in; a
    document laid out otherwise is decoded whole.
    """

    _OPEN = '{\n  "$defs": {\n'

    def __init__(self, text: str, overrides: Mapping[str, Any] | None = None) -> None:
        """``text`` is the whole definitions document; ``overrides`` replace definitions."""
        self._text = text
        self._decoded: dict[str, Any] = dict(overrides or {})
        self._all: dict[str, Any] | None = None
        # name -> where its value starts (names of Kubernetes types need no JSON escapes).
        self._offsets = {m[1]: m.end() for m in _DEF_KEY.finditer(text)}
        if not text.startswith(self._OPEN) or not self._offsets:
            self._whole()

    def _offset(self, name: str) -> int:
        """Where the value of definition ``name`` starts (-1: there is none)."""
        return self._offsets.get(name, -1)

    def __getitem__(self, name: str) -> Any:
        if self._all is not None:
            return self._all[name]
        if name not in self._decoded:
            i = self._offset(name)
            if i < 0:
                raise KeyError(name)
            self._decoded[name] = _DECODER.raw_decode(self._text, i)[0]
        return self._decoded[name]

    def __contains__(self, name: object) -> bool:
        if self._all is not None:
            return name in self._all
        return isinstance(name, str) and (name in self._decoded or self._offset(name) >= 0)

    def _whole(self) -> dict[str, Any]:
        if self._all is None:
            self._all = {**(json.loads(self._text).get("$defs") or {}), **self._decoded}
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


_DECODER = json.JSONDecoder()
_DEF_KEY = re.compile(r'\n    "([A-Za-z0-9_.-]+)": (?=\{)')


class SchemaSet:
    """Compiled strict validators for one Kubernetes version plus the CRDs of a folder."""

    def __init__(self, kubernetes_version: str, crd_dir: Path | None = None) -> None:
        """Pick the newest bundled schema version not newer than ``kubernetes_version``.

        Raises:
            ConfigError: the version is malformed, older than every bundled schema set, or
                ``crd_dir`` is not a folder.
        """
        wanted = _minor(kubernetes_version)
        candidates = [v for v in bundled_versions() if _minor(v) <= wanted]
        if not candidates:
            raise ConfigError(
                f"no schemas for Kubernetes {kubernetes_version}: the installed "
                f"kubernetes-validate bundles {', '.join(bundled_versions())}",
                hint="set cluster.kubernetes_version to a bundled version",
            )
        self.kubernetes_version = candidates[-1]
        self.minor = wanted[1]
        self._dir = _schema_root() / f"v{self.kubernetes_version}-local-strict"
        if crd_dir is not None and not crd_dir.is_dir():
            raise ConfigError(
                f"CRD folder {crd_dir} does not exist",
                hint="pass --crd-dir with the folder holding the Argo CD CRD YAML files",
            )
        self.crd_dir = crd_dir
        # (apiVersion, kind) -> the schema (None: no schema), its compiled yes/no check, and
        # jsonschema's validator, built only for an object the check does not pass (jsonschema
        # alone words the findings; importing it costs more than checking a small folder).
        self._schemas: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._fast: dict[tuple[str, str], Check] = {}
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
        self._crd_files: dict[tuple[str, str], Path] | None = None

    @cached_property
    def _definitions_text(self) -> str:
        return (self._dir / "_definitions.json").read_text(encoding="utf-8")

    @cached_property
    def _defs(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self._definitions_text)
        data.setdefault("$defs", {})[_QUANTITY] = QUANTITY_SCHEMA
        return data

    @cached_property
    def _served(self) -> frozenset[tuple[str, str, str]]:
        """(group, version, kind) of every kind of this Kubernetes version's definitions."""
        return apiversions.served(self._definitions_text)

    @cached_property
    def _registry(self) -> Registry:
        from referencing import Registry, Resource

        registry: Registry = Resource.from_contents(self._defs) @ Registry()
        return registry

    @cached_property
    def _compiler(self) -> Compiler:
        return Compiler(LazyDefs(self._definitions_text, {_QUANTITY: QUANTITY_SCHEMA}))

    # -- lookup --------------------------------------------------------------------------------

    def _crd_index(self) -> dict[tuple[str, str], Path]:
        """(group, kind) -> CRD file: the folder's, else the bundled one.

        The folder's files are found by scanning their text (cheap, no parsing).
        """
        if self._crd_files is None:
            self._crd_files = dict(crdbundle.bundled_kinds())
            if self.crd_dir is not None:
                for path in sorted(self.crd_dir.iterdir()):
                    if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
                        continue
                    text = path.read_text(encoding="utf-8")
                    if "CustomResourceDefinition" not in text:
                        continue
                    kinds = _CRD_KIND.findall(text)
                    groups = _CRD_GROUP.findall(text)
                    if kinds and groups:
                        self._crd_files[(groups[0], kinds[0])] = path
        return self._crd_files

    def crd_stamp(self) -> str:
        """The identity of the CRD folder's files (the bundled ones go with kuploy-gitops)."""
        if self.crd_dir is None:
            return ""
        parts = []
        for path in sorted(self.crd_dir.iterdir()):
            st = path.stat()
            parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
        return f"{self.crd_dir.resolve()}|" + "|".join(parts)

    def has_crd_group(self, group: str) -> bool:
        """Whether a CRD (bundled or from the folder) defines any kind of ``group``."""
        return any(g == group for g, _ in self._crd_index())

    def schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The JSON schema of (apiVersion, kind) (compiled once), or None when there is none."""
        key = (api_version, kind)
        if key not in self._schemas:
            schema = self._build(api_version, kind)
            self._schemas[key] = schema
            if schema is not None:
                self._fast[key] = self._compiler.compile(schema)
        return self._schemas[key]

    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        """Jsonschema's validator of (apiVersion, kind), or None when there is no schema."""
        key = (api_version, kind)
        schema = self.schema(api_version, kind)
        if schema is None:
            return None
        if key not in self._validators:
            import jsonschema

            self._validators[key] = jsonschema.Draft202012Validator(schema, registry=self._registry)
        return self._validators[key]

    def _build(self, api_version: str, kind: str) -> dict[str, Any] | None:
        group = api_version.rpartition("/")[0]
        crd = self._crd_index().get((group, kind))
        if crd is not None:
            return self._build_crd(crd, api_version, kind)
        path = self._dir / _schema_filename(api_version, kind)
        if not path.is_file():
            return None
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return schema

    def _build_crd(self, path: Path, api_version: str, kind: str) -> dict[str, Any] | None:
        text = path.read_text(encoding="utf-8")
        if path.parent == crdbundle.BUNDLED_DIR:
            docs = [json.loads(text)]
        else:
            docs = yamlio.load_all(text, source=str(path))
        version = api_version.rpartition("/")[2]
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            if (spec.get("names") or {}).get("kind") != kind:
                continue
            for ver in spec.get("versions") or []:
                if ver.get("name") == version and ver.get("served", True):
                    raw = ((ver.get("schema") or {}).get("openAPIV3Schema")) or {}
                    schema = crd_to_jsonschema(raw)
                    props = schema.setdefault("properties", {})
                    props["apiVersion"] = {"type": "string", "enum": [api_version]}
                    props["kind"] = {"type": "string", "enum": [kind]}
                    props["metadata"] = {"$ref": _OBJECT_META}
                    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
                    result: dict[str, Any] = schema
                    return result
        return None

    def warm(self) -> None:
        """Compile the validators of the kinds kuploy renders (before forking workers)."""
        for api_version, kind in WARM_KINDS:
            self.schema(api_version, kind)

    # -- checking ------------------------------------------------------------------------------

    def check(self, obj: Mapping[str, Any]) -> list[Issue]:
        """Schema issues of one object (removed API, unknown kind, unknown field, bad value)."""
        api_version = str(obj.get("apiVersion", ""))
        kind = str(obj.get("kind", ""))
        removed = self.removed(api_version, kind)
        if removed is not None:
            return [Issue(API_REMOVED, removed, ("apiVersion",))]
        schema = self.schema(api_version, kind)
        if schema is None:
            return [self.unserved(api_version, kind) or self._unknown_kind(api_version, kind)]
        issues = [] if self._fast[(api_version, kind)](obj) else self._explained(obj)
        # The API server's validation code: enums, values per kind, required after nulls.
        seen = {issue.path for issue in issues}
        issues += [i for i in apirules.check(api_version, kind, obj) if i.path not in seen]
        return issues

    def _explained(self, obj: Mapping[str, Any]) -> list[Issue]:
        validator = self.validator(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        assert validator is not None
        return list(_issues(validator, obj))

    def _unknown_kind(self, api_version: str, kind: str) -> Issue:
        group = api_version.rpartition("/")[0]
        where = "the CRDs bundled with kuploy-gitops" + (
            f" or the CRD folder {self.crd_dir}"
            if self.crd_dir is not None
            else " (pass --crd-dir with the CRD of this kind)"
        )
        extra = f" nor in {where}" if "." in group else ""
        return Issue(
            UNKNOWN_KIND,
            f"no schema for {api_version} {kind} in Kubernetes {self.kubernetes_version}{extra}",
            ("kind",),
        )

    def api_versions(self) -> tuple[str, ...]:
        """The served ``group/version`` and ``group/version/Kind`` strings (sorted).

        What Argo CD passes ``helm template --api-versions`` from the cluster's discovery.
        """
        out: set[str] = set()
        for group, version, kind in self._served:
            gv = f"{group}/{version}" if group else version
            out.update((gv, f"{gv}/{kind}"))
        return tuple(sorted(out))

    def unserved(self, api_version: str, kind: str) -> Issue | None:
        """An error when no Kubernetes API server can serve (apiVersion, kind), else None."""
        return apiversions.unserved(
            api_version, kind, self._served, self.kubernetes_version, self.has_crd_group
        )

    def removed(self, api_version: str, kind: str) -> str | None:
        """The 'removed, use X' message when this apiVersion/kind is gone in this version."""
        hit = REMOVED_APIS.get((api_version, kind)) or REMOVED_APIS.get((api_version, "*"))
        if hit is None or self.minor < hit[0]:
            return None
        return (
            f"{api_version} {kind} was removed in Kubernetes 1.{hit[0]} "
            f"(validating for 1.{self.minor}); use {hit[1]}"
        )


def _issues(validator: jsonschema.protocols.Validator, obj: Mapping[str, Any]) -> Iterator[Issue]:
    seen: set[tuple[str, tuple[str | int, ...]]] = set()
    for err in validator.iter_errors(obj):
        for issue in _explain(err):
            key = (issue.message, issue.path)
            if key not in seen:
                seen.add(key)
                yield issue


def _explain(err: jsonschema.ValidationError) -> Iterator[Issue]:
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        schema = err.schema if isinstance(err.schema, dict) else {}
        known = set(schema.get("properties", {}))
        for extra in sorted(k for k in err.instance if k not in known):
            full = _dotted((*path, extra))
            yield Issue(UNKNOWN_FIELD, f"unknown field {full!r}", (*path, extra))
        return
    if (
        err.validator == "anyOf"
        and isinstance(err.schema, dict)
        and err.schema.get("x-kuploy-quantity")
    ):
        yield Issue(
            SCHEMA_INVALID,
            f"{_dotted(path)}: {_short(err.instance)} is not a quantity: use e.g. 512Mi, 1Gi, "
            "500m or 0.5 (suffixes Ki Mi Gi Ti Pi Ei or m k M G T P E; case matters)",
            path,
        )
        return
    if err.validator in ("oneOf", "anyOf") and err.context:
        # Quantity / IntOrString: report the value, not every alternative.
        yield Issue(
            SCHEMA_INVALID,
            f"{_dotted(path) or '(object)'}: {_short(err.instance)} has the wrong type",
            path,
        )
        return
    yield Issue(SCHEMA_INVALID, f"{_dotted(path) or '(object)'}: {_message(err)}", path)


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "enum":
        return f"{_short(err.instance)} is not one of {err.validator_value!r}"
    if err.validator == "type":
        return f"{_short(err.instance)} is not of type {err.validator_value!r}"
    return " ".join(err.message.split())[:200]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def crd_to_jsonschema(node: Any) -> Any:
    """Turn a CRD ``openAPIV3Schema`` into a strict draft 2020-12 JSON schema.

    ``nullable`` becomes a ``null`` type, ``x-kubernetes-int-or-string`` an integer-or-string,
    and every object schema with properties but without ``x-kubernetes-preserve-unknown-fields``
    refuses unknown fields, as the API server's pruning would drop them.
    """
    if isinstance(node, list):
        return [crd_to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "$defs"):
            out[key] = {k: crd_to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = crd_to_jsonschema(value)
        elif key == "nullable":
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for key in ("apiVersion", "kind"):
            props.setdefault(key, {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (
        not preserve
        and "additionalProperties" not in out
        and "properties" in out
        and out.get("type") in ("object", ["object", "null"])
    ):
        out["additionalProperties"] = False
    return out
