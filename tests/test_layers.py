"""The package's shape: no import circles, lower layers never import higher ones, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kuploy_gitops"

# Lowest first. A module may import its own layer and those below it, never one above.
LAYERS: list[set[str]] = [
    {"errors", "layout", "names", "repourl", "quantity", "sizes", "stacks", "__init__"},
    {"yamlbounds", "yamlio", "gitobjects", "repolock", "gitrepo", "plan", "sealing"},
    {
        "config_fields",
        "config_platform",
        "config_db",
        "config",
        "db_spec",
        "tenant_spec",
        "roster",
        "timetable",
        "capacity_config",
    },
    {
        "manifests",
        "platform_manifests",
        "baremetal_manifests",
        "tenant_kinds",
        "netpol",
        "admission",
        "app_manifests",
        "db_manifests",
        "podsecurity",
        "render",
        "drift",
        "timetable_manifests",
        "secret_manifests",
        "capacity",
    },
    {"validate"},
    {"ops", "api"},
    {"argocd", "github"},
    {"cli", "__main__"},
]
MAX_LINES = 530  # "no module over ~500 lines" (the largest is validate's table of rules)


def layer_of(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else module
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (imports for type hints only)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def imports(path: Path, module: str) -> set[str]:
    """kuploy_gitops modules a file imports when it runs (lazy imports in functions count)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("kuploy_gitops"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kuploy_gitops"))
    known = modules()
    return {m for m in found if m in known and m != module}


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = []
    for module, path in modules().items():
        if module == "kuploy_gitops":
            continue
        for other in imports(path, module):
            if other != "kuploy_gitops" and layer_of(other) > layer_of(module):
                wrong.append(f"{module} imports {other}")
    assert wrong == []


def test_no_import_circles() -> None:
    graph = {m: imports(p, m) for m, p in modules().items()}
    # Importing a package runs its __init__: edges to "kuploy_gitops" itself carry no cycle.
    graph = {m: {o for o in deps if o != "kuploy_gitops"} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_over_about_500_lines(module: str) -> None:
    lines = len(modules()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_the_cli_imports_nothing_heavy_to_show_its_help() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from kuploy_gitops.cli import run; "
        "run(['--help']); run(['validate', '--help']); run(['app', 'add', '--help']); "
        "heavy = {'rich', 'jinja2', 'ruamel', 'jsonschema', 'httpx', 'github', 'yaml'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
