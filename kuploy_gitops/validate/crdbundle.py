"""The CRDs shipped inside kuploy-gitops, so `validate` knows the kinds the platform renders.

``kuploy_gitops/validate/crds/`` holds one file per kind, ``<group>_<Kind>.json``: the
CustomResourceDefinition as published, minus its ``description`` texts (about a tenth of the
size, and JSON is quick to read). Which release they come from is in ``crds/SOURCE.md``.
``--crd-dir`` (or ``argocd.crd_dir``) overrides them kind by kind.

Refresh them from a folder of upstream CRD manifests with::

    python -m kuploy_gitops.validate.crdbundle tests/data/argocd
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kuploy_gitops import yamlio

BUNDLED_DIR = Path(__file__).resolve().parent / "crds"


def bundled_file(group: str, kind: str) -> Path:
    """Where the bundled CRD of (group, kind) is (it may not exist)."""
    return BUNDLED_DIR / f"{group}_{kind}.json"


def bundled_kinds() -> dict[tuple[str, str], Path]:
    """(group, kind) -> bundled CRD file."""
    out: dict[tuple[str, str], Path] = {}
    for path in sorted(BUNDLED_DIR.glob("*_*.json")):
        group, _, kind = path.stem.rpartition("_")
        out[(group, kind)] = path
    return out


def strip_descriptions(node: Any) -> Any:
    """The schema without ``description`` texts (the only part validation never reads).

    Only the schema keyword is dropped: a property that happens to be called ``description``
    (Argo CD's AppProject has one) stays.
    """
    if isinstance(node, list):
        return [strip_descriptions(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: strip_descriptions(v) for k, v in value.items()}
        else:
            out[key] = strip_descriptions(value)
    return out


def crds_in(folder: Path) -> Iterator[dict[str, Any]]:
    """Every CustomResourceDefinition document of the YAML/JSON files of ``folder``."""
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
            continue
        for doc in yamlio.load_all(path.read_text(encoding="utf-8"), source=str(path)):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                yield doc


def bundle(source: Path, target: Path = BUNDLED_DIR) -> list[Path]:
    """Write the compact copy of every CRD of ``source`` into ``target``; return the files."""
    written: list[Path] = []
    for crd in crds_in(source):
        spec = crd["spec"]
        path = target / f"{spec['group']}_{spec['names']['kind']}.json"
        compact = {
            "apiVersion": crd["apiVersion"],
            "kind": crd["kind"],
            "metadata": {"name": crd["metadata"]["name"]},
            "spec": strip_descriptions(spec),
        }
        path.write_text(
            json.dumps(compact, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """``python -m kuploy_gitops.validate.crdbundle SOURCE_DIR``: refresh the bundled CRDs."""
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(
            "usage: python -m kuploy_gitops.validate.crdbundle FOLDER_OF_CRD_MANIFESTS",
            file=sys.stderr,
        )
        return 2
    for path in bundle(Path(argv[0])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
