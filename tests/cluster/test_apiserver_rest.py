"""The REST client of the tier (apiserver_rest.py) answers as kubectl answers, case by case.

Every create and apply of the tier goes through it; these cases hold it to what kubectl itself
prints for the same objects: stdout, each warning, each kind of refusal, and the exit code.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from apiserver_harness import Cluster, dump_all

NS = "rest-vs-kubectl"

_POD_SPEC = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}
CASES: dict[str, dict[str, Any]] = {
    # admitted, with Pod Security's warning (the namespace warns at restricted)
    "warned": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"}, "spec": _POD_SPEC},
    # refused by admission (baseline is enforced)
    "forbidden": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "f"},
        "spec": {**_POD_SPEC, "hostNetwork": True},
    },
    # invalid, one cause and several
    "invalid-one": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "i"},
        "spec": {"containers": [{"name": "c"}]},
    },
    "invalid-several": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "c"}},
                "spec": {"containers": [{"name": "c"}]},
            },
        },
    },
    # strict field validation
    "unknown-field": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "u"},
        "data": {"k": "v"},
        "spec": {"x": 1},
    },
    # a kind the server does not serve
    "unknown-kind": {"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "nope"}},
}


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> str:
    labels = {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": labels}}
    assert cluster.apply([ns]).ok
    return NS


def _in(ns: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "namespace": ns}}


@pytest.mark.parametrize("case", sorted(CASES))
def test_create_answers_as_kubectl(cluster: Cluster, namespace: str, case: str) -> None:
    obj = _in(namespace, CASES[case])
    args = ["create", "--validate=strict", "-f", "-", "-o", "name", "--dry-run=server"]
    theirs = cluster.kubectl(*args, stdin=dump_all([obj]))
    ours = cluster.rest.create(obj, dry_run=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )


def test_apply_answers_as_kubectl_and_goes_on_past_a_refusal(
    cluster: Cluster, namespace: str
) -> None:
    objects = [_in(namespace, CASES[c]) for c in ("warned", "forbidden", "invalid-one", "warned")]
    args = ["apply", "--server-side", "--field-manager=kuploy-test", "--validate=strict"]
    args += ["--force-conflicts", "-f", "-", "--dry-run=server"]
    theirs = cluster.kubectl(*args, stdin=dump_all(objects))
    ours = cluster.rest.apply(objects, dry_run=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )
    assert ours.warnings and len(ours.errors) >= 2  # the cases do what they are here for


@pytest.mark.parametrize(
    "args",
    [
        ("namespace", NS),
        ("configmap", "kept", "-n", NS),
        ("configmaps,serviceaccounts", "-n", NS),
        ("cm", "-n", NS, "-l", "kept=yes"),
        ("crd",),
    ],
    ids=lambda a: " ".join(a),
)
def test_get_answers_as_kubectl(cluster: Cluster, namespace: str, args: tuple[str, ...]) -> None:
    kept = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kept", "namespace": namespace, "labels": {"kept": "yes"}},
        "data": {"k": "v"},
    }
    assert cluster.apply([kept]).ok
    ours = cluster.rest.get(args)
    assert ours is not None, "a plain form the client answers itself"
    theirs = json.loads(cluster.kubectl("get", *args, "-o", "json", check=True).stdout)
    assert ours == theirs
    if "-l" in args:
        assert [i["metadata"]["name"] for i in ours["items"]] == ["kept"]


def test_get_leaves_other_forms_to_kubectl(cluster: Cluster) -> None:
    assert cluster.rest.get(("pods", "-A")) is None
    assert cluster.rest.get(("nosuchkind",)) is None
