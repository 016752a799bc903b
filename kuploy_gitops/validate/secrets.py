"""Credentials in plain text where a Secret belongs: ConfigMaps, env, arguments, sealed templates.

A Secret with data is :data:`~.findings.SECRET_DATA`; this is its companion for values that are
not in a Secret at all. Only the shapes of well-known credentials are recognised (an API key's
prefix, a private key's PEM header, a URL with a password), so an ordinary value is never taken
for one; obvious placeholders (``changeme``, ``${VAR}``, ``$(VAR)``, ``<token>``, ``xxxx``,
``...EXAMPLE``) are not credentials either. A finding names where the value is and what it looks
like, never the value: findings are printed in CI logs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any

from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import pss
from kuploy_gitops.validate.credentials import credential_kind
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map, group_of, meta


def check_plaintext(obj: Mapping[str, Any]) -> list[Issue]:
    """Credentials in plain text, and a SealedSecret sealed wider than strict (a warning).

    Plain text: a ConfigMap's data/binaryData, a container's env values and arguments, a
    SealedSecret's template data.
    """
    out: list[Issue] = []
    kind = obj.get("kind")
    if kind == "ConfigMap" and not group_of(obj):
        name = meta(obj).get("name")
        for key, what in _config_values(obj):
            out.append(
                Issue(
                    F.SECRET_PLAINTEXT,
                    f"ConfigMap {name!r} key {key!r} holds what looks like {what}",
                    ("binaryData" if key in as_map(obj.get("binaryData")) else "data", key),
                )
            )
    if kind == "SealedSecret" and group_of(obj) == "bitnami.com":
        out.extend(_sealed_template(obj))
        out.extend(_sealed_scope(obj))
    template = pss.pod_template(obj)
    if template is not None:
        base = (*template[0], "spec")
        for path, where, what in _container_values(template[2]):
            out.append(
                Issue(F.SECRET_PLAINTEXT, f"{where} holds what looks like {what}", (*base, *path))
            )
    return out


def _sealed_template(obj: Mapping[str, Any]) -> Iterator[Issue]:
    """Credentials in a SealedSecret's ``spec.template.data``, which is not encrypted.

    The controller copies those values into the Secret as they are (templates over the sealed
    keys), so they are plain text in git, unlike ``encryptedData``.
    """
    name = meta(obj).get("name")
    data = as_map(as_map(as_map(obj.get("spec")).get("template")).get("data"))
    for key, value in data.items():
        what = credential_kind(value) if isinstance(value, str) else None
        if what:
            yield Issue(
                F.SECRET_PLAINTEXT,
                f"SealedSecret {name!r} template data {key!r} holds what looks like {what} "
                "(template data is not encrypted)",
                ("spec", "template", "data", str(key)),
            )


# The controller's scope annotations (sealed-secrets pkg/apis/sealedsecrets/v1alpha1/types.go).
_WIDE_SCOPES = ("namespace-wide", "cluster-wide")


def _sealed_scope(obj: Mapping[str, Any]) -> Iterator[Issue]:
    """A SealedSecret whose annotation says it was sealed for a wider scope than strict."""
    annotations = as_map(meta(obj).get("annotations"))
    for scope in _WIDE_SCOPES:
        key = f"sealedsecrets.bitnami.com/{scope}"
        if annotations.get(key) == "true":
            yield Issue(
                F.SECRET_SEALED_SCOPE,
                f"SealedSecret {meta(obj).get('name')!r} is sealed {scope}, not strict",
                ("metadata", "annotations", key),
            )
            return


def _config_values(obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in as_map(obj.get("data")).items():
        what = credential_kind(value) if isinstance(value, str) else None
        if what:
            yield str(key), what
    for key, value in as_map(obj.get("binaryData")).items():
        what = credential_kind(_decoded(value)) if isinstance(value, str) else None
        if what:
            yield str(key), what


def _decoded(value: str) -> str:
    """The text of a base64 value ("" when it is not base64 or not text)."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""


def _container_values(spec: Mapping[str, Any]) -> Iterator[tuple[Path_, str, str]]:
    """(path in the pod spec, where in words, what) of each credential in a container."""
    for cpath, c in pss.containers(spec):
        cname = c.get("name", cpath[1])
        env = c.get("env")
        for i, var in enumerate(env if isinstance(env, list) else []):
            value = as_map(var).get("value")
            what = credential_kind(value) if isinstance(value, str) else None
            if what:
                where = f"container {cname!r} env {as_map(var).get('name')!r}"
                yield (*cpath, "env", i, "value"), where, what
        for field in ("command", "args"):
            items = c.get(field)
            for i, item in enumerate(items if isinstance(items, list) else []):
                what = credential_kind(item) if isinstance(item, str) else None
                if what:
                    yield (*cpath, field, i), f"container {cname!r} {field}[{i}]", what
