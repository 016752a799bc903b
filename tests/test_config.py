"""kuploy.yaml's Pod Security settings: the defaults new platforms get and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from kuploy_gitops import config
from kuploy_gitops.errors import ConfigError


def data(**pod_security: Any) -> dict[str, Any]:
    out = config.default_config_data()
    out["pod_security"].update(pod_security)
    return out


def test_new_platforms_enforce_restricted_and_run_as_10001() -> None:
    cfg = config.parse_config(config.default_config_data())
    assert (cfg.pss_enforce, cfg.pss_warn, cfg.pss_audit) == ("restricted",) * 3
    assert cfg.pss_run_as_user == 10001 == config.DEFAULT_RUN_AS_USER


def test_an_existing_config_keeps_its_level_and_may_leave_out_the_id() -> None:
    old = data(enforce="baseline")
    del old["pod_security"]["run_as_user"]  # a kuploy.yaml written before the key existed
    cfg = config.parse_config(old)
    assert cfg.pss_enforce == "baseline" and cfg.pss_warn == "restricted"
    assert cfg.pss_run_as_user == config.DEFAULT_RUN_AS_USER


@pytest.mark.parametrize("uid", [1, 1000, 2**31 - 1])
def test_run_as_user_is_any_non_root_id(uid: int) -> None:
    assert config.parse_config(data(run_as_user=uid)).pss_run_as_user == uid


@pytest.mark.parametrize("uid", [0, -5, 2**31, "10001", 10001.0, True, None, [1]])
def test_run_as_user_refuses_root_and_non_integers(uid: object) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse_config(data(run_as_user=uid), "kuploy.yaml")
    assert info.value.message == (
        f"kuploy.yaml: pod_security.run_as_user: {uid!r} is not a non-root user id "
        "(an integer from 1 to 2147483647)"
    )
    assert info.value.hint == "set it to the numeric USER of your images, e.g. 10001"
    assert "\n" not in info.value.message


def test_a_bad_level_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        config.parse_config(data(enforce="strict"), "kuploy.yaml")
    assert info.value.message == (
        "kuploy.yaml: pod_security.enforce: 'strict' is not one of privileged, baseline, restricted"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "HTTPS://ghcr.io/",
        "*",
        "ghcr.io/*",
        "ghcr.io/org/app:1.0",
        "ghcr.io/org@sha256:abc",
        "ghcr.io/org/ ",
        "ghcr.io/Org/",
        "",
        "/",
        5,
        "ghcr.io/",
        "ghcr.io",
        "localhost:5000/",
    ],
)
def test_registries_must_be_image_reference_prefixes(bad: object) -> None:
    data = config.default_config_data()
    data["registries"] = ["docker.io/library/", bad]
    with pytest.raises(ConfigError) as info:
        config.parse_config(data)
    assert f"registries[1]: {bad!r} is not a registry prefix" in info.value.message


@pytest.mark.parametrize("bad", [[], "ghcr.io/", None])
def test_registries_must_be_a_non_empty_list(bad: object) -> None:
    data = config.default_config_data()
    data["registries"] = bad
    with pytest.raises(ConfigError, match="not a non-empty list of registry prefixes"):
        config.parse_config(data)


def test_registry_prefixes_end_with_a_slash() -> None:
    data = config.default_config_data()
    data["registries"] = ["ghcr.io/konkuk-kuploy", "localhost:5000/lab", "docker.io/library/"]
    assert config.parse_config(data).registries == (
        "ghcr.io/konkuk-kuploy/",
        "localhost:5000/lab/",
        "docker.io/library/",
    )


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("{student}-{repo}", "may only use {student} and {app}"),
        ("{student}", "must contain {student} and {app} once each"),
        ("{student}-{app}-{app}", "must contain {student} and {app} once each"),
        ("{student}/{app}", "'{student}/{app}' does not make a repo name"),
    ],
)
def test_student_repo_name_pattern(pattern: str, why: str) -> None:
    data = config.default_config_data()
    data["github"]["student_repo_name"] = pattern
    with pytest.raises(ConfigError) as info:
        config.parse_config(data)
    assert f"github.student_repo_name: {why}" in info.value.message


def test_workflow_pip_defaults_to_this_exact_published_version() -> None:
    from kuploy_gitops import __version__, render

    cfg = config.parse_config(config.default_config_data())
    assert cfg.github.workflow_pip == ""
    assert render.kuploy_pip_requirement(cfg) == f"kuploy-gitops=={__version__}"


@pytest.mark.parametrize(
    "pip",
    [
        "kuploy-gitops @ git+https://git.example/kuploy@v1",  # split on spaces: three arguments
        "'kuploy-gitops==1.0'",
        "kuploy-gitops==${{ github.sha }}",
        "kuploy-gitops==1.0\n--pre",
    ],
)
def test_workflow_pip_must_split_into_pips_arguments(pip: str) -> None:
    broken = config.default_config_data()
    broken["github"]["workflow_pip"] = pip
    with pytest.raises(ConfigError) as info:
        config.parse_config(broken, "kuploy.yaml")
    assert info.value.message == (
        f"kuploy.yaml: github.workflow_pip: {pip!r} is not pip install arguments separated by "
        "spaces"
    )
    assert "--index-url" in info.value.hint
