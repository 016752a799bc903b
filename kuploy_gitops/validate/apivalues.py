"""The syntax of values the API server's validation code checks, and the helpers of the API rules.

Names (DNS labels and subdomains, IANA port names), label and annotation keys and values,
ConfigMap keys, port numbers, cron schedules, probe handlers and volume mounts: what
:mod:`.apirules` asks of each kind's fields, as the Kubernetes API reference states it. Every
issue is ``schema.invalid`` with a one-line message naming the path, the value and what is allowed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from kuploy_gitops.names import DNS_LABEL, LABEL_VALUE
from kuploy_gitops.validate.findings import SCHEMA_INVALID, Issue
from kuploy_gitops.validate.objects import Path_


def check_container(
    container: dict[str, Any],
    path: Path_,
    names: set[str],
    volumes: set[str],
    out: list[Issue],
) -> None:
    """Name, ports, env, probes and volume mounts of one container."""
    name = container.get("name")
    if isinstance(name, str) and name:
        if not dns_label(name):
            out.append(bad(path, "name", name, "a lowercase DNS label (a-z, 0-9, '-')"))
        elif name in names:
            out.append(bad(path, "name", name, "a name no other container of the pod has"))
        names.add(name)
    ports = container.get("ports")
    for i, port in enumerate(ports if isinstance(ports, list) else []):
        if isinstance(port, dict):
            check_port(port.get("containerPort"), (*path, "ports", i, "containerPort"), out)
            port_name = port.get("name")
            if isinstance(port_name, str) and port_name:
                check_port_name(port_name, (*path, "ports", i, "name"), out)
    env = container.get("env")
    for i, var in enumerate(env if isinstance(env, list) else []):
        if isinstance(var, dict) and given(var.get("value")) and given(var.get("valueFrom")):
            out.append(
                Issue(
                    SCHEMA_INVALID,
                    f"{dotted((*path, 'env', i))}: both value and valueFrom are set: give one",
                    (*path, "env", i, "valueFrom"),
                )
            )
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        spec = container.get(probe)
        if isinstance(spec, dict):
            handlers = [h for h in _PROBE_HANDLERS if given(spec.get(h))]
            if len(handlers) != 1:
                got = ", ".join(handlers) if handlers else "none"
                out.append(
                    Issue(
                        SCHEMA_INVALID,
                        f"{dotted((*path, probe))}: needs exactly one of "
                        f"{', '.join(_PROBE_HANDLERS)} (got {got})",
                        (*path, probe),
                    )
                )
    mounts = container.get("volumeMounts")
    for i, mount in enumerate(mounts if isinstance(mounts, list) else []):
        if isinstance(mount, dict):
            volume = mount.get("name")
            if isinstance(volume, str) and volume and volume not in volumes:
                out.append(
                    bad((*path, "volumeMounts", i), "name", volume, "the name of a pod volume")
                )


def check_metadata(meta: Any, path: Path_, out: list[Issue]) -> None:
    """Label keys and values, annotation keys (the syntax ObjectMeta validation requires)."""
    if not isinstance(meta, dict):
        return
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            if isinstance(key, str) and _qualified_name_problem(key):
                out.append(bad_key((*path, "labels"), key, _qualified_name_problem(key)))
            if isinstance(value, str) and not _label_value(value):
                out.append(
                    bad(
                        (*path, "labels"),
                        str(key),
                        value,
                        "at most 63 letters, digits, '-', '_' or '.', starting and ending "
                        "with a letter or digit",
                    )
                )
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in annotations:
            if isinstance(key, str) and _qualified_name_problem(key):
                out.append(bad_key((*path, "annotations"), key, _qualified_name_problem(key)))


def check_data_keys(obj: Mapping[str, Any], out: list[Issue]) -> None:
    """The keys of a ConfigMap's or Secret's data, binaryData and stringData."""
    for field in ("data", "binaryData", "stringData"):
        data = obj.get(field)
        if isinstance(data, dict):
            for key in data:
                if isinstance(key, str) and not _config_key(key):
                    out.append(
                        bad_key(
                            (field,),
                            key,
                            "at most 253 letters, digits, '-', '_' or '.' (not '.', not "
                            "starting with '..')",
                        )
                    )


def check_hpa(spec: dict[str, Any], out: list[Issue]) -> None:
    """An HPA's replica bounds: minReplicas at least 1, maxReplicas not below it."""
    low = spec.get("minReplicas")
    at_least(spec, ("spec",), "minReplicas", 1, out)
    high = spec.get("maxReplicas")
    if is_int(high):
        if high < 1:
            at_least(spec, ("spec",), "maxReplicas", 1, out)
        elif is_int(low) and high < low:
            out.append(
                Issue(
                    SCHEMA_INVALID,
                    f"spec.maxReplicas: {high} is less than minReplicas {low}",
                    ("spec", "maxReplicas"),
                )
            )


def check_schedule(schedule: Any, out: list[Issue]) -> None:
    """A cron schedule: five fields or a @macro; time zones go in spec.timeZone."""
    if not isinstance(schedule, str) or not schedule:
        return  # the schema's finding (it is required)
    if schedule.startswith(("TZ=", "CRON_TZ=")):
        problem = "a time zone goes in spec.timeZone, not in the schedule"
    elif schedule.startswith("@") or len(schedule.split()) == 5:
        return
    else:
        problem = "five fields (minute hour day-of-month month day-of-week) or a @macro like @daily"
    out.append(
        Issue(
            SCHEMA_INVALID,
            f"spec.schedule: {schedule!r} is not a schedule: {problem}",
            ("spec", "schedule"),
        )
    )


def at_least(node: dict[str, Any], path: Path_, field: str, low: int, out: list[Issue]) -> None:
    """``node[field]``, when an integer, is at least ``low``."""
    value = node.get(field)
    if is_int(value) and value < low:
        out.append(bad(path, field, value, f"{low} or more"))


def check_port(value: Any, path: Path_, out: list[Issue]) -> None:
    """A port number, when an integer, is 1 to 65535."""
    if is_int(value) and not 1 <= value <= 65535:
        out.append(
            Issue(SCHEMA_INVALID, f"{dotted(path)}: {value!r} is not a port: use 1 to 65535", path)
        )


def check_port_name(value: str, path: Path_, out: list[Issue]) -> None:
    """A named port (IANA service name): what container ports and target ports may be called."""
    if not _iana_svc_name(value):
        out.append(
            Issue(
                SCHEMA_INVALID,
                f"{dotted(path)}: {value!r} is not a port name: at most 15 lowercase letters, "
                "digits and single '-', with at least one letter",
                path,
            )
        )


def given(value: Any) -> bool:
    """Whether a field is set as the API server sees it (null and "" are not)."""
    return value is not None and value != "" and value != {} and value != []


def get_path(node: Any, path: Path_) -> Any:
    """The value at ``path`` (None where a step is missing or not a mapping)."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def required(path: Path_, what: str) -> Issue:
    """A required field that is missing, null or empty."""
    return Issue(SCHEMA_INVALID, f"{dotted(path)}: required: {what}", path)


def show(allowed: tuple[str, ...]) -> str:
    """Allowed values as a message shows them: ``'A', 'B'``."""
    return ", ".join(repr(a) for a in allowed)


def dotted(path: Path_) -> str:
    """A key path as the API server words it: ``spec.containers[0].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(object)"


def is_int(value: Any) -> TypeGuard[int]:
    """An integer, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def bad(path: Path_, field: str, value: Any, allowed: str) -> Issue:
    """``path.field`` holds a value that is not valid; ``allowed`` says what is."""
    where = (*path, field)
    return Issue(SCHEMA_INVALID, f"{dotted(where)}: {value!r} is not valid: use {allowed}", where)


def bad_key(path: Path_, key: str, allowed: str | None) -> Issue:
    """A key of the mapping at ``path`` that is not valid; ``allowed`` says what is."""
    return Issue(
        SCHEMA_INVALID, f"{dotted(path)}: key {key!r} is not valid: use {allowed}", (*path, key)
    )


_LABEL_NAME = re.compile(r"^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(
    r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$"
)
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
DATA_KINDS = frozenset({("", "ConfigMap"), ("", "Secret")})


@functools.lru_cache(maxsize=8192)
def _qualified_name_problem(key: str) -> str | None:
    """What is wrong with a label or annotation key (``prefix/name`` or ``name``), or None."""
    parts = key.split("/")
    if len(parts) > 2:
        return "an optional DNS prefix and a name, with at most one '/'"
    name = parts[-1]
    if len(parts) == 2 and not (
        parts[0] and len(parts[0]) <= 253 and DNS_SUBDOMAIN.match(parts[0])
    ):
        return "a lowercase DNS name before the '/' (e.g. app.kubernetes.io/name)"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            "a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with "
            "a letter or digit"
        )
    return None


@functools.lru_cache(maxsize=8192)
def _label_value(value: str) -> bool:
    return len(value) <= 63 and LABEL_VALUE.match(value) is not None


def dns_label(value: str) -> bool:
    """A lowercase RFC 1123 label (container names, Service port names)."""
    return len(value) <= 63 and DNS_LABEL.match(value) is not None


def dns_subdomain(value: str) -> bool:
    """A lowercase RFC 1123 subdomain (hosts, label key prefixes)."""
    return len(value) <= 253 and DNS_SUBDOMAIN.match(value) is not None


def _iana_svc_name(value: str) -> bool:
    return (
        len(value) <= 15
        and _IANA_SVC_NAME.match(value) is not None
        and any("a" <= ch <= "z" for ch in value)
    )


def _config_key(key: str) -> bool:
    return (
        len(key) <= 253
        and key != "."
        and not key.startswith("..")
        and _CONFIG_KEY.match(key) is not None
    )
