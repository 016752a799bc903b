"""Bounds on what the YAML/JSON readers accept: nesting depth and alias expansion.

A student controls the files `validate` reads in CI, so hostile input (a "billion laughs", a
self-referencing alias, 100,000 nested brackets) must end as a finding, never a hang or a crash.
:mod:`.yamlio` applies these checks and re-exports their names.
"""

from __future__ import annotations

import re

import yaml

# Bounds on a manifest document, so that hostile input (a student controls the files `validate`
# reads in CI) cannot hang or crash it: Kubernetes objects nest a few dozen levels at most, and
# a document whose aliases expand past this many nodes is a "billion laughs", not a manifest.
MAX_DEPTH = 100
MAX_EXPANDED_NODES = 200_000


class HostileYAML(yaml.YAMLError):
    """A document past the bounds above, or whose aliases refer to themselves."""


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def check_json_depth(text: str) -> None:
    """Refuse JSON nested deeper than :data:`MAX_DEPTH` before a recursive decoder sees it.

    Python's ``json`` recurses once per level, so a file of 100,000 ``[`` would end in a
    RecursionError; strings are skipped (a bracket inside one is no nesting).
    """
    bare = _JSON_STRING.sub("", text)  # JSON strings hold no raw line break: lines stay put
    depth = 0
    for match in _JSON_BRACKET.finditer(bare):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            line = bare.count("\n", 0, match.start()) + 1
            raise HostileYAML(f"nested deeper than {MAX_DEPTH} levels (line {line})")


def check_shape(root: yaml.Node) -> None:
    """Refuse a node graph that nests too deep, loops, or expands past the bounds.

    Iterative (no recursion limit to hit) and linear in the number of distinct nodes: the
    expanded size of a node reached through several aliases is computed once.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise HostileYAML(
                    f"aliases expand to more than {MAX_EXPANDED_NODES} values (line "
                    f"{node.start_mark.line + 1}); write the values out"
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise HostileYAML(f"an alias refers to itself (line {node.start_mark.line + 1})")
        if depth > MAX_DEPTH:
            raise HostileYAML(
                f"nested deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})"
            )
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
