"""Quota and LimitRange are what we say: `validate --student` against the real API server.

For each case of ``corpus/quota/`` (a student's ``deploy/`` folder and what the cluster does with
it, see the README there) both judges give a verdict per object:

- kuploy-gitops: ``validate --student`` on the folder, in a platform repo where the case's
  student is onboarded with the case's tier; an object is refused when a quota or LimitRange
  finding names it (the rules of :data:`QUOTA_RULES`);
- the API server: the tenant's rendered Namespace, ResourceQuota and LimitRange applied as they
  are in the platform repo, then the folder's objects created one by one in the folder's order.
  An object admission judges itself (Pod, Service, PVC, ConfigMap, CronJob...) is refused when
  the create is; a controller (Deployment, StatefulSet, Job) is refused when its controller logs
  ``FailedCreate`` before all its pods exist (replicas that only partly fit: refused).

They must agree object by object, and on the reason; where they differ on purpose the case says
so under ``differences`` (docs/validation.md, "The differential test") and the test checks that
the difference is exactly that one.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver_harness import Cluster, load_all
from helpers import isolated_env
from rendered import apply_guards
from sampling import sampled

from kuploy_gitops import api, layout
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.engine import Options, validate_student
from kuploy_gitops.validate.findings import Finding

CORPUS = Path(__file__).resolve().parent / "corpus" / "quota"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").is_file())
ADMITTED = "admitted"

# The API server's refusals of quota and LimitRange admission (and of the validation of what the
# LimitRange defaulted), as the corpus names them: the message's own words, with the resources.
_EXCEEDED = re.compile(r"exceeded quota: [^,]+, requested: (.*?), used: ")
_MUST_SPECIFY = re.compile(r"must specify (.*)")
_RESOURCE = re.compile(r"\b(?:requests\.|limits\.)?(?:cpu|memory|ephemeral-storage)\b")
_PLAIN = (
    re.compile(r"maximum (\S+) usage per Container"),
    re.compile(r"must be less than or equal to (\S+) limit"),
)

# validate's quota and LimitRange rules.
QUOTA_RULES = {
    F.QUOTA_EXCEEDED,
    F.QUOTA_NODEPORT,
    F.QUOTA_LOADBALANCER,
    F.QUOTA_REQUESTS,
    F.QUOTA_LIMITS,
    F.LIMITS_OVER_MAX,
    F.LIMITS_REQUEST_OVER_LIMIT,
}

# A tier whose LimitRange has no defaults (the case "no-defaults-must-specify"): memory has no
# max either, so the quota needs every container to say its memory request and limit; cpu has
# a max, which the API server makes the default limit and request; ephemeral-storage has a
# quota but no max and no default, and the quota does not require it.
BARE_TIER = """tiers:
  bare:
    quota:
      requests.cpu: '1'
      limits.cpu: '2'
      requests.memory: 1Gi
      limits.memory: 2Gi
      pods: '10'
      requests.ephemeral-storage: 2Gi
      limits.ephemeral-storage: 4Gi
    limits:
      default: {}
      default_request: {}
      max:
        cpu: '1'
"""


@dataclass(frozen=True)
class Case:
    id: str
    tier: str
    expect: dict[str, str]  # the cluster's verdict per Kind/name
    differences: dict[str, str]  # validate's verdict where it differs on purpose
    # Objects a tenant admission policy refuses too (not applied here): validate may say so.
    policy_refused: frozenset[str] = frozenset()

    @property
    def student(self) -> str:
        return f"q-{self.id}"[:30].rstrip("-")

    @property
    def folder(self) -> Path:
        return CORPUS / self.id / "deploy"

    def objects(self) -> list[dict[str, Any]]:
        """The folder's objects in the order validate reads them (files sorted, then documents)."""
        out: list[dict[str, Any]] = []
        for path in sorted(self.folder.rglob("*.yaml")):
            out.extend(load_all(path.read_text()))
        return out


def load_case(case_id: str) -> Case:
    data = yaml.safe_load((CORPUS / case_id / "case.yaml").read_text())
    return Case(
        case_id,
        str(data.get("tier", "small")),
        {str(k): str(v) for k, v in data["expect"].items()},
        {str(k): str(v) for k, v in (data.get("differences") or {}).items()},
        frozenset(str(k) for k in data.get("policy_refused") or ()),
    )


def obj_key(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def reason_of(message: str) -> str:
    """The corpus's name for the API server's refusal: its words and the resources it names."""
    m = _EXCEEDED.search(message)
    if m:
        return "exceeded quota: " + ",".join(sorted(kv.split("=")[0] for kv in m[1].split(",")))
    m = _MUST_SPECIFY.search(message)
    if m:
        return "must specify " + ",".join(sorted(set(_RESOURCE.findall(m[1]))))
    for pattern in _PLAIN:
        m = pattern.search(message)
        if m:
            return m[0]
    return message.strip().splitlines()[-1] if message.strip() else "refused (no message)"


def _resource_in(message: str) -> str:
    """The resource a container finding of validate names (``container 'x' cpu limit ...``)."""
    return next(r for r in ("ephemeral-storage", "memory", "cpu") if f"' {r} " in message)


def validate_reasons(findings: list[Finding]) -> set[str]:
    """The API server's refusals that validate's findings on one object predict, in its words."""
    exceeded: set[str] = set()
    missing: set[str] = set()
    out: set[str] = set()
    for f in findings:
        if f.rule == F.QUOTA_EXCEEDED:
            exceeded.add(f.message.split(":", 1)[0])
        elif f.rule == F.QUOTA_NODEPORT:
            exceeded.add("services.nodeports")
        elif f.rule == F.QUOTA_LOADBALANCER:
            exceeded.add("services.loadbalancers")
        elif f.rule in (F.QUOTA_REQUESTS, F.QUOTA_LIMITS):
            which = "requests" if f.rule == F.QUOTA_REQUESTS else "limits"
            res = re.search(r"has no (\S+) (?:request|limit)", f.message)
            assert res is not None, f.message
            missing.add(f"{which}.{res[1]}")
        elif f.rule == F.LIMITS_OVER_MAX:
            out.add(f"maximum {_resource_in(f.message)} usage per Container")
        elif f.rule == F.LIMITS_REQUEST_OVER_LIMIT:
            out.add(f"must be less than or equal to {_resource_in(f.message)} limit")
        elif (m := _request_over_own_limit(f)) is not None:
            out.add(f"must be less than or equal to {m} limit")
    if exceeded:
        out.add("exceeded quota: " + ",".join(sorted(exceeded)))
    if missing:
        out.add("must specify " + ",".join(sorted(missing)))
    return out


def agrees(cluster: str, ours: set[str]) -> bool:
    """validate predicts the API server's refusal.

    The quota admission names every resource the object passes, validate's quota rules name at
    least one of them (a LoadBalancer Service where the quota allows no load balancer and no
    node port is refused for both; ``quota.loadbalancer`` names the first).
    """
    if cluster in ours:
        return True
    if not cluster.startswith("exceeded quota: "):
        return False
    named = set(cluster.removeprefix("exceeded quota: ").split(","))
    return any(
        r.startswith("exceeded quota: ")
        and set(r.removeprefix("exceeded quota: ").split(",")) <= named
        for r in ours
    )


# ---------------------------------------------------------------------------------------------
# kuploy-gitops's verdict


@pytest.fixture(scope="module")
def platform_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One platform repo with every case's student onboarded with the case's tier."""
    base = tmp_path_factory.mktemp("quota-diff")
    with isolated_env(base):
        repo = base / "repo"
        api.init(api.InitOptions(repo=repo))
        cfg_file = repo / layout.CONFIG_FILE
        text = cfg_file.read_text().replace("tiers:\n", BARE_TIER, 1)
        # The corpus's pods pass baseline, not restricted: only quota and limits may decide.
        assert "enforce: restricted" in text
        cfg_file.write_text(text.replace("enforce: restricted", "enforce: baseline", 1))
        subprocess.run(
            ["git", "-C", str(repo), "commit", "-qam", "a tier without defaults, baseline"],
            check=True,
        )
        for case_id in CASES:
            case = load_case(case_id)
            api.onboard(repo, api.OnboardOptions(student=case.student, tier=case.tier))
        yield repo


def _request_over_own_limit(f: Finding) -> str | None:
    """The resource of a schema finding "request above its own limit" (API validation refuses
    it; validate reports it with the schema rules), else None."""
    if f.rule != F.SCHEMA_INVALID:
        return None
    m = re.search(r"resources\.requests\.([\w.-]+): .* is more than the limit", f.message)
    return m[1] if m else None


def validate_verdicts(repo: Path, case: Case) -> tuple[dict[str, set[str]], list[str]]:
    """validate's refusal reasons per Kind/name, and its other errors (the corpus has none)."""
    report = validate_student(Options(repo=repo, use_cache=False), case.student, case.folder)
    by_object: dict[str, list[Finding]] = {obj_key(o): [] for o in case.objects()}
    others: list[str] = []
    for f in report.errors:
        if (f.rule in QUOTA_RULES or _request_over_own_limit(f)) and f.kind:
            by_object[f"{f.kind}/{f.name}"].append(f)
        elif f"{f.kind}/{f.name}" not in case.policy_refused:
            others.append(f"{f.file}:{f.line} {f.rule} {f.message}")
    return {k: validate_reasons(v) for k, v in by_object.items()}, others


# ---------------------------------------------------------------------------------------------
# the API server's verdict


def expected_pods(obj: Mapping[str, Any]) -> int:
    """The pods a controller makes right away (what the API server's controllers do)."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Job":
        if spec.get("suspend"):
            return 0
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        return parallelism if completions is None else min(parallelism, int(completions))
    return int(spec.get("replicas", 1))


def _owned(items: list[dict[str, Any]], uid: str) -> list[dict[str, Any]]:
    return [
        i
        for i in items
        if any(r.get("uid") == uid for r in i["metadata"].get("ownerReferences", []))
    ]


def controller_verdict(cluster: Cluster, ns: str, obj: Mapping[str, Any], timeout: float) -> str:
    """Admitted when all its pods exist and stay the only ones; else the first FailedCreate."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    want = expected_pods(obj)
    uid = cluster.get(kind.lower(), name, "-n", ns)["metadata"]["uid"]

    def state() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(its pods, its FailedCreate events); a Deployment's are its ReplicaSet's."""
        listing = cluster.get("pods,events,replicasets", "-n", ns)["items"]
        owner = uid
        if kind == "Deployment":
            sets = _owned([i for i in listing if i["kind"] == "ReplicaSet"], uid)
            owner = sets[0]["metadata"]["uid"] if sets else ""
        pods = _owned([i for i in listing if i["kind"] == "Pod"], owner) if owner else []
        failed = [
            i
            for i in listing
            if i["kind"] == "Event"
            and i.get("reason") == "FailedCreate"
            and i.get("involvedObject", {}).get("uid") == owner
        ]
        return (pods, failed) if owner else ([], [])

    deadline = time.monotonic() + timeout
    pods, failed = state()
    while not failed and len(pods) < want:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{kind}/{name}: neither {want} pod(s) nor FailedCreate after {timeout:.0f} s "
                f"({len(pods)} pod(s))"
            )
        time.sleep(0.2)
        pods, failed = state()
    # The rest of the controller's batch: pods still being made, or a failure after them (so
    # that a wrong count of ours cannot pass for an admitted object).
    settle(cluster, ns)
    pods, failed = state()
    if failed:
        return reason_of(failed[0].get("message", ""))
    assert len(pods) == want, f"{kind}/{name}: {len(pods)} pod(s), not {want}, and no FailedCreate"
    return ADMITTED


def settle(cluster: Cluster, ns: str, quiet: float = 0.5) -> None:
    """Wait until the namespace's pod and claim count has not changed for ``quiet`` seconds.

    The controllers make a batch's pods (and its next batch) within milliseconds of each other
    here; half a second without a change, polled five times, is many times that.
    """
    last, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        n = len(cluster.get("pods,persistentvolumeclaims", "-n", ns)["items"])
        if n != last:
            last, since = n, time.monotonic()
        time.sleep(0.1)


def cluster_verdicts(cluster: Cluster, repo: Path, case: Case) -> dict[str, str]:
    apply_guards(cluster, repo, case.student)
    ns = layout.namespace_name(case.student)
    out: dict[str, str] = {}
    for obj in case.objects():
        obj = {**obj, "metadata": {**obj["metadata"], "namespace": ns}}
        result = cluster.create(obj)
        if not result.ok:
            out[obj_key(obj)] = reason_of(result.stderr)
        elif obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            out[obj_key(obj)] = controller_verdict(cluster, ns, obj, timeout=60)
        else:
            out[obj_key(obj)] = ADMITTED
    return out


# ---------------------------------------------------------------------------------------------
# the test


def _table(keys: list[str], *columns: Mapping[str, Any]) -> str:
    return "\n".join(f"  {k:36} " + " | ".join(str(c.get(k, "-")) for c in columns) for k in keys)


@pytest.mark.parametrize("case_id", sampled(CASES, CASES))
def test_validate_and_the_api_server_agree(
    cluster: Cluster, platform_repo: Path, case_id: str
) -> None:
    case = load_case(case_id)
    keys = [obj_key(o) for o in case.objects()]
    assert sorted(case.expect) == sorted(keys), "case.yaml must give every object's verdict"
    assert set(case.differences) <= set(keys)
    assert all(case.expect[k] != ADMITTED for k in case.policy_refused)

    ours, others = validate_verdicts(platform_repo, case)
    assert others == [], "the corpus is meant to break quota and LimitRange rules only"
    theirs = cluster_verdicts(cluster, platform_repo, case)

    shown = {k: " + ".join(sorted(v)) or ADMITTED for k, v in ours.items()}
    where = f"\n  {'object':36} expected | API server | validate\n" + _table(
        keys, case.expect, theirs, shown
    )
    assert theirs == case.expect, f"{case_id}: the API server is not what the case says{where}"
    for key in keys:
        if key in case.differences:
            # A documented difference: validate refuses, for exactly this reason, on purpose.
            assert ours[key] == {case.differences[key]}, f"{case_id}: {key}{where}"
        elif theirs[key] == ADMITTED:
            assert ours[key] == set(), f"{case_id}: validate refuses {key}{where}"
        else:
            assert agrees(theirs[key], ours[key]), f"{case_id}: validate disagrees on {key}{where}"


def test_every_case_has_its_own_student_and_namespace() -> None:
    students = [load_case(c).student for c in CASES]
    assert len(set(students)) == len(students)
    assert 12 <= len(CASES) <= 26


def test_quota_rules_are_every_quota_and_limitrange_rule() -> None:
    assert {r for r in F.RULES if r.startswith(("quota.", "limits."))} == QUOTA_RULES


def test_reasons_in_the_api_servers_words() -> None:
    assert (
        reason_of(
            'pods "web-1" is forbidden: exceeded quota: kuploy-quota, requested: '
            "requests.cpu=400m,pods=1, used: requests.cpu=800m,pods=2, "
            "limited: requests.cpu=1,pods=10"
        )
        == "exceeded quota: pods,requests.cpu"
    )
    assert (
        reason_of(
            'Error creating: pods "web-x" is forbidden: failed quota: kuploy-quota: must specify '
            "limits.memory for: web; requests.memory for: web"
        )
        == "must specify limits.memory,requests.memory"
    )
    assert (
        reason_of("maximum cpu usage per Container is 1, but limit is 2")
        == "maximum cpu usage per Container"
    )
    assert agrees(
        "exceeded quota: services.loadbalancers,services.nodeports",
        {"exceeded quota: services.loadbalancers"},
    )
    assert not agrees("exceeded quota: pods", {"exceeded quota: requests.cpu"})
