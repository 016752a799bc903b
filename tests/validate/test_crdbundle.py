"""The CRDs shipped in the package are exactly what the refresh command makes of tests/data."""

from __future__ import annotations

from pathlib import Path

from kuploy_gitops.validate import crdbundle
from kuploy_gitops.validate.schemas import SchemaSet

# Each folder of tests/data holding upstream CRDs that the package bundles.
CRD_SOURCES = ("argocd", "metallb", "cert-manager", "sealed-secrets", "cloudnative-pg")


def test_bundled_crds_are_the_test_copies_without_descriptions(
    data_dir: Path, tmp_path: Path
) -> None:
    written = [p for source in CRD_SOURCES for p in crdbundle.bundle(data_dir / source, tmp_path)]
    assert sorted(p.name for p in written) == sorted(
        p.name for p in crdbundle.BUNDLED_DIR.glob("*.json")
    )
    for path in written:
        assert path.read_text() == (crdbundle.BUNDLED_DIR / path.name).read_text(), path.name
    assert set(crdbundle.bundled_kinds()) == {
        ("argoproj.io", "Application"),
        ("argoproj.io", "AppProject"),
        ("argoproj.io", "ApplicationSet"),
        ("metallb.io", "IPAddressPool"),
        ("metallb.io", "L2Advertisement"),
        ("cert-manager.io", "ClusterIssuer"),
        ("cert-manager.io", "Certificate"),
        ("bitnami.com", "SealedSecret"),
        ("postgresql.cnpg.io", "Cluster"),
        ("postgresql.cnpg.io", "ScheduledBackup"),
    }


def test_stripping_keeps_a_property_called_description() -> None:
    schema = {"description": "text", "properties": {"description": {"type": "string"}}}
    assert crdbundle.strip_descriptions(schema) == {
        "properties": {"description": {"type": "string"}}
    }


def test_bundled_and_full_crds_judge_alike(data_dir: Path) -> None:
    bundled = SchemaSet("1.36.0")
    full = SchemaSet("1.36.0", data_dir / "argocd")
    good = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "kim", "namespace": "argocd"},
        "spec": {"description": "x", "sourceRepos": ["*"], "destinations": []},
    }
    bad = {**good, "spec": {"sourceRepo": ["*"], "destinations": "nope"}}
    assert bundled.check(good) == full.check(good) == []
    assert bundled.check(bad) == full.check(bad) != []
