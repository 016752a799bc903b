"""Check HTTP requests against Argo CD's published swagger.json and the CRD schemas.

A request passes only if Argo CD's API gateway would take it as meant: a declared path template
and method, declared query parameters of the declared type, and a JSON body that validates
against the operation's body schema with every object closed (a field the swagger does not
declare is an error, since the gateway would silently drop it). Application and AppProject
bodies must also validate against the CRDs' openAPIV3Schema.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import yaml

ARGOCD_DATA = Path(__file__).resolve().parents[1] / "data" / "argocd"


class Violation(Exception):
    """A request Argo CD would not accept (or would misread)."""


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    regex: re.Pattern[str]
    path_names: tuple[str, ...]
    query: dict[str, dict[str, Any]]
    body_ref: str | None
    literal_segments: int


def _close_objects(node: Any) -> Any:
    """Add additionalProperties: false to every object schema that declares properties."""
    if isinstance(node, dict):
        out = {k: _close_objects(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out and "allOf" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_close_objects(v) for v in node]
    return node


@functools.lru_cache(maxsize=1)
def _swagger() -> dict[str, Any]:
    return json.loads((ARGOCD_DATA / "swagger.json").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=2)
def crd_schema(file_name: str) -> dict[str, Any]:
    # libyaml: the CRDs are large and the pure-Python loader takes seconds over them
    crd = yaml.load((ARGOCD_DATA / file_name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    versions = crd["spec"]["versions"]
    version = next(v for v in versions if v.get("storage")) if len(versions) > 1 else versions[0]
    return version["schema"]["openAPIV3Schema"]


@functools.lru_cache(maxsize=1)
def _operations() -> tuple[Operation, ...]:
    ops = []
    for template, item in _swagger()["paths"].items():
        shared_params = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters":
                continue
            params = [*shared_params, *op.get("parameters", [])]
            names = tuple(p["name"] for p in params if p["in"] == "path")
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
            body = next((p for p in params if p["in"] == "body"), None)
            ops.append(
                Operation(
                    method=method.upper(),
                    template=template,
                    operation_id=op["operationId"],
                    regex=re.compile(pattern),
                    path_names=names,
                    query={p["name"]: p for p in params if p["in"] == "query"},
                    body_ref=(body or {}).get("schema", {}).get("$ref") if body else None,
                    literal_segments=sum(
                        1 for s in template.split("/") if s and not s.startswith("{")
                    ),
                )
            )
    # Literal segments win over templated ones (…/manifestsWithFiles before …/{name}).
    return tuple(sorted(ops, key=lambda o: -o.literal_segments))


@functools.cache
def _validator(ref: str) -> jsonschema.protocols.Validator:
    definitions = _close_objects(copy.deepcopy(_swagger()["definitions"]))
    schema = {"$ref": ref, "definitions": definitions}
    return jsonschema.Draft4Validator(schema)


@functools.cache
def _crd_validator(file_name: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft7Validator(crd_schema(file_name))


def _first_error(validator: jsonschema.protocols.Validator, instance: Any) -> str | None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def validate_crd(file_name: str, obj: Any, what: str) -> None:
    problem = _first_error(_crd_validator(file_name), obj)
    if problem:
        raise Violation(f"{what} does not validate against {file_name}: {problem}")


def _check_query_value(name: str, param: dict[str, Any], values: Sequence[str]) -> None:
    kind = param.get("type")
    if kind != "array" and len(values) > 1:
        raise Violation(f"query parameter {name!r} is not an array but was given {len(values)}x")
    item_kind = (param.get("items") or {}).get("type", "string") if kind == "array" else kind
    for value in values:
        if item_kind == "boolean" and value not in ("true", "false"):
            raise Violation(f"query parameter {name!r}={value!r} is not a boolean")
        if item_kind == "integer" and not re.fullmatch(r"-?\d+", value):
            raise Violation(f"query parameter {name!r}={value!r} is not an integer")
        enum = param.get("enum") or (param.get("items") or {}).get("enum")
        if enum and value not in enum:
            raise Violation(f"query parameter {name!r}={value!r} is not one of {enum}")


def check_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    body: bytes,
    content_type: str,
) -> tuple[Operation, dict[str, str], Any]:
    """Match and check a request; return (operation, path params, parsed body)."""
    candidates = [op for op in _operations() if op.regex.match(path)]
    if not candidates:
        raise Violation(f"no path in swagger.json matches {path}")
    op = next((o for o in candidates if o.method == method), None)
    if op is None:
        allowed = sorted({o.method for o in candidates})
        raise Violation(f"{method} is not declared for {path} (declared: {allowed})")
    match = op.regex.match(path)
    assert match is not None
    path_params = {
        name: unquote(value) for name, value in zip(op.path_names, match.groups(), strict=True)
    }
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    for key, values in grouped.items():
        param = op.query.get(key)
        if param is None:
            raise Violation(
                f"{op.operation_id}: query parameter {key!r} is not declared "
                f"(declared: {sorted(op.query)})"
            )
        _check_query_value(key, param, values)
    for key, param in op.query.items():
        if param.get("required") and key not in grouped:
            raise Violation(f"{op.operation_id}: required query parameter {key!r} missing")
    parsed: Any = None
    if op.body_ref is None:
        if body:
            raise Violation(f"{op.operation_id} takes no body, got {len(body)} bytes")
    else:
        if not body:
            raise Violation(f"{op.operation_id} needs a JSON body")
        if content_type.split(";")[0].strip() != "application/json":
            raise Violation(f"{op.operation_id}: content type {content_type!r} is not JSON")
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise Violation(f"{op.operation_id}: body is not JSON: {exc}") from exc
        problem = _first_error(_validator(op.body_ref), parsed)
        if problem:
            raise Violation(f"{op.operation_id}: body does not match {op.body_ref}: {problem}")
    return op, path_params, parsed
