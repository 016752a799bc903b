"""Proof 4 of issue 10, "schemas are what we say": validate's schema verdict is the API server's.

Every case of ``corpus/schema/`` (README there) is given to both judges:

- the real kube-apiserver: ``kubectl create --dry-run=server --validate=strict`` into a namespace
  without Pod Security labels, quota or LimitRange, so only decoding, strict field validation and
  the API's validation code decide. It *refuses* when kubectl exits non-zero (with
  ``--validate=strict`` an unknown or duplicate field is such an error); warnings alone are an
  admission.
- ``kuploy-gitops validate --student`` on a folder holding every case as a file, in a platform
  repo made by ``init`` and ``onboard``: the user's path. Only the findings of
  :data:`SCHEMA_RULES` count (policy findings such as Pod Security, quota, images, ingress
  hosts or isolation are other proofs); validate *refuses* when one of them is an error.

A disagreement fails the test unless the case documents it (``difference:``, explained in
docs/validation.md); then the test checks that the difference is exactly the documented one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from apiserver_harness import Cluster
from helpers import isolated_env
from sampling import sampled

from kuploy_gitops import api, yamlio
from kuploy_gitops.validate import crdbundle
from kuploy_gitops.validate.engine import Options, validate_student
from kuploy_gitops.validate.findings import ERROR, Finding

CORPUS = Path(__file__).resolve().parent / "corpus" / "schema"
STUDENT = "diff-student"
NAMESPACE = "schema-diff"
CRD_KINDS = ("Application", "AppProject")

# The rules whose findings are the API server's business: decoding, schemas, names, removed
# APIs, and the validation code's own checks. Everything else is admission policy or ours.
SCHEMA_RULES = frozenset(
    {
        "yaml.syntax",
        "manifest.malformed",
        "manifest.name-invalid",
        "schema.unknown-field",
        "schema.invalid",
        "schema.unknown-kind",
        "api.removed",
        "workload.selector-mismatch",
    }
)


@dataclass(frozen=True)
class Difference:
    """A documented disagreement: what the server says and the exact schema rules validate gives."""

    server: str  # "admits" or "refuses"
    validate: frozenset[str]  # the schema rules of validate's errors (empty: validate admits)
    why: str


@dataclass(frozen=True)
class Case:
    id: str
    text: str  # the manifest as the file holds it
    file: str  # where it came from
    note: str = ""
    difference: Difference | None = None


def load_corpus() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is None:
                continue
            unknown = set(doc) - {"id", "note", "object", "text", "difference"}
            assert not unknown, f"{path.name}: case {doc.get('id')!r} has unknown keys {unknown}"
            assert ("object" in doc) != ("text" in doc), f"{doc['id']}: give object or text"
            # kuploy's writer quotes every string YAML 1.1 (kubectl) could read otherwise
            text = doc["text"] if "text" in doc else yamlio.dump(doc["object"])
            diff = doc.get("difference")
            cases.append(
                Case(
                    id=str(doc["id"]),
                    text=text,
                    file=path.name,
                    note=str(doc.get("note", "")),
                    difference=None
                    if diff is None
                    else Difference(
                        server=diff["server"],
                        validate=frozenset(diff.get("validate") or ()),
                        why=diff["why"],
                    ),
                )
            )
    return cases


CASES = load_corpus()


def test_corpus_ids_are_unique_and_name_files() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert all(c.id.replace("-", "").isalnum() for c in CASES)
    assert len(CASES) >= 40
    for case in CASES:
        if case.difference is not None:
            assert case.difference.server in ("admits", "refuses")
            assert case.difference.validate <= SCHEMA_RULES
            assert case.difference.why


@pytest.fixture(scope="module")
def validate_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    """validate --student's error findings of the schema rules, per case (one run for all)."""
    base = tmp_path_factory.mktemp("schema-diff")
    with isolated_env(base):
        repo = base / "platform"
        api.init(api.InitOptions(repo=repo))
        api.onboard(repo, api.OnboardOptions(student=STUDENT))
        deploy = base / "deploy"
        deploy.mkdir()
        for case in CASES:
            (deploy / f"{case.id}.yaml").write_text(case.text, encoding="utf-8")
        report = validate_student(Options(repo=repo, use_cache=False), STUDENT, deploy)
    out: dict[str, list[Finding]] = {c.id: [] for c in CASES}
    for finding in report.findings:
        case_id = Path(finding.file).stem
        assert case_id in out, f"a finding outside the corpus files: {finding}"
        if finding.rule in SCHEMA_RULES and finding.severity == ERROR:
            out[case_id].append(finding)
    return out


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> Iterator[str]:
    """A plain namespace (no Pod Security labels, quota or LimitRange), and the CRDs validate ships.

    The CRDs are those of ``kuploy_gitops/validate/crds/`` (the kinds of :data:`CRD_KINDS`): the
    server judges the custom resources of the corpus with exactly the schemas validate reads.
    """
    result = cluster.kubectl("create", "namespace", NAMESPACE)
    assert result.ok or "AlreadyExists" in result.stderr, result.stderr
    # Not ApplicationSet: no case needs it, and its 350 kB schema takes the server seconds.
    crds = [json.loads(crdbundle.bundled_file("argoproj.io", k).read_text()) for k in CRD_KINDS]
    cluster.install_crds(crds)
    yield NAMESPACE


def server_verdict(cluster: Cluster, namespace: str, case: Case) -> tuple[bool, str]:
    """(refused, what kubectl said) for a server-side dry-run create with strict validation."""
    result = cluster.kubectl(
        "create",
        "--namespace",
        namespace,
        "--dry-run=server",
        "--validate=strict",
        "-o",
        "name",
        "-f",
        "-",
        stdin=case.text,
    )
    return (not result.ok), result.stderr.strip()


@pytest.mark.parametrize("case", sampled(CASES, [c.id for c in CASES]))
def test_validate_agrees_with_the_api_server(
    case: Case,
    cluster: Cluster,
    namespace: str,
    validate_verdicts: dict[str, list[Finding]],
) -> None:
    server_refuses, said = server_verdict(cluster, namespace, case)
    errors = validate_verdicts[case.id]
    validate_refuses = bool(errors)
    shown = "\n".join(f"  {f.rule}: {f.message}" for f in errors) or "  (no schema error)"
    story = f"API server: {'refuses' if server_refuses else 'admits'}\n  {said}\nvalidate:\n{shown}"
    if case.difference is None:
        assert server_refuses == validate_refuses, f"{case.id} ({case.file}) disagrees\n{story}"
        return
    diff = case.difference
    assert server_refuses == (diff.server == "refuses"), f"{case.id}: not as documented\n{story}"
    assert {f.rule for f in errors} == diff.validate, f"{case.id}: not as documented\n{story}"
