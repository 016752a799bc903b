"""Tenant spec files: an unknown key or a broken value names the file, the line, the student."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import git

from kuploy_gitops import api, config, tenant_spec, yamlio
from kuploy_gitops.cli import main
from kuploy_gitops.errors import ConfigError, ConflictError, InvalidInputError
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec


@pytest.fixture
def kim(platform: Path) -> Path:
    api.onboard(platform, api.OnboardOptions(student="kim"))
    api.app_add(
        platform,
        api.AppOptions(student="kim", app="web", image="ghcr.io/konkuk-kuploy/w:1", port=80),
    )
    return platform / "tenants" / "kim.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    git(path.parents[1], "commit", "-qam", "hand edit")


def test_unknown_key_is_refused_with_file_and_line(platform: Path, kim: Path) -> None:
    edit(kim, "    replicas: 1\n", "    replica: 1\n")
    line = kim.read_text().splitlines().index("    replica: 1") + 1
    with pytest.raises(ConfigError) as info:
        tenant_spec.read_spec(platform, "kim")
    message = str(info.value)
    assert f"kim.yaml:{line}: apps.web.replica: unknown key" in message
    assert "did you mean 'replicas'?" in message


def test_unknown_top_level_key(platform: Path, kim: Path) -> None:
    edit(kim, "tier: small\n", "tier: small\ntiers: large\n")
    with pytest.raises(ConfigError, match=r"kim\.yaml:\d+: tiers: unknown key; did you mean"):
        tenant_spec.read_spec(platform, "kim")


def test_a_broken_value_names_file_and_student_with_exit_3(platform: Path, kim: Path) -> None:
    edit(kim, "    replicas: 1\n", "    replicas: 50\n")
    cfg = config.load_config(platform)
    with pytest.raises(ConfigError) as info:
        tenant_spec.load_spec(platform, "kim", cfg)
    assert info.value.exit_code == 3
    assert str(info.value).startswith("tenants/kim.yaml: student kim: replicas 50 is out of range")
    runner = CliRunner()
    for args in (["render", "--check"], ["render"], ["list"]):
        result = runner.invoke(main, ["-C", str(platform), *args])
        if args == ["list"]:
            assert result.exit_code == 0  # listing reads the spec, it does not render it
            continue
        assert result.exit_code == 3, result.output
        assert "tenants/kim.yaml: student kim: replicas 50 is out of range" in result.stderr


def test_validate_reports_the_broken_spec_as_a_finding(platform: Path, kim: Path) -> None:
    edit(kim, "    replicas: 1\n", "    replica: 1\n")
    result = CliRunner().invoke(main, ["-C", str(platform), "validate", "--no-kustomize"])
    assert result.exit_code == 8
    assert "spec.invalid" in result.output and "unknown key" in result.output


# -- the spec's rules, without a repo --------------------------------------------------------------

CFG = config.parse_config(config.default_config_data())
WEB = AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/web:1", port=8080)
API = AppSpec(name="api", mode="repo", repo="https://github.com/konkuk-kuploy/kim-api.git")
KIM = TenantSpec(student="kim", tier="small", apps=(API, WEB))


def refused(spec: TenantSpec, *, check_dates: bool = True) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        tenant_spec.validate_spec(spec, CFG, check_dates=check_dates)
    return info.value


def with_app(**kw: object) -> TenantSpec:
    return replace(KIM, apps=(replace(WEB, **kw),))  # type: ignore[arg-type]


def test_a_full_spec_is_valid() -> None:
    spec = replace(
        KIM,
        github="Kim-GH",
        name="김민지",
        email="kim@konkuk.ac.kr",
        course="cs101",
        term="2026-fall",
        expires="2999-01-01",
    )
    tenant_spec.validate_spec(spec, CFG)


def test_student_and_tier_rules() -> None:
    assert refused(replace(KIM, student="Kim")).message == "student name 'Kim' is not a DNS label"
    # the config's own namespaces are reserved too
    assert CFG.ingress_namespace == "traefik"
    assert "reserved" in refused(replace(KIM, student=CFG.ingress_namespace)).message
    error = refused(replace(KIM, tier="huge"))
    assert error.message == "tier 'huge' does not exist"
    assert error.hint == "use one of large, small (tiers are defined in kuploy.yaml)"


def test_owner_fields() -> None:
    assert refused(replace(KIM, github="-x")).message == "GitHub login '-x' is not valid"
    assert refused(replace(KIM, name="bad\udcff")).message.startswith("name ")
    assert refused(replace(KIM, email="bad\udcff@x.kr")).message.startswith("email ")
    error = refused(replace(KIM, email="kim.konkuk.ac.kr"))
    assert error.message == "email 'kim.konkuk.ac.kr' is not an address"
    assert error.hint == "e.g. a@b.ac.kr"
    assert refused(replace(KIM, course="CS 101")).message.startswith("course 'CS 101'")
    assert refused(replace(KIM, term="fall/2026")).message.startswith("term 'fall/2026'")


def test_expiry_checked_as_a_date_only_when_asked() -> None:
    past = replace(KIM, expires="2001-01-01")
    assert refused(past).message == "expiry date 2001-01-01 is in the past"
    tenant_spec.validate_spec(past, CFG, check_dates=False)  # a spec file may be past its date
    assert refused(replace(KIM, expires="bad date"), check_dates=False).message.startswith(
        "expires 'bad date'"
    )


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (replace(API, repo=""), "repo URL '' is not a URL"),
        (replace(API, repo="https://x/a b"), "repo URL 'https://x/a b' is not a URL"),
        (replace(API, path="/deploy"), "path '/deploy' must be a relative folder inside the repo"),
        (
            replace(API, path="deploy/../.."),
            "path 'deploy/../..' must be a relative folder inside the repo",
        ),
        (replace(WEB, mode="helm"), "app mode 'helm' is unknown"),
        (replace(WEB, image=""), "image '' is not an image reference"),
        (replace(WEB, image="a b:1"), "image 'a b:1' is not an image reference"),
        (replace(WEB, image=" a:1"), "image ' a:1' is not an image reference"),
        (replace(WEB, port=0), "port 0 is out of range"),
        (replace(WEB, port=65536), "port 65536 is out of range"),
        (replace(WEB, health_path="healthz"), "health path 'healthz' must start with '/'"),
        (replace(WEB, health_path="/a b"), "health path '/a b' must start with '/'"),
        (replace(WEB, replicas=-1), "replicas -1 is out of range"),
        (replace(WEB, replicas=11), "replicas 11 is out of range"),
        (replace(WEB, size="huge"), "size 'huge' does not exist"),
        (replace(WEB, env=(("1A", "x"),)), "env variable name '1A' is not valid"),
        (replace(WEB, env=(("A", "bad\udcff"),)), "env A 'bad\\udcff' is not valid text"),
        (replace(WEB, name="Web"), "app name 'Web' is not a DNS label of at most 30 characters"),
    ],
)
def test_app_rules(app: AppSpec, message: str) -> None:
    assert refused(replace(KIM, apps=(app,))).message == message


@pytest.mark.parametrize(
    "app",
    [
        replace(WEB, port=1),
        replace(WEB, port=65535),
        replace(WEB, replicas=0),
        replace(WEB, health_path="/healthz"),
        replace(WEB, env=(("A_b-c.d", ""), ("_X", "김"))),
        replace(API, path="deploy/base"),
        replace(API, path="."),
    ],
)
def test_app_boundaries_accepted(app: AppSpec) -> None:
    tenant_spec.validate_spec(replace(KIM, apps=(app,)), CFG)


def test_ten_replicas_in_a_tier_they_fit() -> None:
    app = replace(WEB, replicas=10, size="tiny")
    tenant_spec.validate_spec(replace(KIM, tier="large", apps=(app,)), CFG)


def test_hints_say_what_to_do() -> None:
    assert refused(with_app(port=0)).hint == "use 1-65535"
    assert refused(with_app(replicas=11)).hint == "use 0-10"
    assert refused(with_app(size="huge")).hint == "use one of tiny, small, medium"
    assert refused(with_app(health_path="x")).hint == "e.g. /healthz"
    assert refused(with_app(mode="x")).hint == "use managed or repo"


def test_apps_must_fit_the_tier_quota() -> None:
    tenant_spec.validate_spec(with_app(size="medium", replicas=2), CFG)  # limits.cpu 2 of 2
    error = refused(with_app(size="medium", replicas=3))
    assert error.message == "apps of 'kim' would need limits.cpu 3000m, over tier 'small' quota 2"
    assert error.hint == "use fewer --replicas, a smaller --size or a larger --tier"
    error = refused(with_app(size="small", replicas=10))  # requests.cpu 1 of 1 fits exactly
    assert error.message == (
        "apps of 'kim' would need requests.memory 1280Mi, over tier 'small' quota 1Gi"
    )
    two = replace(
        KIM,
        apps=(
            replace(WEB, size="medium", replicas=1),
            replace(WEB, name="w2", size="medium", replicas=2),
        ),
    )
    assert refused(two).message.startswith("apps of 'kim' would need limits.cpu 3000m")
    tenant_spec.validate_spec(replace(two, tier="large"), CFG)
    many_repos = replace(KIM, apps=(WEB, *(replace(API, name=f"a{i}") for i in range(20))))
    tenant_spec.validate_spec(many_repos, CFG)  # repo apps use no quota


def test_spec_data_round_trip() -> None:
    spec = replace(
        KIM,
        github="gh",
        course="cs101",
        apps=(API, replace(WEB, env=(("B", "2"), ("A", "1")), replicas=2, size="tiny")),
    )
    data = spec.to_data()
    assert data == {
        "version": 1,
        "student": "kim",
        "tier": "small",
        "github": "gh",
        "course": "cs101",
        "apps": {
            "api": {
                "mode": "repo",
                "repo": "https://github.com/konkuk-kuploy/kim-api.git",
                "path": "deploy",
                "revision": "main",
            },
            "web": {
                "mode": "managed",
                "image": "ghcr.io/konkuk-kuploy/web:1",
                "port": 8080,
                "env": {"B": "2", "A": "1"},
                "health_path": "/",
                "replicas": 2,
                "size": "tiny",
            },
        },
    }
    text = tenant_spec.dump_spec(spec)
    assert text.startswith("# kuploy tenant spec: the source of truth")
    assert tenant_spec.parse_spec(yamlio.load(text), "x.yaml", text) == spec


def test_parse_spec_defaults_and_sorting() -> None:
    data = {
        "version": 1,
        "student": "kim",
        "tier": "small",
        "expires": dt.date(2027, 2, 28),
        "term": 2026,
        "name": None,
        "apps": {
            "zed": {"image": "z:1", "port": "80"},
            "api": {"mode": "repo", "repo": "https://x/r.git", "path": "", "revision": None},
        },
    }
    spec = tenant_spec.parse_spec(data, "x.yaml")
    assert spec.expires == "2027-02-28" and spec.term == "2026" and spec.name == ""
    assert [a.name for a in spec.apps] == ["api", "zed"]
    api, zed = spec.apps
    assert (api.mode, api.path, api.revision) == ("repo", "deploy", "main")
    assert zed == AppSpec(name="zed", mode="managed", image="z:1", port=80)
    assert (zed.health_path, zed.replicas, zed.size, zed.env) == ("/", 1, "small", ())


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"version": 2}, "x.yaml: version: 2 is not supported (expected 1)"),
        ({}, "x.yaml: version: None is not supported (expected 1)"),
        ({"version": 1, "student": ["k"]}, "x.yaml: student: expected text, got ['k']"),
        ({"version": 1, "apps": ["w"]}, "x.yaml: apps: expected a mapping, got list"),
        ({"version": 1, "apps": {"w": "x"}}, "x.yaml: apps.w: expected a mapping, got str"),
        (
            {"version": 1, "apps": {"w": {"port": "eighty"}}},
            "x.yaml: apps.w: port and replicas must be numbers",
        ),
        (
            {"version": 1, "apps": {"w": {"replicas": None}}},
            "x.yaml: apps.w: port and replicas must be numbers",
        ),
        (
            {"version": 1, "apps": {"w": {"env": ["A=1"]}}},
            "x.yaml: apps.w.env: expected a mapping, got list",
        ),
        (
            {"version": 1, "apps": {"w": {"mode": "repo", "image": "x"}}},
            "x.yaml: apps.w.image: unknown key",
        ),
        (
            {"version": 1, "apps": {"w": {"repo": "x"}}},
            "x.yaml: apps.w.repo: unknown key",
        ),
        (
            {"version": 1, "apps": {"w": {"mode": "repo", "repo": {"url": "x"}}}},
            "x.yaml: apps.w.repo: expected text, got {'url': 'x'}",
        ),
        ("just text", "x.yaml: spec: expected a mapping, got str"),
    ],
)
def test_parse_spec_refusals(data: object, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        tenant_spec.parse_spec(data, "x.yaml")
    assert info.value.message == words


def test_spec_methods() -> None:
    assert KIM.app("web") == WEB and KIM.app("nope") is None
    added = KIM.with_app(replace(WEB, name="aaa"))
    assert [a.name for a in added.apps] == ["aaa", "api", "web"]
    assert [a.name for a in added.with_app(replace(WEB, port=1)).apps] == ["aaa", "api", "web"]
    assert added.with_app(replace(WEB, port=1)).app("web").port == 1  # type: ignore[union-attr]
    assert [a.name for a in added.without_app("api").apps] == ["aaa", "web"]
    assert KIM.without_app("nope") == KIM


def test_read_list_load_and_require(tmp_path: Path) -> None:
    assert tenant_spec.list_students(tmp_path) == []
    assert tenant_spec.read_spec(tmp_path, "kim") is None
    assert tenant_spec.load_spec(tmp_path, "kim", CFG) is None
    with pytest.raises(ConflictError) as info:
        tenant_spec.require_spec(tmp_path, "kim")
    assert info.value.message == f"student 'kim' is not onboarded in {tmp_path}"
    assert info.value.hint == (
        "run `kuploy-gitops onboard kim` first (`kuploy-gitops list` shows all)"
    )
    tenants = tmp_path / "tenants"
    (tenants / "archive").mkdir(parents=True)
    (tenants / "archive" / "old.yaml").write_text("x")
    (tenants / "dir.yaml").mkdir()
    (tenants / "notes.txt").write_text("x")
    (tenants / "lee.yaml").write_text(tenant_spec.dump_spec(replace(KIM, student="lee")))
    (tenants / "kim.yaml").write_text(tenant_spec.dump_spec(KIM))
    assert tenant_spec.list_students(tmp_path) == ["kim", "lee"]
    assert tenant_spec.read_spec(tmp_path, "kim") == KIM
    assert tenant_spec.require_spec(tmp_path, "kim") == KIM
    assert tenant_spec.load_spec(tmp_path, "kim", CFG) == KIM
    (tenants / "park.yaml").write_text(tenant_spec.dump_spec(KIM))
    with pytest.raises(ConfigError) as error:
        tenant_spec.read_spec(tmp_path, "park")
    assert (
        error.value.message
        == f"{tenants / 'park.yaml'}: student 'kim' does not match the file name"
    )
    assert error.value.hint == "rename the file or set student: park"


def test_check_spec_file_names_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        tenant_spec.check_spec_file(with_app(port=0), CFG, "tenants/kim.yaml")
    assert info.value.message == "tenants/kim.yaml: student kim: port 0 is out of range"
    assert info.value.hint == "use 1-65535 (in tenants/kim.yaml)"
    assert isinstance(info.value.__cause__, InvalidInputError)
    tenant_spec.check_spec_file(replace(KIM, expires="2001-01-01"), CFG, "t")  # no date check

    def no_hint(*_: object, **__: object) -> None:
        raise InvalidInputError("bad")

    monkeypatch.setattr(tenant_spec, "validate_spec", no_hint)
    with pytest.raises(ConfigError) as info:
        tenant_spec.check_spec_file(KIM, CFG, "t")
    assert (info.value.message, info.value.hint) == ("t: student kim: bad", "edit the file")
    config_error = ConfigError("already a config error", hint="h")

    def raises_config(*_: object, **__: object) -> None:
        raise config_error

    monkeypatch.setattr(tenant_spec, "validate_spec", raises_config)
    with pytest.raises(ConfigError) as info:
        tenant_spec.check_spec_file(KIM, CFG, "t")
    assert info.value is config_error


def tier_cfg(
    *, quota: dict[str, str] | None = None, max_: dict[str, str] | None = None
) -> config.PlatformConfig:
    """CFG with the small tier's quota or container max replaced."""
    small = CFG.tiers["small"]
    tier = replace(
        small, quota=quota if quota is not None else {}, max=max_ if max_ is not None else {}
    )
    return replace(CFG, tiers={**CFG.tiers, "small": tier})


@pytest.mark.parametrize(
    ("res", "cap", "words"),
    [
        ("cpu", "500m", "size 'small' (cpu limit 500m) exceeds tier 'small' max 400m"),
        ("memory", "512Mi", "size 'small' (memory limit 512Mi) exceeds tier 'small' max 500Mi"),
    ],
)
def test_size_within_the_tier_max(res: str, cap: str, words: str) -> None:
    small_cap = {"cpu": "400m", "memory": "500Mi"}[res]
    cfg = tier_cfg(max_={res: cap})
    tenant_spec.validate_spec(KIM, cfg)  # the small size's limit equals the cap
    cfg = tier_cfg(max_={res: small_cap})
    with pytest.raises(InvalidInputError) as info:
        tenant_spec.validate_spec(KIM, cfg)
    assert info.value.message == words
    assert info.value.hint == "pick a smaller --size or a larger --tier"
    tenant_spec.validate_spec(with_app(size="tiny"), cfg)
    tenant_spec.validate_spec(KIM, tier_cfg(max_={}))  # no cap, no check


@pytest.mark.parametrize(
    ("key", "cap", "need"),
    [
        ("requests.cpu", "80m", "100m"),
        ("requests.memory", "100Mi", "128Mi"),
        ("limits.cpu", "400m", "500m"),
        ("limits.memory", "500Mi", "512Mi"),
    ],
)
def test_quota_counts_every_managed_app(key: str, cap: str, need: str) -> None:
    """Two tiny apps: each fits the quota alone, together they do not."""
    cfg = tier_cfg(quota={key: cap})
    one = replace(KIM, apps=(API, replace(WEB, name="a", size="tiny")))
    tenant_spec.validate_spec(one, cfg)
    # a repo app first (apps are sorted by name) must not stop the count
    two = replace(one, apps=(*one.apps, replace(WEB, name="b", size="tiny")))
    with pytest.raises(InvalidInputError) as info:
        tenant_spec.validate_spec(two, cfg)
    assert (
        info.value.message
        == f"apps of 'kim' would need {key} {need}, over tier 'small' quota {cap}"
    )


def test_quota_fits_exactly() -> None:
    eight = with_app(size="small", replicas=8)  # 8 x 128Mi = 1Gi
    tenant_spec.validate_spec(eight, tier_cfg(quota={"requests.memory": "1Gi"}))


def test_validate_checks_dates_unless_told_not_to() -> None:
    with pytest.raises(InvalidInputError, match="in the past"):
        tenant_spec.validate_spec(replace(KIM, expires="2001-01-01"), CFG)


def test_the_configs_own_namespaces_are_reserved() -> None:
    cfg = replace(CFG, ingress_namespace="ingress-nginx")
    with pytest.raises(InvalidInputError, match="reserved for the platform"):
        tenant_spec.validate_spec(replace(KIM, student="ingress-nginx"), cfg)


def test_every_text_field_refuses_other_values_naming_its_key() -> None:
    for key in ("student", "tier", "github", "name", "email", "course", "term", "expires"):
        with pytest.raises(ConfigError) as info:
            tenant_spec.parse_spec({"version": 1, key: [1]}, "x.yaml")
        assert info.value.message == f"x.yaml: {key}: expected text, got [1]"
    for key in ("image", "health_path", "size"):
        with pytest.raises(ConfigError) as info:
            tenant_spec.parse_spec({"version": 1, "apps": {"w": {key: [1]}}}, "x.yaml")
        assert info.value.message == f"x.yaml: apps.w.{key}: expected text, got [1]"
    for key in ("repo", "path", "revision"):
        with pytest.raises(ConfigError) as info:
            tenant_spec.parse_spec(
                {"version": 1, "apps": {"w": {"mode": "repo", key: [1]}}}, "x.yaml"
            )
        assert info.value.message == f"x.yaml: apps.w.{key}: expected text, got [1]"


def test_every_field_survives_a_round_trip() -> None:
    spec = TenantSpec(
        student="kim",
        tier="large",
        github="gh",
        name="Kim Minji",
        email="kim@x.kr",
        course="cs101",
        term="2026-fall",
        expires="2027-02-28",
        apps=(
            replace(API, path="k8s/overlay", revision="v2"),
            AppSpec(
                name="web",
                mode="managed",
                image="i:1",
                port=81,
                env=(("A", "1"),),
                health_path="/healthz",
                replicas=3,
                size="medium",
                secrets=(("API_KEY", "A" * 120), ("B", "c" * 100 + "==")),
            ),
        ),
    )
    text = tenant_spec.dump_spec(spec)
    assert tenant_spec.parse_spec(yamlio.load(text), "x.yaml", text) == spec


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ((("1KEY", "A" * 120),), "secret name '1KEY' is not valid"),
        ((("K", "not base64!"),), "sealed secret 'K' of app 'web' is not a sealed value"),
        ((("K", "QUJD"),), "sealed secret 'K' of app 'web' is not a sealed value"),
    ],
)
def test_sealed_secrets_in_a_spec_are_checked(
    secrets: tuple[tuple[str, str], ...], message: str
) -> None:
    app = AppSpec(name="web", mode="managed", image="ghcr.io/o/i:1", port=80, secrets=secrets)
    spec = TenantSpec(student="kim", tier="small", apps=(app,))
    with pytest.raises(InvalidInputError, match=message):
        tenant_spec.check_app(spec, app, CFG)


def test_a_managed_app_without_port_parses_as_port_zero() -> None:
    spec = tenant_spec.parse_spec({"version": 1, "apps": {"w": {"image": "i:1"}}}, "x.yaml")
    assert spec.apps[0].port == 0 and spec.apps[0].replicas == 1


def test_spec_file_errors_name_the_file_and_line() -> None:
    text = "version: 1\nstudent: kim\ntier: small\ntiers: large\n"
    with pytest.raises(ConfigError) as info:
        tenant_spec.parse_spec(yamlio.load(text), "t/kim.yaml", text)
    assert info.value.message == "t/kim.yaml:4: tiers: unknown key"
    assert info.value.hint == "did you mean 'tier'?"
    with pytest.raises(ConfigError) as info:
        tenant_spec.parse_spec(yamlio.load(text), "t/kim.yaml")
    assert info.value.message == "t/kim.yaml: tiers: unknown key"


def test_read_spec_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tenants" / "kim.yaml"
    path.parent.mkdir()
    path.write_text("version: 1\nstudent: kim\ntier: small\nname: [\n")
    with pytest.raises(ConfigError) as info:
        tenant_spec.read_spec(tmp_path, "kim")
    assert info.value.message.startswith(f"{path}: not valid YAML: ")
    path.write_text("version: 1\nstudent: kim\ntier: small\napps:\n  web:\n    replica: 1\n")
    with pytest.raises(ConfigError) as info:
        tenant_spec.read_spec(tmp_path, "kim")
    assert info.value.message == f"{path}:6: apps.web.replica: unknown key"


def test_load_spec_names_the_repo_relative_file(tmp_path: Path) -> None:
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "kim.yaml").write_text(tenant_spec.dump_spec(with_app(port=0)))
    with pytest.raises(ConfigError) as info:
        tenant_spec.load_spec(tmp_path, "kim", CFG)
    assert info.value.message == "tenants/kim.yaml: student kim: port 0 is out of range"
    assert info.value.exit_code == 3


def test_require_valid_spec(tmp_path: Path) -> None:
    with pytest.raises(ConflictError):
        tenant_spec.require_valid_spec(tmp_path, "kim", CFG)
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "kim.yaml").write_text(tenant_spec.dump_spec(KIM))
    assert tenant_spec.require_valid_spec(tmp_path, "kim", CFG) == KIM
    (tmp_path / "tenants" / "kim.yaml").write_text(tenant_spec.dump_spec(with_app(port=0)))
    with pytest.raises(ConfigError) as info:
        tenant_spec.require_valid_spec(tmp_path, "kim", CFG)
    assert info.value.message == "tenants/kim.yaml: student kim: port 0 is out of range"
    assert info.value.exit_code == 3


def test_more_hints() -> None:
    no_repo = refused(replace(KIM, apps=(replace(API, repo=""),)))
    assert no_repo.hint.startswith("use https://github.com/konkuk-kuploy/")
    assert refused(replace(KIM, apps=(replace(API, path="/x"),))).hint.endswith("e.g. deploy")
    assert refused(with_app(image="")).hint == (
        "registry/path:tag or @sha256:<digest>, lowercase path, e.g. ghcr.io/org/app:1.0"
    )
    assert refused(with_app(env=(("1", ""),))).hint == "use letters, digits, '_', '-', '.'"


def test_check_spec_file_of_a_tenant_whose_name_became_reserved() -> None:
    cfg = replace(CFG, extra_reserved=("kim",))
    with pytest.raises(ConfigError) as info:
        tenant_spec.check_spec_file(KIM, cfg, "tenants/kim.yaml")
    assert info.value.message == (
        "tenants/kim.yaml: student name 'kim' is reserved for the platform"
    )
    assert info.value.hint == (
        "offboard the tenant (kuploy-gitops offboard kim) and onboard the student under "
        "another name"
    )
