"""`kuploy-gitops capacity`: its node sources (kuploy.yaml, a nodes file), --at in the
timetable's zone, the JSON shape, the table, and bad input as one line.

The live read of a cluster is tested against the real API server (tests/cluster/).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kuploy_gitops import cli, config, layout, yamlio
from kuploy_gitops.tenant_spec import TenantSpec, dump_spec

GI = 1024**3
# b204 has a class on Monday 09:00-10:00 (Seoul): taken from 08:45 (15 minutes' lead) to 10:00.
TIMETABLE = {"b204": {"slots": [{"day": "mon", "start": "09:00", "end": "10:00"}]}}
CAPACITY = {
    "volume_storage": "1Ti",
    "rooms": {
        "b204": {"nodes": 10, "cpu": "8", "memory": "16Gi", "ephemeral_storage": "100Gi"},
        "b206": {"nodes": 2, "cpu": "4", "memory": "8Gi", "ephemeral_storage": "100Gi"},
    },
    "pools": {"core": {"nodes": 3, "cpu": "4", "memory": "8Gi"}},
}


def write_repo(path: Path, capacity: dict[str, Any] | None, tenants: dict[str, str]) -> Path:
    data = config.default_config_data()
    data["timetable"]["rooms"] = TIMETABLE
    if capacity is not None:
        data["capacity"] = capacity
    path.mkdir(parents=True, exist_ok=True)
    (path / layout.CONFIG_FILE).write_text(yamlio.dump(data))
    (path / layout.TENANTS_DIR).mkdir()
    for student, tier in tenants.items():
        spec = TenantSpec(student, tier, course="cs101", expires="2026-12-10")
        (path / layout.tenant_spec(student)).write_text(dump_spec(spec))
    return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 3 small tenants (1 cpu, 1Gi each) and 1 large (2 cpu, 4Gi).
    tenants = {"kim-minji": "small", "lee-jun": "small", "park-sol": "small", "choi-ara": "large"}
    return write_repo(tmp_path_factory.mktemp("cap") / "platform", CAPACITY, tenants)


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli.main, ["-C", str(repo), *args], env={"NO_COLOR": "1", "COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


def capacity_json(repo: Path, *args: str) -> dict[str, Any]:
    code, out, err = run(repo, "capacity", *args, "-o", "json")
    assert code == 0, err
    return dict(json.loads(out))


def test_from_kuploy_yaml_now_and_the_worst_hour(repo: Path) -> None:
    report = capacity_json(repo, "--at", "2026-12-02 10:00")  # a Wednesday: no class
    assert report["source"] == "kuploy.yaml"
    assert report["tenants"] == 4
    assert report["quota"]["requests"]["cpu"] == 3 * 1 + 2
    assert report["quota"]["limits"]["memory"] == 3 * 2 * GI + 8 * GI
    now, worst = report["now"], report["worst"]
    assert now["taken"] == [] and now["nodes"] == 12
    assert now["allocatable"]["cpu"] == 10 * 8 + 2 * 4
    assert now["headroom"]["cpu"] == 88 - 5
    # Monday 08:45-10:00: b204's ten PCs are out, b206's two are left (8 cores, 16Gi).
    assert (worst["from"], worst["until"], worst["taken"]) == ("mon 08:45", "mon 10:00", ["b204"])
    assert worst["nodes"] == 2 and worst["allocatable"]["memory"] == 16 * GI
    assert worst["headroom"]["cpu"] == 8 - 5
    assert worst["overcommit"]["cpu"] == round((3 * 2 + 4) / 8, 3)
    # small requests 1 cpu / 1Gi: cpu 3 / 1 and memory 9Gi / 1Gi -> cpu binds at 3
    assert worst["fits"]["small"] == {"count": 3, "binding": "cpu", "exact": 3.0}
    assert worst["next"] == "2026-12-07T08:45+09:00"
    core = next(g for g in report["groups"] if g["group"] == "core")
    assert core["tenant_nodes"] == 0 and core["excluded"] == {"pool core": 3}
    assert report["volumes"] == {
        "storage_class": "kuploy-nfs",
        "capacity": float(1024 * GI),
        "requested": float(3 * 5 * GI + 20 * GI),
    }


def test_json_shape(repo: Path) -> None:
    report = capacity_json(repo, "--at", "2026-12-02 10:00")
    assert list(report) == [
        "source", "time_zone", "at", "tenants", "suspended", "default_tier", "tiers", "quota",
        "volumes", "groups", "now", "worst", "week",
    ]  # fmt: skip
    snapshot_keys = {"taken", "nodes", "groups", "allocatable", "headroom", "requested",
                     "overcommit", "volume_headroom", "fits"}  # fmt: skip
    assert set(report["now"]) == snapshot_keys | {"when"}
    assert set(report["worst"]) == snapshot_keys | {"from", "until", "next"}
    assert set(report["tiers"]) == {"small", "large"}
    assert report["week"][0]["start"] == 0 and report["week"][-1]["end"] == 7 * 24 * 60


@pytest.mark.parametrize(
    ("at", "taken"),
    [
        ("2026-12-07 08:44", []),  # Monday in Seoul, one minute before the lead time
        ("2026-12-07 08:45", ["b204"]),
        ("2026-12-06T23:50+00:00", ["b204"]),  # Sunday 23:50 UTC is Monday 08:50 in Seoul
        ("2026-12-07T01:00+00:00", []),  # 10:00 in Seoul: the class is over
    ],
)
def test_at_is_read_in_the_timetable_zone(repo: Path, at: str, taken: list[str]) -> None:
    assert capacity_json(repo, "--at", at)["now"]["taken"] == taken


def test_from_a_nodes_file(repo: Path, tmp_path: Path) -> None:
    def node(name: str, room: str, **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"kuploy.io/pool": "lab", "kuploy.io/room": room}},
            "spec": spec,
            "status": {"allocatable": {"cpu": "3900m", "memory": "8Gi", "pods": "110"}},
        }

    items = [node("pc-1", "b204"), node("pc-2", "b206"), node("pc-3", "b206", unschedulable=True)]
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    report = capacity_json(repo, "--nodes", str(nodes), "--at", "2026-12-07 09:00")
    assert report["source"] == f"file {nodes}"
    assert report["now"]["taken"] == ["b204"]
    assert report["now"]["nodes"] == 1  # pc-1's room is in class, pc-3 cordoned by hand
    assert report["now"]["allocatable"]["cpu"] == pytest.approx(3.9)
    b206 = next(g for g in report["groups"] if g["group"] == "b206")
    assert (b206["nodes"], b206["tenant_nodes"], b206["excluded"]) == (2, 1, {"cordoned": 1})


def test_table(repo: Path) -> None:
    code, out, _ = run(repo, "capacity", "--at", "2026-12-02 10:00")
    assert code == 0
    assert "nodes from kuploy.yaml; 4 tenants (small 3, large 1)" in out
    row = next(line for line in out.splitlines() if "more small fit" in line)
    assert "83 (cpu)" in row and "3 (cpu)" in row  # now, and at the worst hour
    assert "worst (mon 08:45-mon 10:00)" in out
    assert "the worst hour next begins 2026-12-07 08:45" in out


def test_no_source(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "bare", None, {})
    code, out, err = run(repo, "capacity")
    assert code == 4 and out == ""
    assert err.startswith("error: no nodes: kuploy.yaml declares no capacity.rooms")
    assert len(err.splitlines()) == 1 and "--kubeconfig" in err and "--nodes" in err


def kubeconfig(path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    path.write_text(
        yamlio.dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "k", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            }
        )
    )
    return path


@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        (lambda d: ["--nodes", str(d / "missing.json")], 4, "error: --nodes {d}/missing.json: "
         "cannot read it (No such file or directory); save them with `kubectl get nodes -o json"),
        (lambda d: ["--nodes", str(d / "nodes.yaml")], 4,
         "error: --nodes {d}/nodes.yaml: not JSON (line 1)"),
        (lambda d: ["--nodes", str(d / "pods.json")], 4,
         "error: --nodes {d}/pods.json: not a list of Node objects"),
        (lambda d: ["--kubeconfig", str(kubeconfig(d / "k1", {}, {"token": "s3cr3t-t0ken"}))], 4,
         "error: --kubeconfig {d}/k1: cluster 'k' has no server URL; set clusters[].cluster"),
        (lambda d: ["--kubeconfig", str(kubeconfig(d / "k2", {"server": "https://h:6443"},
                                                   {"exec": {"command": "aws"}}))], 4,
         "error: --kubeconfig {d}/k2: user 'u' logs in through a plugin"),
        (lambda d: ["--kubeconfig", str(d / "no")], 4, "error: --kubeconfig {d}/no: cannot read"),
        (lambda d: ["--kubeconfig", str(d / "k1"), "--nodes", str(d / "x.json")], 2,
         "error: give --nodes or --kubeconfig, not both"),
        (lambda d: ["--at", "monday"], 4, "error: --at 'monday' is not a time"),
        (lambda d: ["--kubeconfig", str(kubeconfig(d / "k3", {"server": "https://h:6443",
                    "certificate-authority": "missing-ca.crt"}, {"token": "s3cr3t"}))], 4,
         "error: --kubeconfig {d}/k3: its CA or client certificate cannot be used"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    repo: Path, tmp_path: Path, make: Any, code: int, message: str
) -> None:
    (tmp_path / "nodes.yaml").write_text("items: []\n")
    (tmp_path / "pods.json").write_text('{"kind": "Pod"}')
    kubeconfig(tmp_path / "k1", {}, {"token": "s3cr3t-t0ken"})
    got, out, err = run(repo, "capacity", *make(tmp_path))
    assert got == code and out == "", err
    assert len(err.splitlines()) == 1 and err.startswith(message.format(d=tmp_path)), err
    assert "s3cr3t" not in err


def test_unreachable_server_names_it(repo: Path, tmp_path: Path) -> None:
    # A port nothing listens on (1 is privileged and unused here): refused at once.
    path = kubeconfig(tmp_path / "k", {"server": "https://127.0.0.1:1"}, {"token": "s3cr3t"})
    code, _, err = run(repo, "capacity", "--kubeconfig", str(path))
    assert code == 4 and len(err.splitlines()) == 1
    assert err.startswith("error: cannot read the nodes from https://127.0.0.1:1 (ConnectError")
    assert "s3cr3t" not in err


def test_help_has_examples() -> None:
    for command in ("capacity", "report"):
        result = CliRunner().invoke(cli.main, [command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.stdout


def test_a_changed_spec_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Summaries of specs are cached between runs under each file's size and mtime.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = write_repo(tmp_path / "p", CAPACITY, {"kim-minji": "small", "lee-jun": "small"})
    at = ("--at", "2026-12-02 10:00")
    assert capacity_json(repo, *at)["tiers"]["large"]["tenants"] == 0
    assert list((tmp_path / "cache" / "kuploy-gitops" / "specs").glob("*.json"))
    spec = TenantSpec("lee-jun", "large", course="cs101", expires="2026-12-10")
    (repo / layout.tenant_spec("lee-jun")).write_text(dump_spec(spec))
    report = capacity_json(repo, *at)
    assert (report["tiers"]["small"]["tenants"], report["tiers"]["large"]["tenants"]) == (1, 1)
    (repo / layout.tenant_spec("kim-minji")).unlink()
    assert capacity_json(repo, *at)["tenants"] == 1
    for cache in (tmp_path / "cache" / "kuploy-gitops" / "specs").glob("*.json"):
        cache.write_text("{not json")  # a broken cache is rebuilt, never trusted
    assert capacity_json(repo, *at)["tiers"]["large"]["tenants"] == 1


def test_many_specs_are_parsed_on_every_core_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kuploy_gitops.ops import capacity as ops_capacity

    tenants = {f"s-{i:02d}": ("large" if i % 3 else "small") for i in range(12)}
    repo = write_repo(tmp_path / "p", CAPACITY, tenants)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "serial"))
    serial = ops_capacity.read_summaries(repo)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "parallel"))
    monkeypatch.setattr(ops_capacity, "PARALLEL_MIN_SPECS", 2)
    monkeypatch.setattr(ops_capacity.os, "cpu_count", lambda: 2)
    assert ops_capacity.read_summaries(repo) == serial
    assert [r["student"] for r in serial] == sorted(tenants)
    assert [r["tier"] for r in serial] == [tenants[s] for s in sorted(tenants)]


def test_suspended_tenants_hold_no_capacity(repo: Path) -> None:
    from kuploy_gitops.ops.capacity import capacity_report, read_summaries

    rows = read_summaries(repo)
    # Term operations' suspension (a spec field on their branch): the quota allows no pods.
    rows = [{**r, "suspended": r["student"] == "choi-ara"} for r in rows]
    report = capacity_report(repo, at="2026-12-02 10:00", tenants=rows)
    assert (report["tenants"], report["suspended"]) == (4, 1)
    assert report["quota"]["requests"]["cpu"] == 3 * 1  # the large tenant's 2 cores are free
    assert report["tiers"]["large"]["tenants"] == 0
