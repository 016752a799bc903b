"""Unit checks of the pieces: schema sets, CRD conversion, PSS levels, kustomize cache, reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kuploy_gitops.errors import ConfigError
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import pss, report
from kuploy_gitops.validate.engine import Report
from kuploy_gitops.validate.isolation import remote_repo
from kuploy_gitops.validate.kustomize import Kustomizer, input_files
from kuploy_gitops.validate.policies import normalise_image
from kuploy_gitops.validate.schemas import LazyDefs, SchemaSet, bundled_versions, crd_to_jsonschema
from kuploy_gitops.validate.tree import UnreadableFile, locate


def test_schema_version_picks_newest_bundled_not_newer() -> None:
    versions = bundled_versions()
    assert "1.34.0" in versions
    assert SchemaSet("1.34.0").kubernetes_version == "1.34.0"
    assert SchemaSet("v1.34").kubernetes_version == "1.34.0"
    assert SchemaSet("1.99.3").kubernetes_version == versions[-1]


def test_schema_strict_and_typed() -> None:
    s = SchemaSet("1.34.0")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    assert s.check(cm) == []
    assert s.validator("v1", "ConfigMap") is s.validator("v1", "ConfigMap")  # compiled once
    bad = {**cm, "datta": {}}
    (issue,) = s.check(bad)
    assert issue.rule == F.UNKNOWN_FIELD and issue.path == ("datta",)
    (issue,) = s.check({**cm, "data": {"k": 1}})
    assert issue.rule == F.SCHEMA_INVALID and issue.path == ("data", "k")


def test_removed_api_only_from_its_version() -> None:
    ing = {"apiVersion": "networking.k8s.io/v1beta1", "kind": "Ingress", "metadata": {"name": "a"}}
    (issue,) = SchemaSet("1.34.0").check(ing)
    assert issue.rule == F.API_REMOVED and "networking.k8s.io/v1 Ingress" in issue.message
    assert SchemaSet("1.34.0").removed("autoscaling/v2beta2", "HorizontalPodAutoscaler")
    assert SchemaSet("1.25.0").removed("autoscaling/v2beta2", "HorizontalPodAutoscaler") is None


def test_crd_conversion() -> None:
    schema = crd_to_jsonschema(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "nullable": True},
                "b": {"x-kubernetes-int-or-string": True},
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"x": {"type": "string"}},
                },
            },
        }
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["a"]["type"] == ["string", "null"]
    assert schema["properties"]["b"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert "additionalProperties" not in schema["properties"]["free"]


def test_crd_application_schema(crd_dir: Path) -> None:
    s = SchemaSet("1.34.0", crd_dir)
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd", "labelz": {}},
        "spec": {
            "project": "p",
            "destination": {"namespace": "n"},
            "source": {"repoURL": "https://x", "path": "."},
        },
    }
    assert [i.rule for i in s.check(app)] == [F.UNKNOWN_FIELD]
    assert s.has_crd_group("argoproj.io")


def _pod(**container_sc: object) -> dict:  # type: ignore[type-arg]
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "image": "x",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    **container_sc,
                },
            }
        ],
    }


def test_pss_restricted_pod_is_clean_and_windows_is_exempt() -> None:
    assert pss.check_pod({}, _pod(), ()) == []
    windows = {"os": {"name": "windows"}, "containers": [{"name": "c", "image": "x"}]}
    assert pss.check_pod({}, windows, ()) == []
    linux = {"containers": [{"name": "c", "image": "x"}]}
    got = {i.rule for i in pss.check_pod({}, linux, ())}
    assert got == {
        F.PSS_PRIV_ESCALATION,
        F.PSS_CAPABILITIES_RESTRICTED,
        F.PSS_RUN_AS_NON_ROOT,
        F.PSS_SECCOMP_RESTRICTED,
    }


def test_pss_container_level_settings_count() -> None:
    spec = _pod(
        runAsNonRoot=True, seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}
    )
    del spec["securityContext"]
    assert pss.check_pod({}, spec, ()) == []
    spec = _pod(runAsNonRoot=False)
    assert [i.rule for i in pss.check_pod({}, spec, ())] == [F.PSS_RUN_AS_NON_ROOT]


def test_pss_severity_by_namespace_levels() -> None:
    assert pss.severity_at(F.PSS_PRIVILEGED, "baseline", "restricted", "restricted") == F.ERROR
    assert pss.severity_at(F.PSS_RUN_AS_NON_ROOT, "baseline", "restricted", "x") == F.WARNING
    assert pss.severity_at(F.PSS_RUN_AS_NON_ROOT, "restricted", "", "") == F.ERROR
    assert pss.severity_at(F.PSS_PRIVILEGED, "privileged", "privileged", "privileged") is None


@pytest.mark.parametrize(
    ("baseline_rule", "restricted_rule"),
    [
        (F.PSS_HOST_PATH, F.PSS_VOLUME_TYPES),
        (F.PSS_CAPABILITIES_BASELINE, F.PSS_CAPABILITIES_RESTRICTED),
        (F.PSS_SECCOMP_BASELINE, F.PSS_SECCOMP_RESTRICTED),
    ],
)
def test_restricted_replaces_its_overlapping_baseline_checks(
    baseline_rule: str, restricted_rule: str
) -> None:
    """As the API server: enforcing restricted names the restricted control only (the API server
    tier's test_pod_security shows it), enforcing baseline the baseline one."""
    assert pss.severity_at(baseline_rule, "restricted", "restricted", "restricted") is None
    assert pss.severity_at(restricted_rule, "restricted", "restricted", "restricted") == F.ERROR
    assert pss.severity_at(baseline_rule, "baseline", "restricted", "restricted") == F.ERROR
    assert pss.severity_at(restricted_rule, "baseline", "restricted", "restricted") == F.WARNING
    # Only warned at baseline: the baseline check warns.
    assert pss.severity_at(baseline_rule, "privileged", "baseline", "privileged") == F.WARNING


def test_pss_covers_every_pod_template_kind() -> None:
    container = {"name": "c", "image": "x", "securityContext": {"privileged": True}}
    template = {"metadata": {}, "spec": {"containers": [container]}}
    objs = {
        "Pod": template,
        "Deployment": {"spec": {"template": template}},
        "StatefulSet": {"spec": {"template": template}},
        "DaemonSet": {"spec": {"template": template}},
        "Job": {"spec": {"template": template}},
        "CronJob": {"spec": {"jobTemplate": {"spec": {"template": template}}}},
    }
    for kind, body in objs.items():
        obj = {"kind": kind, **(body if kind != "Pod" else template)}
        found = pss.pod_template(obj)
        assert found is not None, kind
        path, meta, spec = found
        rules = [i.rule for i in pss.check_pod(meta, spec, path)]
        assert F.PSS_PRIVILEGED in rules, kind


def test_image_and_remote_normalisation() -> None:
    assert normalise_image("nginx:1.27") == "docker.io/library/nginx:1.27"
    assert normalise_image("bitnami/redis") == "docker.io/bitnami/redis"
    assert normalise_image("ghcr.io/konkuk-kuploy/a:1") == "ghcr.io/konkuk-kuploy/a:1"
    assert normalise_image("localhost:5000/a") == "localhost:5000/a"
    assert (
        remote_repo("github.com/konkuk-kuploy/repo//dir?ref=v1")
        == "https://github.com/konkuk-kuploy/repo"
    )
    assert (
        remote_repo("https://github.com/konkuk-kuploy/repo.git/dir?ref=v1")
        == "https://github.com/konkuk-kuploy/repo"
    )
    assert (
        remote_repo("git@github.com:konkuk-kuploy/repo.git")
        == "https://github.com/konkuk-kuploy/repo"
    )


def test_locate_finds_the_line_of_a_path() -> None:
    text = "a: 1\n---\nkind: X\nspec:\n  items:\n    - name: a\n    - name: b\n      bad: 1\n"
    assert locate(text, 1, ("spec", "items", 1, "bad")) == 8
    assert locate(text, 1, ("spec", "missing")) == 4
    assert locate(text, 0, ()) == 1


def _kustomization(folder: Path, resources: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(
        "resources:\n" + "".join(f"  - {r}\n" for r in resources)
    )


def test_kustomize_cache_hits_and_invalidation(tmp_path: Path) -> None:
    base = tmp_path / "base"
    _kustomization(base, ["cm.yaml"])
    (base / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    app = tmp_path / "app"
    _kustomization(app, ["../base"])
    assert (base / "cm.yaml").resolve() in input_files(app, [tmp_path])
    # Without the repository as a boundary, only the folder's own tree is allowed.
    with pytest.raises(UnreadableFile, match="outside the repository"):
        input_files(app)
    k = Kustomizer(tmp_path / "cache", jobs=2, boundaries=[tmp_path])
    first = k.build_all([app])[app]
    assert [o["metadata"]["name"] for o in first.objects()] == ["a"] and not first.cached
    assert k.build_all([app])[app].cached
    # A change in the base outside the folder changes the key: rebuilt.
    (base / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
    again = k.build_all([app])[app]
    assert not again.cached and [o["metadata"]["name"] for o in again.objects()] == ["b"]


def test_kustomize_failure_is_reported_and_cached(tmp_path: Path) -> None:
    app = tmp_path / "app"
    _kustomization(app, ["missing.yaml"])
    k = Kustomizer(tmp_path / "cache")
    failed = k.build_all([app])[app]
    assert failed.output is None and failed.error and "missing.yaml" in failed.error
    assert k.build_all([app])[app].cached


def test_github_annotation_escaping() -> None:
    f = F.Finding(
        tenant="t",
        file="a,b:c.yaml",
        line=3,
        rule="x.y",
        message="50% bad\nnext",
        fix="do it",
        severity=F.WARNING,
        kind="Pod",
        name="p",
    )
    line = report.github_line(f)
    assert line.startswith("::warning file=a%2Cb%3Ac.yaml,line=3,title=x.y Pod/p::")
    assert "50%25 bad%0Anext" in line


def test_every_rule_is_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "validation.md").read_text()
    for rule in F.RULES:
        assert f"`{rule}`" in doc, rule


def test_summary_counts() -> None:
    r = Report(
        findings=[F.make(F.IMAGE_LATEST, "m", file="f")],
        files=2,
        objects=3,
        kubernetes_version="1.34.0",
    )
    assert report.summary(r).startswith("0 error(s), 1 warning(s)")
    with pytest.raises(KeyError):
        F.make("no.such-rule", "m", file="f")


def test_batched_builds_equal_single_builds(tmp_path: Path) -> None:
    folders = []
    for i in range(4):
        app = tmp_path / f"app{i}"
        app.mkdir()
        (app / "kustomization.yaml").write_text(
            f"namespace: ns{i}\nresources:\n  - d.yaml\n  - c.yaml\n"
            + ("commonAnnotations:\n  team: x\n" if i == 1 else "")
        )
        (app / "d.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
            + ("  annotations:\n    keep: me\n" if i == 2 else "")
            + "spec:\n  selector:\n    matchLabels: {a: b}\n  template:\n    metadata:\n"
            "      labels: {a: b}\n    spec:\n      containers: [{name: c, image: x:1}]\n"
        )
        (app / "c.yaml").write_text(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: job\nspec:\n"
            "  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
            "          restartPolicy: Never\n          containers: [{name: c, image: x:1}]\n"
        )
        folders.append(app)
    batched = Kustomizer(None, jobs=1, batch=25).build_all(folders)
    single = Kustomizer(None, jobs=1, batch=1).build_all(folders)
    for folder in folders:
        a, b = batched[folder].objects(), single[folder].objects()
        assert a and b
        key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
        assert sorted(a, key=key) == sorted(b, key=key)
    # Two folders defining the same object make the batch fail: each is then built alone.
    folders[1].joinpath("kustomization.yaml").write_text("namespace: ns0\nresources:\n- d.yaml\n")
    again = Kustomizer(None, jobs=1, batch=25).build_all(folders)
    assert all(b.output is not None for b in again.values())


def test_fast_yaml_reader_equals_the_reference_reader(demo: Path) -> None:
    from kuploy_gitops import yamlio

    texts = [p.read_text() for p in sorted(demo.rglob("*.yaml")) if ".git" not in p.parts]
    texts += [p.read_text() for p in sorted(Path(__file__).parent.rglob("*.yaml"))]
    texts.append(
        "a: 1_000\nb: 0o17\nc: 017\nd: 0x1F\ne: 1:30\nf: 1.5\ng: 2027-03-01\n"
        "h: on\ni: ~\nj: !!str 12\nk: &x {y: [1, 2]}\nl: *x\nm: {<<: *x, z: 1}\n"
    )
    texts.append("? [1, 2]\n: composite key\n")
    texts.append("a: [1\n")  # broken YAML: both readers must refuse it alike
    checked = broken = 0
    for text in texts:
        try:
            ref = list(yamlio.iter_docs_with_lines(text))
        except ConfigError as exc:  # broken corpus files: both must fail alike
            with pytest.raises(ConfigError) as fast:
                list(yamlio.iter_docs_fast(text))
            assert fast.value.message == exc.message
            assert "not valid YAML" in exc.message
            broken += 1
            continue
        assert list(yamlio.iter_docs_fast(text)) == ref
        checked += 1
    assert checked > 40 and broken >= 1


def test_applicationset_schema_from_its_crd() -> None:
    # The bundled copy of the CRD (test_crdbundle.py proves it equals tests/data's); parsing the
    # full 3 MB YAML would prove nothing more and take seconds.
    s = SchemaSet("1.34.0")
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "students", "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": [{"student": "kim-minji"}]}}],
            "template": {
                "metadata": {"name": "{{student}}-web"},
                "spec": {
                    "project": "{{student}}",
                    "source": {"repoURL": "https://x", "path": "apps"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "{{student}}",
                    },
                },
            },
        },
    }
    assert s.check(appset) == []
    appset["spec"]["generator"] = appset["spec"].pop("generators")
    assert {i.rule for i in s.check(appset)} == {F.UNKNOWN_FIELD, F.SCHEMA_INVALID}


@pytest.mark.parametrize("version", ["1.25.0", "1.36.0", "1.37.0"])
def test_lazy_definitions_are_the_decoded_ones(version: str) -> None:
    text = SchemaSet(version)._definitions_text
    lazy, whole = LazyDefs(text), json.loads(text)["$defs"]
    assert lazy._all is None  # laid out as expected: decoded one by one
    assert "io.k8s.api.apps.v1.Deployment" in lazy and "io.k8s.nope" not in lazy
    assert all(lazy[name] == value for name, value in whole.items())
    assert sorted(lazy) == sorted(whole) and len(lazy) == len(whole)
    with pytest.raises(KeyError):
        lazy["io.k8s.nope"]


def test_lazy_definitions_of_another_layout_are_decoded_whole() -> None:
    doc = {"$defs": {"a": {"type": "string"}, "b": {"$ref": "#/$defs/a"}}}
    for text in (json.dumps(doc), json.dumps(doc, indent=4)):
        lazy = LazyDefs(text)
        assert lazy._all is not None
        assert dict(lazy) == doc["$defs"] and "a" in lazy and "c" not in lazy
    lazy = LazyDefs(json.dumps(doc, indent=2))
    assert lazy._all is None and lazy["b"] == {"$ref": "#/$defs/a"} and "c" not in lazy
