"""All YAML reading and writing.

Writing goes through one ruamel.yaml emitter configured so that no value can change the
document's structure and every string reads back as the same string under both YAML 1.1
(PyYAML, go-yaml v2) and YAML 1.2 (ruamel, go-yaml v3) rules: a string that either resolver
would take for a bool, null, number or date is quoted, and a string with line breaks or
characters outside YAML's printable set is double-quoted with escapes.

Reading uses PyYAML's C loader when it is available (about 15x faster than ruamel's
round-trip loader on the bulk reads of `validate` and `render --check`).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from kuploy_gitops.errors import ConfigError
from kuploy_gitops.yamlbounds import MAX_DEPTH as MAX_DEPTH
from kuploy_gitops.yamlbounds import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES
from kuploy_gitops.yamlbounds import HostileYAML as HostileYAML
from kuploy_gitops.yamlbounds import check_json_depth as check_json_depth
from kuploy_gitops.yamlbounds import check_shape as check_shape

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.emitter import Emitter

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C loader when PyYAML has it


# Characters YAML allows unescaped in a scalar (YAML 1.2 "c-printable"), minus the line and
# paragraph separators and NEL, which a reader may treat as line breaks.
@functools.cache
def _not_plain_safe() -> re.Pattern[str]:
    # Compiled on the first write (a large Unicode class: ~10 ms that reading never needs).
    return re.compile(
        "[^\x09\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    )


_STR_TAG = "tag:yaml.org,2002:str"
_PYYAML_RESOLVER = yaml.resolver.Resolver()


@dataclass(frozen=True)
class _Ruamel:
    """ruamel.yaml's pieces the writer uses, imported on the first write.

    Reading never needs them, and `validate` of a student's folder starts faster without them.
    """

    yaml: YAML
    analyzer: Emitter
    resolvers: tuple[Any, ...]
    scalar_node: type


@functools.cache
def _ruamel() -> _Ruamel:
    from ruamel.yaml import YAML
    from ruamel.yaml.emitter import Emitter
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.resolver import VersionedResolver

    def represent_str(representer: RoundTripRepresenter, data: str) -> Any:
        style: str | None = None
        if "\n" in data or _not_plain_safe().search(data):
            style = '"'
        elif data == "" or not _resolves_to_str(data):
            style = "'"
        return representer.represent_scalar(_STR_TAG, data, style=style)

    class Representer(RoundTripRepresenter):
        pass

    Representer.add_representer(str, represent_str)
    y = YAML(typ="rt")
    y.Representer = Representer
    y.default_flow_style = False
    y.width = 4096  # never fold long strings: folding is a source of diffs, not readability
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = True
    analyzer = Emitter(None, allow_unicode=True)
    # Without a dumper the emitter is its own "serializer", whose YAML version it reads.
    analyzer.use_version = None  # type: ignore[attr-defined]
    resolvers = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
    return _Ruamel(y, analyzer, resolvers, ScalarNode)


@functools.lru_cache(maxsize=65536)
def _resolves_to_str(value: str) -> bool:
    ruamel = _ruamel()
    for resolver in ruamel.resolvers:
        if str(resolver.resolve(ruamel.scalar_node, value, (True, False))) != _STR_TAG:
            return False
    # PyYAML's own resolver is what most Python readers (and our loader) use.
    tag: str = _PYYAML_RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def dump(data: Any, *, header: str | None = None) -> str:
    """Serialise one document; ``header`` lines become ``#`` comments at the top."""
    buf = io.StringIO()
    if header:
        for line in header.splitlines():
            buf.write(f"# {line}".rstrip() + "\n")
    fast = _fast_dump(data)
    if fast is not None:
        buf.write(fast)
    else:
        _ruamel().yaml.dump(data, buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Fast path. ruamel's generic event pipeline costs ~4 ms per manifest, which dominated
# onboarding a roster (12 documents per tenant). The plain-data documents kuploy writes (str
# keys; dict, list, str, int, bool values; block style) are emitted directly here, with the
# exact bytes ruamel would write: each string's style comes from the same representer rule
# and ruamel's own scalar analysis. Anything outside that subset (double-quoted strings, None,
# floats, nested lists, lines long enough for ruamel to fold) returns None, and the whole
# document goes through ruamel instead.


class _Unsupported(Exception):
    """The document needs ruamel's emitter."""


_MAX_LINE = 2048  # far below the emitter width (4096), so ruamel would never fold a line


# A string of these characters that starts with a letter reads as a string under YAML 1.1 and
# 1.2 (no number, date or null starts with a letter), unless it is one of the words below, and
# needs no quotes: ruamel writes it as it is. Checking this first spares ruamel's resolvers and
# scalar analysis for almost every name, label and path kuploy writes.
_SIMPLE = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
_WORDS = frozenset({"y", "yes", "n", "no", "on", "off", "true", "false", "null"})


@functools.lru_cache(maxsize=65536)
def _fast_scalar(value: str) -> str:
    """The text ruamel writes for the string ``value`` (key or value in block context)."""
    if _SIMPLE.fullmatch(value) and value.lower() not in _WORDS:
        return value
    if "\n" in value or _not_plain_safe().search(value):
        raise _Unsupported  # the representer asks for double quotes
    if value[:1].isalpha() and value.isascii() and value.lower() not in _WORDS:
        # A string starting with a letter that is no YAML word reads as a string under both
        # rule sets, and ruamel's scalar analysis looks at where indicators, quotes and spaces
        # sit, not at which letters or digits are around them. Strings that differ only in
        # those share one analysis: every tenant writes a few ("Tenant kim (cs101)", the
        # AppProject's policy lines) that would otherwise each cost one.
        style = _shape_style(_ALNUM.sub("a", value))
    else:
        style = _quote_style(value)
    if style is None:
        raise _Unsupported
    return value if style == "" else "'" + value.replace("'", "''") + "'"


_ALNUM = re.compile(r"[A-Za-z0-9]")


def _quote_style(value: str) -> str | None:
    """How ruamel writes ``value``: "" plain, "'" single-quoted, None in double quotes."""
    requested = "'" if value == "" or not _resolves_to_str(value) else None
    analysis = _ruamel().analyzer.analyze_scalar(value)
    if requested is None:
        if analysis.allow_block_plain:
            return ""
        if analysis.allow_double_quoted and "'" in value:
            return None
    return "'" if analysis.allow_single_quoted else None


@functools.lru_cache(maxsize=4096)
def _shape_style(shape: str) -> str | None:
    return _quote_style(shape)


def _fast_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _fast_scalar(value)
    raise _Unsupported


def _fast_key(key: Any) -> str:
    if type(key) is not str or len(key) > 100:  # ruamel writes long keys as "? key"
        raise _Unsupported
    return _fast_scalar(key)


def _fast_mapping(data: dict[Any, Any], indent: int, first: str, out: list[str]) -> None:
    """Emit a non-empty mapping; ``first`` prefixes its first key (a sequence dash)."""
    # The hot loop of rendering (and of `validate`'s drift check): the value cases of
    # _fast_value are inlined, and keys, which repeat, come from their own cache.
    pad = " " * indent
    prefix = first
    append = out.append
    for key, value in data.items():
        head = _KEYS.get(key) if type(key) is str else None
        if head is None:
            head = _fast_key(key) + ":"
            _KEYS[key] = head
        head = prefix + head
        prefix = pad
        kind = type(value)
        if kind is str:
            line = head + " " + _fast_scalar(value)
        elif kind is dict:
            if value:
                append(head)
                _fast_mapping(value, indent + 2, " " * (indent + 2), out)
            else:
                append(head + " {}")
            continue
        elif kind is list:
            if value:
                append(head)
                _fast_sequence(value, indent + 2, out)
            else:
                append(head + " []")
            continue
        else:
            line = head + " " + _fast_value(value)
        if len(line) > _MAX_LINE:
            raise _Unsupported
        append(line)


_KEYS: dict[str, str] = {}  # key -> "key:" as written (a key is written the same way anywhere)


def _fast_sequence(items: list[Any], indent: int, out: list[str]) -> None:
    """Emit a non-empty sequence whose dashes sit at ``indent``."""
    dash = " " * indent + "- "
    for item in items:
        kind = type(item)
        if kind is dict and item:
            _fast_mapping(item, indent + 2, dash, out)
            continue
        if kind is str:
            line = dash + _fast_scalar(item)
        elif kind is dict or kind is list:
            raise _Unsupported  # empty or nested collections in a sequence: rare, let ruamel
        else:
            line = dash + _fast_value(item)
        if len(line) > _MAX_LINE:
            raise _Unsupported
        out.append(line)


def _fast_dump(data: Any) -> str | None:
    """``data`` as ruamel would dump it, or None when the fast path does not cover it."""
    if type(data) is not dict or not data:
        return None
    out: list[str] = []
    try:
        _fast_mapping(data, 0, "", out)
    except _Unsupported:
        return None
    out.append("")
    return "\n".join(out)


def dump_all(docs: Iterable[Any], *, header: str | None = None) -> str:
    """Serialise several documents separated by ``---``."""
    parts = [dump(doc) for doc in docs]
    text = "---\n" + "---\n".join(parts)
    if header:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + text
    return text


def load(text: str, *, source: str = "<string>") -> Any:
    """Parse one YAML document (safe types only); a syntax error becomes a ConfigError."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_one_line(exc)}") from exc


def load_all(text: str, *, source: str = "<string>") -> list[Any]:
    """Parse every document of a YAML stream, dropping empty ones."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_one_line(exc)}") from exc


def iter_docs_with_lines(text: str, *, source: str = "<string>") -> Iterator[tuple[int, Any]]:
    """Yield (1-based start line, document) for each non-empty document of a manifest stream.

    Read as kubectl and Argo CD read manifests (go-yaml v2's YAML 1.1): besides PyYAML's
    booleans, a plain ``y``, ``Y``, ``n`` or ``N`` is a boolean too (:class:`_ManifestLoader`).
    """
    yield from _iter_docs(text, source, _ManifestLoader, fast=False)


def key_line(text: str, path: Sequence[str]) -> int | None:
    """The 1-based line of the key at ``path`` (mapping keys, list indexes as digits) in ``text``.

    For error messages only: ``None`` when the text does not parse or the path is not there.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    line: int | None = None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == step), None)
            if found is None:
                return line
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and step.isdigit() and int(step) < len(node.value):
            node = node.value[int(step)]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _one_line(exc: Exception) -> str:
    # PyYAML names its input '"<unicode string>"' (it was given text, not a file): noise here.
    return " ".join(str(exc).replace(' in "<unicode string>",', "").split())


# -- bulk reading for `validate` ------------------------------------------------------------------
# PyYAML builds Python objects from the C composer's nodes in pure Python (about half of a bulk
# read). Manifests use only maps, lists, strings, decimal ints, bools and nulls, and the C
# composer has already resolved every scalar's tag, so those nodes are turned into objects
# directly; any other tag (floats, dates, merge keys, binary...) takes PyYAML's own constructor
# for that document, so the result is always what `iter_docs_with_lines` gives.

_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_DECIMAL = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
# go-yaml v2 (sigs.k8s.io/yaml: kubectl, Argo CD) reads these plain scalars as booleans; PyYAML
# reads them as strings. Unquoted, `app: y` is a bool to the API server, which refuses it.
_GO_BOOLS = {"y": True, "Y": True, "n": False, "N": False}


_UNSET = object()


def _fast_or_unset(node: yaml.Node) -> Any:
    """The document built by :func:`_fast`, or ``_UNSET`` when it needs PyYAML's constructor."""
    try:
        return _fast(node)
    except _Unusual:
        return _UNSET


class _Unusual(Exception):
    """A node the fast path leaves to PyYAML's constructor."""


class _ManifestLoader(_Loader):  # type: ignore[misc]
    """The safe loader reading booleans as go-yaml v2 does (plain y/Y/n/N too): manifests."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0] and value in _GO_BOOLS:
            return _BOOL
        return super().resolve(kind, value, implicit)

    def construct_yaml_bool(self, node: yaml.Node) -> Any:
        value = self.construct_scalar(node)
        if value in _GO_BOOLS:
            return _GO_BOOLS[value]
        return super().construct_yaml_bool(node)


_ManifestLoader.add_constructor(_BOOL, _ManifestLoader.construct_yaml_bool)


class _BulkLoader(_ManifestLoader):
    """The C loader with the implicit-tag resolver memoised (the same keys recur constantly).

    Only valid without path resolvers (none are registered): then a scalar's tag depends on
    its value and whether it was plain or quoted, nothing else.
    """

    _memo: dict[tuple[str, bool, bool], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or len(self._memo) > 100_000:
            return super().resolve(kind, value, implicit)
        key = (value, implicit[0], implicit[1])
        tag = self._memo.get(key)
        if tag is None:
            tag = self._memo[key] = super().resolve(kind, value, implicit)
        return tag


def _fast(node: yaml.Node, depth: int = 0) -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    if depth > MAX_DEPTH:
        raise _Unusual  # the caller's shape check names it
    if tag == _MAP:
        out = {}
        for key, value in node.value:
            k = _fast(key, depth + 1)
            if isinstance(k, dict | list):
                raise _Unusual
            out[k] = _fast(value, depth + 1)
        return out
    if tag == _SEQ:
        return [_fast(x, depth + 1) for x in node.value]
    if tag == _INT and _DECIMAL.match(node.value):
        return int(node.value.replace("_", ""))
    if tag == _BOOL:
        return node.value in _TRUE
    if tag == _NULL:
        return None
    raise _Unusual


def iter_docs_fast(text: str, *, source: str = "<string>") -> Iterator[tuple[int, Any]]:
    """Like :func:`iter_docs_with_lines` (same results), about twice as fast on manifests."""
    yield from _iter_docs(text, source, _BulkLoader, fast=True)


def _iter_docs(text: str, source: str, loader_cls: Any, *, fast: bool) -> Iterator[tuple[int, Any]]:
    # Aliases need anchors: without an '&' the document is a tree, and the fast reader bounds
    # its depth itself; otherwise (and before PyYAML's constructor) the shape is checked first.
    anchors = "&" in text
    try:
        loader = loader_cls(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                line = node.start_mark.line + 1
                if anchors:
                    check_shape(node)
                doc = _fast_or_unset(node) if fast else _UNSET
                if doc is _UNSET:
                    if not anchors:
                        check_shape(node)
                    doc = loader.construct_document(node)
                if doc is not None:
                    yield line, doc
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_one_line(exc)}") from exc
