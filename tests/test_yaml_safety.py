"""No input can change the YAML structure: every value stays the same string."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuploy_gitops import api, config, layout, render, yamlio

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
    spec = config.TenantSpec(
        student="kim",
        tier="small",
        name=name,
        email=f"{email_user}@x.example",
        apps=(
            config.AppSpec(
                name="web",
                mode="managed",
                image="ghcr.io/o/w:1",
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
    assert config.parse_spec(yamlio.load(config.dump_spec(spec)), "s") == spec


def test_hostile_name_through_the_whole_flow(platform: Path) -> None:
    hostile = 'x"\n---\nkind: Secret\n#: {{ evil }}'
    api.onboard(platform, api.OnboardOptions(student="kim", name=hostile))
    docs = yamlio.load_all((platform / layout.tenant_file("kim", "namespace.yaml")).read_text())
    assert len(docs) == 1 and docs[0]["kind"] == "Namespace"
    spec = config.read_spec(platform, "kim")
    assert spec is not None and spec.name == hostile
