"""Reading the cluster's Node objects: a ``kubectl get nodes -o json`` file, or the API itself.

The live read is one paged ``GET /api/v1/nodes`` with what a kubeconfig holds (server, CA,
and a bearer token, a client certificate or a user name and password), as kubectl sends it:
no kubectl needed. Exec plugins and auth providers (cloud logins) are not run; the error says
to save ``kubectl get nodes -o json`` to a file instead. Credentials never reach a message.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kuploy_gitops import yamlio
from kuploy_gitops.errors import InvalidInputError, KuployError

PAGE = 500
TIMEOUT = 15.0
FILE_HINT = "save them with `kubectl get nodes -o json > nodes.json` and pass --nodes nodes.json"


def read_nodes_file(path: Path) -> list[Any]:
    """The Node objects of a ``kubectl get nodes -o json`` file (a List, or one Node).

    Raises:
        InvalidInputError: the file is missing, not JSON, or holds no Node list.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            f"--nodes {path}: cannot read it ({exc.strerror or exc})", hint=FILE_HINT
        ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", "?")
        raise InvalidInputError(
            f"--nodes {path}: not JSON (line {line})", hint=FILE_HINT + " (-o json, not yaml)"
        ) from None
    return node_items(data, f"--nodes {path}")


def node_items(data: Any, where: str) -> list[Any]:
    """The items of a NodeList/List (or a single Node) as the API or kubectl print them."""
    if isinstance(data, Mapping) and data.get("kind") == "Node":
        return [data]
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        return list(data["items"])
    raise InvalidInputError(f"{where}: not a list of Node objects", hint=FILE_HINT)


def _kubeconfig(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            f"--kubeconfig {path}: cannot read it ({exc.strerror or exc})",
            hint="give the kubeconfig kubectl uses (e.g. ~/.kube/config)",
        ) from None
    try:
        data = yamlio.load(text, source=str(path))
    except KuployError:
        data = None
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"--kubeconfig {path}: not a kubeconfig (YAML with clusters, users and contexts)",
            hint="give the kubeconfig kubectl uses (e.g. ~/.kube/config)",
        )
    return data


def _named(data: Mapping[str, Any], section: str, name: str, path: Path) -> Mapping[str, Any]:
    for entry in data.get(section) or ():
        if isinstance(entry, Mapping) and entry.get("name") == name:
            inner = entry.get(section[:-1])
            if isinstance(inner, Mapping):
                return inner
    raise InvalidInputError(
        f"--kubeconfig {path}: no {section[:-1]} named {name!r}",
        hint=f"check `kubectl config view --kubeconfig {path}`",
    )


def _material(entry: Mapping[str, Any], key: str, base: Path, tmp: Path) -> str | None:
    """A file holding ``key``'s PEM: ``<key>-data`` (base64) written to ``tmp``, or ``key``."""
    data = entry.get(f"{key}-data")
    if data:
        out = tmp / key
        out.write_bytes(base64.b64decode(str(data)))
        return str(out)
    file = entry.get(key)
    return str(base / str(file)) if file else None


def read_nodes_api(path: Path, context: str | None = None) -> tuple[list[Any], str]:
    """Every Node of the cluster a kubeconfig points at, and that server's URL.

    Raises:
        InvalidInputError: the kubeconfig is unreadable or lacks a server or usable credentials,
            or the API server cannot be reached or refuses the read.
    """
    import httpx

    data = _kubeconfig(path)
    ctx_name = context or str(data.get("current-context") or "")
    if not ctx_name:
        raise InvalidInputError(
            f"--kubeconfig {path}: no current-context", hint="pass --context NAME"
        )
    ctx = _named(data, "contexts", ctx_name, path)
    cluster = _named(data, "clusters", str(ctx.get("cluster") or ""), path)
    user = _named(data, "users", str(ctx.get("user") or ""), path) if ctx.get("user") else {}
    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise InvalidInputError(
            f"--kubeconfig {path}: cluster {ctx.get('cluster')!r} has no server URL",
            hint="set clusters[].cluster.server (e.g. https://10.0.0.1:6443) or use another "
            "kubeconfig",
        )
    if "exec" in user or "auth-provider" in user:
        raise InvalidInputError(
            f"--kubeconfig {path}: user {ctx.get('user')!r} logs in through a plugin, which "
            "kuploy-gitops does not run",
            hint=FILE_HINT,
        )
    base = path.parent
    headers = {"Accept": "application/json"}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            token = (base / str(user["tokenFile"])).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidInputError(
                f"--kubeconfig {path}: cannot read its tokenFile ({exc.strerror or exc})",
                hint="fix the path in the kubeconfig",
            ) from None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    auth = None
    if user.get("username"):
        auth = (str(user["username"]), str(user.get("password") or ""))
    with tempfile.TemporaryDirectory(prefix="kuploy-kubeconfig-") as tmp_dir:
        tmp = Path(tmp_dir)
        tls = _tls(path, cluster, user, base, tmp)
        try:
            with httpx.Client(
                base_url=server, verify=tls, headers=headers, auth=auth, timeout=TIMEOUT
            ) as client:
                return _list_nodes(client, server), server
        except httpx.HTTPError as exc:
            raise InvalidInputError(
                f"cannot read the nodes from {server} ({type(exc).__name__}: {exc})",
                hint=f"check that the API server is up and the kubeconfig current, or {FILE_HINT}",
            ) from None


def _tls(
    path: Path, cluster: Mapping[str, Any], user: Mapping[str, Any], base: Path, tmp: Path
) -> ssl.SSLContext:
    """The TLS context of the kubeconfig's CA and client certificate (files in ``tmp``)."""
    try:
        tls = ssl.create_default_context(
            cafile=_material(cluster, "certificate-authority", base, tmp)
        )
        if cluster.get("insecure-skip-tls-verify"):
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        cert = _material(user, "client-certificate", base, tmp)
        if cert:
            tls.load_cert_chain(cert, _material(user, "client-key", base, tmp))
    except (OSError, ValueError, ssl.SSLError) as exc:  # binascii.Error is a ValueError
        # The exception's text names files and reasons, never the key material itself.
        raise InvalidInputError(
            f"--kubeconfig {path}: its CA or client certificate cannot be used "
            f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc})",
            hint="check certificate-authority(-data) and client-certificate/-key(-data) "
            "with `kubectl config view --raw`",
        ) from None
    return tls


def _list_nodes(client: Any, server: str) -> list[Any]:
    items: list[Any] = []
    cont = ""
    while True:
        params = {"limit": str(PAGE), **({"continue": cont} if cont else {})}
        reply = client.get("/api/v1/nodes", params=params)
        if reply.status_code != 200:
            reason = reply.reason_phrase
            if reply.status_code in (401, 403):
                reason += ": these credentials may not list nodes (they need get/list on nodes)"
            raise InvalidInputError(
                f"{server} answered {reply.status_code} to GET /api/v1/nodes ({reason})",
                hint=f"use an admin kubeconfig, or {FILE_HINT}",
            )
        try:
            page = reply.json()
        except ValueError:
            raise InvalidInputError(
                f"{server} answered GET /api/v1/nodes with something other than JSON",
                hint=f"check that the kubeconfig's server is the API server, or {FILE_HINT}",
            ) from None
        items += node_items(page, server)
        cont = str((page.get("metadata") or {}).get("continue") or "")
        if not cont:
            return items
