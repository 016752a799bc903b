"""GitHub's published REST description, as the fake GitHub server uses it.

Loads ``tests/data/github/rest-subset.openapi.json``, matches request paths to its templates,
validates bodies against its schemas (OpenAPI 3.0 ``nullable`` turned into JSON Schema) and
builds minimal values of a documented shape for the fake's answers.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "github" / "rest-subset.openapi.json"


@functools.cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema (draft 4): ``nullable`` becomes a null type."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "deprecated")}
    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _validator(key: str) -> jsonschema.Draft4Validator:
    method, path, where = json.loads(key)
    op = spec()["paths"][path][method]
    if where == "request":
        schema = op["requestBody"]["content"]["application/json"]["schema"]
    else:
        schema = op["responses"][where]["content"]["application/json"]["schema"]
    return jsonschema.Draft4Validator(to_json_schema(schema))


def schema_errors(method: str, path: str, where: str, value: Any) -> list[str]:
    v = _validator(json.dumps([method, path, where]))
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<body>'}: {e.message}"
        for e in v.iter_errors(value)
    ]


def example(schema: dict[str, Any] | None) -> Any:
    """A minimal value that satisfies ``schema`` (required keys only; nullables are null)."""
    if not schema:
        return None
    if "allOf" in schema:
        out: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part)
            if isinstance(value, dict):
                out.update(value)
        return out
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return example(schema[key][0])
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: example(props.get(key)) for key in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "string":
        return {
            "date-time": "2026-01-01T00:00:00Z",
            "uri": "https://example.invalid/",
            "uri-template": "https://example.invalid/{x}",
            "email": "nobody@example.invalid",
        }.get(schema.get("format", ""), "x")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    return None


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base.get(k), v) if k in base else v
        return out
    return over


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    literal: int


@functools.cache
def routes() -> tuple[Route, ...]:
    out: list[Route] = []
    for template, item in spec()["paths"].items():
        names: list[str] = []
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", template):
            if part.startswith("{"):
                name = part[1:-1]
                names.append(name)
                # Refs ("heads/main") and content paths contain slashes, as GitHub accepts.
                pattern += "(.+)" if name in ("ref", "path") else "([^/]+)"
            else:
                pattern += re.escape(part)
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                out.append(
                    Route(
                        method.upper(), template, re.compile(f"^{pattern}$"), tuple(names), literal
                    )
                )
    return tuple(sorted(out, key=lambda r: -r.literal))
