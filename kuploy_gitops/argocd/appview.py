"""``app show``: an app from the platform repo, with Argo CD's sync and health when reachable.

The repo part (:func:`kuploy_gitops.ops.appchange.app_show`) never needs Argo CD; Argo CD is
asked once, with a short timeout and no retries, and an Argo CD that is not configured or does
not answer is one line in the result, not an error: ``app show`` is what an admin runs while
the cluster is down, too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kuploy_gitops.argocd import localconfig, ops
from kuploy_gitops.argocd.client import ArgoCDClient, Transport
from kuploy_gitops.argocd.model import SHOW_TIMEOUT
from kuploy_gitops.errors import ArgoCDError, ConfigError, CredentialsError
from kuploy_gitops.ops import appchange


def show(
    repo: Path,
    student: str,
    app: str,
    opts: ops.ConnectOptions | None = None,
    *,
    ask_argocd: bool = True,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
) -> dict[str, Any]:
    """The app as :func:`appchange.app_show` gives it, plus ``argocd``: its live status.

    ``argocd`` is the :func:`ops.status` row of the app with ``reachable: true``, or
    ``{"reachable": false, "reason": ...}`` when Argo CD is not configured (no server, no
    credentials), does not answer within the timeout, or refuses the call. ``ask_argocd=False``
    leaves it out. Bad connection options (``--timeout 0``) are still errors.
    """
    data = appchange.app_show(repo, student, app)
    if ask_argocd:
        data["argocd"] = live_status(
            repo, student, app, opts or ops.ConnectOptions(timeout=SHOW_TIMEOUT), env, transport
        )
    return data


def live_status(
    repo: Path,
    student: str,
    app: str,
    opts: ops.ConnectOptions,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
) -> dict[str, Any]:
    """Argo CD's status row of one app, or why there is none (never raises for Argo CD)."""
    env = os.environ if env is None else env
    try:
        conn = ops.resolve_connection(repo, opts, env)
    except ConfigError as exc:
        return {"reachable": False, "reason": f"not configured: {exc.message}"}
    try:
        creds = localconfig.credentials_for(conn.server, env)
    except (ConfigError, CredentialsError) as exc:
        return {"reachable": False, "reason": f"not configured: {exc.message}"}
    # One try: a retry with back-off would make an unreachable server cost seconds more.
    client = ArgoCDClient(replace(conn, retries=0), creds, transport=transport)
    try:
        with client:
            row = ops.app_status(client, student, app)
    except ArgoCDError as exc:
        return {"reachable": False, "reason": exc.message}
    return {"reachable": True, **row}
