"""A compiled yes/no pre-check for the JSON-schema subset of Kubernetes and CRD schemas.

jsonschema walks a schema through many small objects per node (about 0.8 ms per Deployment);
this compiles each schema once into plain closures that only answer "valid?" (several times
faster). It is conservative: a keyword it does not implement makes it answer "not sure"
(False), and every object it does not pass is validated again by jsonschema, which alone
produces the messages. So the findings are exactly jsonschema's; only clean objects are fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords with no effect on validity (annotations and Kubernetes extensions).
_IGNORED = frozenset(
    {
        "description",
        "title",
        "default",
        "example",
        "examples",
        "format",
        "$schema",
        "$id",
        "discriminator",
        "deprecated",
        "readOnly",
        "writeOnly",
        "nullable",
        "patternProperties",
    }
)


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()
    )


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": _is_int,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


# Types a plain isinstance() decides (integer and number need the bool/float rules above).
_PY_TYPES: dict[str, type] = {"string": str, "boolean": bool, "object": dict, "array": list}


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


def _type(fns: list[Check]) -> Check:
    if len(fns) == 1:
        return fns[0]
    return lambda v: any(f(v) for f in fns)


def _properties(props: dict[str, Check]) -> Check:
    return lambda v: not isinstance(v, dict) or all(props[k](x) for k, x in v.items() if k in props)


def _closed(known: frozenset[str]) -> Check:
    return lambda v: not isinstance(v, dict) or all(k in known for k in v)


def _extra(known: frozenset[str], sub: Check) -> Check:
    return lambda v: not isinstance(v, dict) or all(sub(x) for k, x in v.items() if k not in known)


def _items(sub: Check) -> Check:
    def check(v: Any) -> bool:
        if isinstance(v, list):
            for x in v:
                if not sub(x):
                    return False
        return True

    return check


def _required(req: list[str]) -> Check:
    return lambda v: not isinstance(v, dict) or all(k in v for k in req)


def _enum(allowed: list[Any]) -> Check:
    return lambda v: any(v == a and isinstance(v, bool) == isinstance(a, bool) for a in allowed)


def _one_of(subs: list[Check]) -> Check:
    return lambda v: sum(1 for s in subs if s(v)) == 1


def _any_of(subs: list[Check]) -> Check:
    return lambda v: any(s(v) for s in subs)


def _all_of(subs: list[Check]) -> Check:
    # Explicit loops, not all(<generator>): these closures run for every node of every object.
    if len(subs) == 2:
        first, second = subs
        return lambda v: first(v) and second(v)
    chain = tuple(subs)

    def check(v: Any) -> bool:
        for sub in chain:  # noqa: SIM110 - a loop, not all(<genexpr>): this is the hot path
            if not sub(v):
                return False
        return True

    return check


def _pattern(rx: re.Pattern[str]) -> Check:
    return lambda v: not isinstance(v, str) or rx.search(v) is not None


def _length(key: str, n: int) -> Check:
    minimum = key.startswith("min")
    if "Length" in key:
        if minimum:
            return lambda v: not isinstance(v, str) or len(v) >= n
        return lambda v: not isinstance(v, str) or len(v) <= n
    if minimum:
        return lambda v: not isinstance(v, list) or len(v) >= n
    return lambda v: not isinstance(v, list) or len(v) <= n


class Compiler:
    """Compiles schemas whose ``$ref`` point into one ``$defs`` mapping (memoised by name)."""

    def __init__(self, defs: Mapping[str, Any]) -> None:
        """``defs`` is the ``$defs`` of the definitions document."""
        self.defs = defs
        self._refs: dict[str, Check] = {}

    def ref(self, target: str) -> Check:
        """The check of a ``#/$defs/NAME`` reference (recursive definitions allowed)."""
        name = target.partition("#/$defs/")[2]
        if not name or name not in self.defs:
            return _never
        if name not in self._refs:
            cell: list[Check] = []
            # A placeholder first: a recursive definition calls itself through the cell.
            self._refs[name] = lambda v: cell[0](v)
            cell.append(self.compile(self.defs[name]))
            self._refs[name] = cell[0]
        return self._refs[name]

    def compile(self, schema: Any) -> Check:
        """A function telling whether a value certainly satisfies ``schema``."""
        if schema is True or schema == {}:
            return _always
        if not isinstance(schema, Mapping):
            return _never
        if schema.get("patternProperties"):
            return _never
        fast = self._common(schema)
        if fast is not None:
            return fast
        return self._general(schema)

    def _common(self, schema: Mapping[str, Any]) -> Check | None:
        """One closure for the shapes most Kubernetes schema nodes have (or None).

        A typed scalar (``type: [string, "null"]``), a typed array with ``items``, and an
        object with properties, ``additionalProperties: false`` (or none) and ``required``.
        """
        keys = {k for k in schema if k not in _IGNORED and not k.startswith("x-")}
        names = schema.get("type")
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not keys <= {
            "type",
            "properties",
            "additionalProperties",
            "required",
            "items",
        }:
            return None
        nullable = "null" in names
        kinds = [n for n in names if n != "null"]
        if keys == {"type"} and kinds and all(n in _PY_TYPES for n in kinds):
            types = tuple(_PY_TYPES[n] for n in kinds)
            if nullable:
                return lambda v: v is None or isinstance(v, types)
            return lambda v: isinstance(v, types)
        if kinds == ["array"] and keys <= {"type", "items"}:
            item = self.compile(schema["items"]) if "items" in schema else _always

            def check_list(v: Any) -> bool:
                if v is None:
                    return nullable
                if not isinstance(v, list):
                    return False
                for x in v:  # noqa: SIM110 - as above
                    if not item(x):
                        return False
                return True

            return check_list
        extra = schema.get("additionalProperties", True)
        if kinds != ["object"] or extra not in (True, False) or "items" in keys:
            return None
        props = {k: self.compile(s) for k, s in (schema.get("properties") or {}).items()}
        closed = extra is False
        required = tuple(schema.get("required") or ())

        # The hottest closure of validation (every mapping of every object): plain loops,
        # and `type(v) is dict` (a dict subclass only fails over to the full validator).
        get = props.get

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return nullable if v is None else False
            for k, x in v.items():
                f = get(k)
                if f is None:
                    if closed:
                        return False
                elif not f(x):
                    return False
            for r in required:  # noqa: SIM110 - as above
                if r not in v:
                    return False
            return True

        return check

    def _general(self, schema: Mapping[str, Any]) -> Check:
        checks: list[Check] = []
        for key, value in schema.items():
            if key in _IGNORED or key.startswith("x-"):
                continue
            if key == "$ref":
                checks.append(self.ref(str(value)))
            elif key == "type":
                names = [value] if isinstance(value, str) else list(value)
                if not all(n in _TYPES for n in names):
                    return _never
                checks.append(_type([_TYPES[n] for n in names]))
            elif key == "properties":
                checks.append(_properties({k: self.compile(s) for k, s in value.items()}))
            elif key == "additionalProperties":
                known = frozenset((schema.get("properties") or {}).keys())
                if value is False:
                    checks.append(_closed(known))
                elif value is not True:
                    checks.append(_extra(known, self.compile(value)))
            elif key == "items":
                checks.append(_items(self.compile(value)))
            elif key == "required":
                checks.append(_required(list(value)))
            elif key == "enum":
                checks.append(_enum(list(value)))
            elif key in ("oneOf", "anyOf", "allOf"):
                subs = [self.compile(s) for s in value]
                make = {"oneOf": _one_of, "anyOf": _any_of, "allOf": _all_of}[key]
                checks.append(make(subs))
            elif key == "pattern":
                checks.append(_pattern(re.compile(str(value))))
            elif key in ("minLength", "maxLength", "minItems", "maxItems"):
                checks.append(_length(key, int(value)))
            else:
                return _never  # a keyword not implemented here: jsonschema decides
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        return _all_of(checks)
