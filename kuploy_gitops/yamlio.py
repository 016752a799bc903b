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
from collections.abc import Iterable, Iterator
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver

from kuploy_gitops.errors import ConfigError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C loader when PyYAML has it

# Characters YAML allows unescaped in a scalar (YAML 1.2 "c-printable"), minus the line and
# paragraph separators and NEL, which a reader may treat as line breaks.
_NOT_PLAIN_SAFE = re.compile(
    "[^\x09\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_RESOLVER_11 = VersionedResolver(version=(1, 1))
_RESOLVER_12 = VersionedResolver(version=(1, 2))
_STR_TAG = "tag:yaml.org,2002:str"
_PYYAML_RESOLVER = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=65536)
def _resolves_to_str(value: str) -> bool:
    for resolver in (_RESOLVER_11, _RESOLVER_12):
        if str(resolver.resolve(ScalarNode, value, (True, False))) != _STR_TAG:
            return False
    # PyYAML's own resolver is what most Python readers (and our loader) use.
    tag: str = _PYYAML_RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def _represent_str(representer: RoundTripRepresenter, data: str) -> Any:
    style: str | None = None
    if "\n" in data or _NOT_PLAIN_SAFE.search(data):
        style = '"'
    elif data == "" or not _resolves_to_str(data):
        style = "'"
    return representer.represent_scalar(_STR_TAG, data, style=style)


class _Representer(RoundTripRepresenter):
    pass


_Representer.add_representer(str, _represent_str)


def _new_yaml() -> YAML:
    y = YAML(typ="rt")
    y.Representer = _Representer
    y.default_flow_style = False
    y.width = 4096  # never fold long strings: folding is a source of diffs, not readability
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = True
    return y


_YAML = _new_yaml()


def dump(data: Any, *, header: str | None = None) -> str:
    """Serialise one document; ``header`` lines become ``#`` comments at the top."""
    buf = io.StringIO()
    if header:
        for line in header.splitlines():
            buf.write(f"# {line}".rstrip() + "\n")
    _YAML.dump(data, buf)
    return buf.getvalue()


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
    """Yield (1-based start line, document) for each non-empty document of a stream."""
    try:
        loader = _Loader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                line = node.start_mark.line + 1
                doc = loader.construct_document(node)
                if doc is not None:
                    yield line, doc
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_one_line(exc)}") from exc


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
