"""The name and value rules of names.py, at their boundaries (what is refused, and the words)."""

from __future__ import annotations

import datetime as dt

import pytest

from kuploy_gitops import config, names
from kuploy_gitops.errors import ConfigError, InvalidInputError


def test_student_name_of_exactly_max_len_is_accepted_one_more_is_refused() -> None:
    assert names.MAX_STUDENT_LEN == 30
    names.check_student_name("a" * 30)
    names.check_student_name("s" + "1" * 28 + "z")
    with pytest.raises(InvalidInputError) as info:
        names.check_student_name("a" * 31)
    assert info.value.message == f"student name {'a' * 31!r} has 31 characters"
    assert "at most 30" in (info.value.hint or "")


@pytest.mark.parametrize("bad", ["Kim", "kim_lee", "-kim", "kim-", "", "k.im", "kim lee"])
def test_student_name_must_be_a_dns_label(bad: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        names.check_student_name(bad)
    assert info.value.message == f"student name {bad!r} is not a DNS label"


@pytest.mark.parametrize("good", ["k", "kim", "kim-lee", "202112345", "a-b-c", "0a"])
def test_student_name_accepts_dns_labels(good: str) -> None:
    names.check_student_name(good)


@pytest.mark.parametrize(
    "reserved",
    ["default", "argocd", "kuploy", "admin", "root", "traefik", "monitoring", "kyverno"]
    + ["local-path-storage", "cert-manager", "ingress-nginx", "velero", "argo"],
)
def test_reserved_student_names_are_refused(reserved: str) -> None:
    assert reserved in names.RESERVED_NAMES
    with pytest.raises(InvalidInputError) as info:
        names.check_student_name(reserved)
    assert info.value.message == f"student name {reserved!r} is reserved for the platform"
    assert f"'cs101-{reserved}'" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("student", "pattern"),
    [
        ("kube-system", "kube-*"),
        ("kube-node-lease", "kube-*"),
        ("calico-apiserver", "calico-*"),
        ("tigera-operator", "tigera-*"),
        ("metallb-system", "*-system"),
        ("longhorn-system", "*-system"),
        ("cnpg-system", "*-system"),
        ("gatekeeper-system", "*-system"),
        ("flux-system", "*-system"),
        ("argo-rollouts", "argo-*"),
        ("argocd-x", "argocd-*"),
        ("kuploy-x", "kuploy-*"),
        ("cattle-system", "cattle-*"),
    ],
)
def test_namespaces_of_lab_clusters_are_refused_by_pattern(student: str, pattern: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        names.check_student_name(student, reserved=())  # the patterns always apply
    assert info.value.message == (
        f"student name {student!r} is reserved for the platform (it matches {pattern!r})"
    )


@pytest.mark.parametrize("pattern", names.RESERVED_PATTERNS)
def test_a_pattern_needs_its_hyphen(pattern: str) -> None:
    near = pattern.replace("-*", "x").replace("*-", "x")  # 'kubex', 'xsystem'
    names.check_student_name(near, reserved=())


def test_reserved_set_is_the_callers() -> None:
    names.check_student_name("default", reserved={"argocd"})
    with pytest.raises(InvalidInputError, match="reserved"):
        names.check_student_name("ingress", reserved={"ingress"})
    with pytest.raises(
        InvalidInputError, match=r"reserved for the platform \(it matches 'lab-\*'\)"
    ):
        names.check_student_name("lab-x", reserved={"lab-*"})
    names.check_student_name("labx", reserved={"lab-*"})
    names.check_student_name("lab-x", reserved={"lab-?"})  # only '*' is a wildcard


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("monitoring", ""),
        ("team-*", ""),
        ("*-ops", ""),
        ("Monitoring", "'Monitoring' is not a namespace name or pattern"),
        ("a_b", "'a_b' is not a namespace name or pattern"),
        ("-x*", "'-x*' is not a namespace name or pattern"),
        ("lab-?", "'lab-?' may use only '*' as a wildcard"),
        ("lab-[ab]", "'lab-[ab]' may use only '*' as a wildcard"),
        ("x" * 64, f"{'x' * 64!r} is not a namespace name or pattern"),
    ],
)
def test_namespace_patterns(entry: str, problem: str) -> None:
    assert names.check_namespace_pattern(entry).startswith(problem)
    assert bool(names.check_namespace_pattern(entry)) == bool(problem)


def test_app_name_boundaries() -> None:
    names.check_app_name("w" * 30)
    names.check_app_name("w")
    for bad in ("w" * 31, "Web", "web_1", "-web", ""):
        with pytest.raises(InvalidInputError) as info:
            names.check_app_name(bad)
        assert info.value.message == f"app name {bad!r} is not a DNS label of at most 30 characters"


def test_github_login_rules() -> None:
    for good in ("", "a", "Kim-Lee", "a" * 39, "a1-b2-c3"):
        names.check_github_login(good)
    for bad in ("a" * 40, "-kim", "kim-", "kim--lee", "kim_lee", "kim lee", "kim.lee"):
        with pytest.raises(InvalidInputError) as info:
            names.check_github_login(bad)
        assert info.value.message == f"GitHub login {bad!r} is not valid"


def test_label_value_rules() -> None:
    for good in ("", "a", "cs101", "2026-fall", "A.b_c-d", "x" * 63):
        names.check_label_value("course", good)
    for bad in ("x" * 64, "-a", "a-", ".a", "a b", "a/b"):
        with pytest.raises(InvalidInputError) as info:
            names.check_label_value("term", bad)
        assert info.value.message == f"term {bad!r} cannot be a Kubernetes label value"


def test_text_must_encode_as_utf8() -> None:
    names.check_text("name", "김민지")
    with pytest.raises(InvalidInputError) as info:
        names.check_text("name", "bad\udcff")
    assert info.value.message == "name 'bad\\udcff' is not valid text"
    assert isinstance(info.value.__cause__, UnicodeEncodeError)


def test_expiry_rules() -> None:
    today = dt.date(2027, 2, 28)
    names.check_expiry("2027-02-28", today=today)  # today itself is fine
    names.check_expiry("2027-03-01", today=today)
    with pytest.raises(InvalidInputError) as info:
        names.check_expiry("2027-02-27", today=today)
    assert info.value.message == "expiry date 2027-02-27 is in the past"
    with pytest.raises(InvalidInputError) as info:
        names.check_expiry("tomorrow", today=today)
    assert info.value.message == "expiry date 'tomorrow' is not a date"
    with pytest.raises(InvalidInputError) as info:
        names.check_expiry("20270301", today=today)  # ISO basic format: a date, but not ours
    assert info.value.message == "expiry date '20270301' is not YYYY-MM-DD"


def test_expiry_defaults_to_today() -> None:
    names.check_expiry(dt.date.today().isoformat())
    with pytest.raises(InvalidInputError, match="in the past"):
        names.check_expiry((dt.date.today() - dt.timedelta(days=1)).isoformat())


def hint(call: object, *args: object) -> str | None:
    with pytest.raises(InvalidInputError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.hint


def test_every_refusal_says_how_to_fix_it() -> None:
    assert hint(names.check_student_name, "Kim") == (
        "did you mean 'kim'? "
        "use lowercase letters, digits and '-', starting and ending with a letter or digit "
        "(e.g. 'kim-minji' or '202112345')"
    )
    assert hint(names.check_student_name, "a" * 31) == (
        "use at most 30, so that '<student>-<app>' Application names and host names stay within 63"
    )
    assert hint(names.check_student_name, "admin") == (
        "pick another name, e.g. prefix it with the course ('cs101-admin')"
    )
    assert hint(names.check_app_name, "Web") == (
        "use lowercase letters, digits and '-' (e.g. 'web' or 'api')"
    )
    assert hint(names.check_github_login, "-x") == (
        "use the user's GitHub username: letters, digits and single hyphens, max 39"
    )
    assert hint(names.check_label_value, "term", "-x") == (
        "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
        "digit (e.g. 'cs101' or '2026-fall')"
    )
    assert hint(names.check_text, "name", "\udcff") == "retype it"
    assert hint(names.check_expiry, "x") == "use YYYY-MM-DD, e.g. 2027-02-28"
    assert hint(names.check_expiry, "20270301") == "e.g. 2027-02-28"
    assert hint(names.check_expiry, "2001-01-01") == "give a date from today on"


# -- kuploy.yaml's reserved_namespaces ----------------------------------------------------------


def parse_reserved(value: object) -> config.PlatformConfig:
    return config.parse_config({**config.default_config_data(), "reserved_namespaces": value})


def test_kuploy_yaml_extends_the_reserved_names() -> None:
    cfg = parse_reserved(["gitlab", "lab-*", "gitlab"])
    assert cfg.extra_reserved == ("gitlab", "lab-*")
    reserved = cfg.reserved_namespaces()
    assert reserved >= names.RESERVED_NAMES
    assert {cfg.argocd_namespace, cfg.ingress_namespace, cfg.dns_namespace} <= reserved
    assert {a.namespace for a in cfg.addons} <= reserved
    for student, words in (("gitlab", "reserved for the platform"), ("lab-3", r"matches 'lab-\*'")):
        with pytest.raises(InvalidInputError, match=words):
            names.check_student_name(student, reserved)
    names.check_student_name("lab3", reserved)
    assert config.parse_config(config.default_config_data()).extra_reserved == ()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["Lab"], "'Lab' is not a namespace name or pattern"),
        (["lab-?"], "'lab-?' may use only '*' as a wildcard"),
        ([7], "7 is no name"),
        ("gitlab", "expected a list of namespaces like [monitoring], got 'gitlab'"),
    ],
)
def test_bad_reserved_namespaces_are_refused(value: object, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_reserved(value)
    assert info.value.message.startswith(f"kuploy.yaml: reserved_namespaces: {words}")
    assert "\n" not in info.value.message


def test_the_other_name_suggested_is_never_reserved_itself() -> None:
    with pytest.raises(InvalidInputError) as info:
        names.check_student_name("metallb-system")
    assert "cs101-" not in (info.value.hint or "")
    with pytest.raises(InvalidInputError) as info:
        names.check_student_name("monitoring")
    assert (
        info.value.hint == "pick another name, e.g. prefix it with the course ('cs101-monitoring')"
    )


@pytest.mark.parametrize(
    "value",
    ["Kim\x1b[31m Minji", "Kim\nMinji", "Kim\u202eijniM", "kim@x.kr\u200b", "Kim\x00"],
    ids=["ansi", "newline", "bidi-override", "zero-width", "nul"],
)
def test_names_and_emails_without_control_characters(value: str) -> None:
    with pytest.raises(InvalidInputError, match="holds the control character U\\+"):
        names.check_text("name", value, shown=True)
    names.check_text("name", "김민지 Kim-Minji O'Neil", shown=True)
    names.check_text("env PEM", value)  # an env value may hold line breaks


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27",
        "ghcr.io/org/app:1.0",
        "localhost:5000/a/b",
        "ghcr.io/nginxinc/nginx-unprivileged:1.27-alpine",
        "registry.example.org/a__b/c.d-e:v1",
        "ghcr.io/o/w@sha256:" + "a" * 64,
        "ghcr.io/o/w:1@sha256:" + "b" * 64,
    ],
)
def test_image_references_of_the_runtime_grammar(image: str) -> None:
    assert names.IMAGE_REFERENCE.match(image)


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/../x",
        "ghcr.io//x",
        "ghcr.io/o/w@sha256:xyz",
        "ghcr.io/org/App:1",
        ":1",
        "ghcr.io/o/w:",
        "a b",
        "x/",
        "ghcr.io/o/.hidden",
        "ghcr.io/o/w@sha256",
    ],
)
def test_malformed_image_references(image: str) -> None:
    assert not names.IMAGE_REFERENCE.match(image)


@pytest.mark.parametrize(
    ("typed", "label"),
    [("Park_Jisoo", "park-jisoo"), (" Kim  Min.Ji ", "kim-min-ji"), ("--x--", "x"), ("___", "")],
)
def test_the_nearest_valid_name_is_suggested(typed: str, label: str) -> None:
    assert names.suggest_label(typed) == label
