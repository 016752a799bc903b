"""Proof 6: every ValidatingAdmissionPolicy we render compiles and bites.

For each policy in the rendered repos: the API server accepts it and its binding, its CEL
type-checks (no ``status.typeChecking.expressionWarnings``), and for each of its validations
one object is refused with that validation's message and one compliant object is admitted.
The objects live in ``tests/cluster/corpus/policies/<policy name>.yaml`` (created, or with
``operation: update`` applied over what the file's ``setup`` made); a rendered policy
without such a file, or a file naming a policy nobody renders, fails the suite.

The checker itself is proven on ``_selftest.yaml``, whose policy lives in the corpus file, and on
broken variants of it that must be caught (a type error, a syntax error, a rule that does not
bite, a validation without a case).
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver_harness import Cluster
from rendered import cli, repo_objects

CORPUS = Path(__file__).parent / "corpus" / "policies"
VAP = "ValidatingAdmissionPolicy"
BINDING = "ValidatingAdmissionPolicyBinding"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and isinstance(data.get("cases"), list), path
    return data


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every object of a platform repo with tenants and apps of both modes."""
    repo = tmp_path_factory.mktemp("vap") / "platform"
    cli("demo", str(repo))
    cli("-C", str(repo), "onboard", "vap-park", "--github", "vap-park-gh", "--tier", "large")
    cli(
        "-C",
        str(repo),
        "app",
        "add",
        "vap-park",
        "shop",
        "--repo",
        "https://github.com/konkuk-kuploy/shop.git",
    )
    return repo_objects(repo)


def _policies(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == VAP}


def _bindings(objects: list[dict[str, Any]], policy: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == BINDING and o["spec"]["policyName"] == policy]


def _type_warnings(cluster: Cluster, name: str) -> list[Any]:
    """The policy's CEL type-check warnings, once the server has checked its generation."""
    state: dict[str, Any] = {}

    def checked() -> bool:
        p = cluster.get("validatingadmissionpolicy", name)
        state["status"] = p.get("status") or {}
        return state["status"].get("observedGeneration") == p["metadata"]["generation"]

    cluster.wait_for(f"the type check of policy {name}", checked)
    return list((state["status"].get("typeChecking") or {}).get("expressionWarnings") or [])


def check_policy(
    cluster: Cluster,
    policy: dict[str, Any],
    bindings: list[dict[str, Any]],
    cases: list[dict[str, Any]],
    setup: list[dict[str, Any]],
    settle: float = 10,
) -> list[str]:
    """Everything wrong with one policy on the real server; [] when it compiles and bites.

    ``settle``: how long to wait for the policy to take effect (a sound one does in about a
    second; a broken one never does, so the self-tests of broken policies wait less).
    """
    name = policy["metadata"]["name"]
    problems: list[str] = []
    applied = cluster.apply([policy, *bindings])
    if not applied.ok:
        return [f"{name}: refused by the API server: {applied.stderr.strip()}"]
    problems += [f"{name}: CEL type check: {w}" for w in _type_warnings(cluster, name)]
    if not bindings:
        problems.append(f"{name}: no binding renders it: it applies to nothing")
    if setup:
        r = cluster.apply(setup)
        assert r.ok, r.stderr
    validations = policy["spec"].get("validations") or []
    covered = {c["validation"] for c in cases}
    problems += [
        f"{name}: validation {i} has no case" for i in range(len(validations)) if i not in covered
    ]
    # Policies take effect a moment after they are created: wait until the first case bites.
    first = cases[0] if cases else None
    if first is not None:
        # (a policy that never bites is reported below, case by case)
        with contextlib.suppress(AssertionError):
            cluster.wait_for(
                f"policy {name} to take effect",
                lambda: not _submit(cluster, first, first["refused"]).ok,
                timeout=settle,
            )
    for case in cases:
        i, label = case["validation"], case.get("name", case["validation"])
        refused = _submit(cluster, case, case["refused"])
        expected = validations[i].get("message", "") if i < len(validations) else ""
        # An admission plugin that runs before the policies may refuse it first (the
        # DenyServiceExternalIPs plugin of cluster-bootstrap): the policy stays for clusters
        # without that plugin.
        first_by = case.get("refused_first_by")
        if refused.ok:
            problems.append(f"{name}[{label}]: the violating object was admitted")
        elif first_by and first_by in refused.stderr:
            pass
        elif expected and expected not in refused.stderr:
            problems.append(f"{name}[{label}]: refused, but not by it: {refused.stderr.strip()}")
        admitted = _submit(cluster, case, case["admitted"])
        if not admitted.ok:
            problems.append(f"{name}[{label}]: the compliant object was refused: {admitted.stderr}")
    return problems


def _submit(cluster: Cluster, case: dict[str, Any], obj: dict[str, Any]) -> Any:
    """Dry-run ``obj`` as the case says: a create (default), or an update of what setup made."""
    if case.get("operation") == "update":
        return cluster.apply([obj], dry_run=True)
    return cluster.create(obj, dry_run=True)


def _remove(
    cluster: Cluster,
    policy: dict[str, Any],
    bindings: list[dict[str, Any]],
    cases: list[dict[str, Any]],
) -> None:
    """Delete the policy and its bindings, and wait until admission has let go of it.

    The admission plugin drops a deleted policy a moment after the delete; until then it would
    judge the next policy's cases as well (a refusal that is not the next policy's own).
    """
    name = policy["metadata"]["name"]
    for o in [*bindings, policy]:
        cluster.kubectl("delete", o["kind"].lower(), o["metadata"]["name"], "--ignore-not-found")
    if cases:
        probe = cases[0]
        cluster.wait_for(
            f"admission to drop policy {name}",
            lambda: name not in _submit(cluster, probe, probe["refused"]).stderr,
        )


def test_every_rendered_policy_has_cases_and_every_case_a_policy(
    rendered: list[dict[str, Any]],
) -> None:
    files = {p.stem for p in CORPUS.glob("*.yaml") if not p.stem.startswith("_")}
    assert set(_policies(rendered)) == files


def test_every_rendered_policy_compiles_and_bites(
    cluster: Cluster, rendered: list[dict[str, Any]]
) -> None:
    problems: list[str] = []
    for name, policy in sorted(_policies(rendered).items()):
        data = _load(CORPUS / f"{name}.yaml")
        bindings = _bindings(rendered, name)
        setup = data.get("setup") or []
        try:
            problems += check_policy(cluster, policy, bindings, data["cases"], setup)
        finally:
            _remove(cluster, policy, bindings, data["cases"])
    assert not problems, "\n".join(problems)


@pytest.fixture
def selftest() -> dict[str, Any]:
    return _load(CORPUS / "_selftest.yaml")


def _selftest_check(cluster: Cluster, data: dict[str, Any], settle: float = 3) -> list[str]:
    policy, bindings = data["policy"], data["bindings"]
    try:
        return check_policy(
            cluster, policy, bindings, data["cases"], data.get("setup") or [], settle
        )
    finally:
        _remove(cluster, policy, bindings, data["cases"])


def test_the_checker_passes_a_sound_policy(cluster: Cluster, selftest: dict[str, Any]) -> None:
    assert _selftest_check(cluster, selftest, settle=10) == []


def test_the_checker_catches_a_type_error(cluster: Cluster, selftest: dict[str, Any]) -> None:
    broken = copy.deepcopy(selftest)
    v = broken["policy"]["spec"]["validations"][0]
    v["expression"] = v["expression"].replace("sessionAffinity", "sessionAffinitz")
    problems = _selftest_check(cluster, broken)
    assert any("CEL type check" in p for p in problems), problems


def test_the_checker_catches_a_syntax_error(cluster: Cluster, selftest: dict[str, Any]) -> None:
    broken = copy.deepcopy(selftest)
    broken["policy"]["spec"]["validations"][0]["expression"] = "object.spec.("
    problems = _selftest_check(cluster, broken)
    assert any("refused by the API server" in p for p in problems), problems


def test_the_checker_catches_a_rule_that_does_not_bite(
    cluster: Cluster, selftest: dict[str, Any]
) -> None:
    broken = copy.deepcopy(selftest)
    broken["policy"]["spec"]["validations"][0]["expression"] = "true"
    problems = _selftest_check(cluster, broken)
    assert any("violating object was admitted" in p for p in problems), problems


def test_the_checker_catches_a_missing_case(cluster: Cluster, selftest: dict[str, Any]) -> None:
    broken = copy.deepcopy(selftest)
    broken["policy"]["spec"]["validations"].append(
        {"expression": "object.metadata.name != 'forbidden'", "message": "name is forbidden"}
    )
    problems = _selftest_check(cluster, broken)
    assert any("validation 1 has no case" in p for p in problems), problems
