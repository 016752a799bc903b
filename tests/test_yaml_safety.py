"""No input can change the YAML structure: every value stays the same string."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuploy_gitops import api, config, layout, render, tenant_spec, yamlio
from kuploy_gitops.errors import InvalidInputError

# Any unicode text that can be encoded (no lone surrogates, which no file can hold).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
TRICKY = st.sampled_from(
    [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "~",
        "null",
        "NULL",
        "true",
        "1e3",
        "0o17",
        "0x1f",
        "1_000",
        "2027-01-01",
        "12:30:00",
        ".inf",
        "-.nan",
        "",
        " ",
        "- x",
        "? x",
        ": x",
        "x: y",
        "#c",
        "a #c",
        "{{ x }}",
        "{% if %}",
        "---",
        "...",
        "'",
        '"',
        "\\",
        "|",
        ">",
        "*a",
        "&a",
        "!tag",
        "%YAML",
        "@x",
        "`x",
        "[a]",
        "{a: b}",
        "a\nb",
        "\u2028",
        "\x85",
        "\ufeff",
        "\t",
        "김민지",
        "a\r\nb",
        "\x00",
        "\x7f",
    ]
)
VALUES = st.one_of(TEXT, TRICKY)


@settings(max_examples=300, deadline=None)
@given(key=VALUES, value=VALUES, nested=st.lists(VALUES, max_size=4))
def test_dump_round_trips_any_string(key: str, value: str, nested: list[str]) -> None:
    data = {"a": value, key or "k": {"list": nested, "v": value}}
    text = yamlio.dump(data, header="h")
    assert yamlio.load(text) == data
    # Also under YAML 1.2 rules (ruamel), as go-yaml v3 would read it.
    from ruamel.yaml import YAML

    assert YAML(typ="safe", pure=True).load(text) == data


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_template_quote_filter_round_trips(value: str) -> None:
    text = f"a: {render.yaml_quote(value)}\nb: 1\n"
    assert yamlio.load(text) == {"a": value, "b": 1}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=VALUES,
    email_user=st.sampled_from(["a", "x'y", "q#w"]),
    env=VALUES,
    health=st.text(st.characters(blacklist_categories=("Cs", "Z", "Cc")), max_size=10),
)
def test_arbitrary_inputs_stay_strings_in_rendered_files(
    tmp_path_factory: pytest.TempPathFactory, name: str, email_user: str, env: str, health: str
) -> None:
    cfg = config.parse_config(config.default_config_data())
    spec = tenant_spec.TenantSpec(
        student="kim",
        tier="small",
        name=name,
        email=f"{email_user}@x.example",
        apps=(
            tenant_spec.AppSpec(
                name="web",
                mode="managed",
                image="ghcr.io/konkuk-kuploy/w:1",
                port=80,
                env=(("VAR", env),),
                health_path="/" + health,
            ),
        ),
    )
    files = render.render_tenant(cfg, spec)
    (ns,) = yamlio.load_all(files[layout.tenant_file("kim", "namespace.yaml")])
    if name:
        assert ns["metadata"]["annotations"]["kuploy.io/owner-name"] == name
    dep_text = files[layout.workload_dir("kim", "web") + "/deployment.yaml"]
    (dep,) = yamlio.load_all(dep_text)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "VAR", "value": env}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/" + health
    assert tenant_spec.parse_spec(yamlio.load(tenant_spec.dump_spec(spec)), "s") == spec


def test_hostile_name_through_the_whole_flow(platform: Path) -> None:
    # Line breaks are refused at the door (names are shown in tables); everything else that
    # could bend YAML goes through, quoted.
    with pytest.raises(InvalidInputError, match="control character U\\+000A"):
        api.onboard(platform, api.OnboardOptions(student="kim", name='x"\n---\nkind: Secret'))
    hostile = 'x" --- kind: Secret #: {{ evil }} &a *a !!binary | > '
    api.onboard(platform, api.OnboardOptions(student="kim", name=hostile))
    docs = yamlio.load_all((platform / layout.tenant_file("kim", "namespace.yaml")).read_text())
    assert len(docs) == 1 and docs[0]["kind"] == "Namespace"
    spec = tenant_spec.read_spec(platform, "kim")
    assert spec is not None and spec.name == hostile


# The fast emitter in yamlio must write exactly the bytes ruamel writes, for every document
# it accepts (it hands everything else to ruamel).
SCALARS = st.one_of(VALUES, st.integers(-(10**12), 10**12), st.booleans())
KEYS = st.one_of(TRICKY, st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
DOCS = st.recursive(
    st.dictionaries(KEYS, SCALARS, min_size=1, max_size=4),
    lambda children: st.dictionaries(
        KEYS,
        st.one_of(SCALARS, children, st.lists(st.one_of(SCALARS, children), max_size=3)),
        min_size=1,
        max_size=4,
    ),
    max_leaves=12,
)


def check_fast_emitter(doc: dict[str, object]) -> None:
    import io

    fast = yamlio._fast_dump(doc)
    buf = io.StringIO()
    yamlio._ruamel().yaml.dump(doc, buf)
    if fast is not None:
        assert fast == buf.getvalue()
    assert yamlio.load(yamlio.dump(doc)) == doc


@settings(max_examples=300, deadline=None)
@given(doc=DOCS)
def test_fast_emitter_matches_ruamel_byte_for_byte(doc: dict[str, object]) -> None:
    check_fast_emitter(doc)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None)
@given(doc=DOCS)
def test_fast_emitter_matches_ruamel_on_many_more_documents(doc: dict[str, object]) -> None:
    check_fast_emitter(doc)


def test_fast_emitter_covers_rendered_manifests(demo_repo: Path) -> None:
    import io

    covered = 0
    for path in sorted((demo_repo / layout.CLUSTER_DIR).rglob("*.yaml")):
        for doc in yamlio.load_all(path.read_text()):
            fast = yamlio._fast_dump(doc)
            buf = io.StringIO()
            yamlio._ruamel().yaml.dump(doc, buf)
            if fast is not None:
                covered += 1
                assert fast == buf.getvalue(), path
    assert covered > 20


NAMES = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_./-]{0,12}", fullmatch=True),
    st.sampled_from(["yes", "No", "ON", "off", "y", "N", "true", "False", "null", "Null"]),
)
# Strings starting with a letter share ruamel's analysis by shape (letters and digits aside):
# the result must still be ruamel's, whatever punctuation, spaces and quotes sit where.
SHAPES = st.from_regex(
    r"[A-Za-z][A-Za-z0-9 ,:#'\"!@%&*|>?=\-\[\]{}()/.~`^$+;<\\]{0,16}", fullmatch=True
)


def check_plain_name(value: str) -> None:
    import io

    buf = io.StringIO()
    yamlio._ruamel().yaml.dump({"k": value}, buf)
    assert yamlio._fast_dump({"k": value}) == buf.getvalue()
    assert yamlio.load(buf.getvalue()) == {"k": value}


def check_shape(value: str) -> None:
    import io

    buf = io.StringIO()
    yamlio._ruamel().yaml.dump({"k": value}, buf)
    fast = yamlio._fast_dump({"k": value})
    if fast is not None:
        assert fast == buf.getvalue()
    assert yamlio.load(buf.getvalue()) == {"k": value}


@settings(max_examples=300, deadline=None)
@given(value=NAMES)
def test_the_plain_name_shortcut_writes_what_ruamel_writes(value: str) -> None:
    check_plain_name(value)


@pytest.mark.slow  # the exhaustive variant (docs/testing.md)
@settings(max_examples=3000, deadline=None)
@given(value=NAMES)
def test_the_plain_name_shortcut_on_many_more_names(value: str) -> None:
    check_plain_name(value)


@settings(max_examples=400, deadline=None)
@given(value=SHAPES)
def test_the_shape_shortcut_writes_what_ruamel_writes(value: str) -> None:
    check_shape(value)


@pytest.mark.slow  # the exhaustive variant (docs/testing.md)
@settings(max_examples=5000, deadline=None)
@given(value=SHAPES)
def test_the_shape_shortcut_on_many_more_strings(value: str) -> None:
    check_shape(value)
