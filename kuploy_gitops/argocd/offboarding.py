"""Offboarding as Argo CD sees it: wait until a student's Applications and project are gone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kuploy_gitops import layout
from kuploy_gitops.argocd.client import ArgoCDClient
from kuploy_gitops.argocd.model import DEFAULT_WAIT
from kuploy_gitops.errors import ArgoCDError


@dataclass(frozen=True)
class OffboardCheck:
    """Whether a student's apps and project are gone from Argo CD, and what is left."""

    student: str
    gone: bool
    left: tuple[str, ...]


def _left_over(client: ArgoCDClient, student: str) -> list[str]:
    project = layout.project_name(student)
    left = []
    tenant_app = layout.tenant_application_name(student)
    try:
        apps = [client.get_application(tenant_app)]
    except ArgoCDError as exc:
        if exc.status != 404:
            raise
        apps = []
    apps += client.list_applications(projects=[project])
    for app in apps:
        meta = app.get("metadata") or {}
        deleting = " (deleting)" if meta.get("deletionTimestamp") else ""
        left.append(f"Application/{meta.get('name')}{deleting}")
    try:
        client.get_project(project)
    except ArgoCDError as exc:
        if exc.status != 404:
            raise
    else:
        left.append(f"AppProject/{project}")
    return left


def verify_offboarded(
    client: ArgoCDClient,
    student: str,
    *,
    timeout: float = DEFAULT_WAIT,
    interval: float = 3.0,
    progress: Callable[[list[str]], None] | None = None,
) -> OffboardCheck:
    """Wait until Argo CD has none of the student's Applications or AppProject left.

    Returns what is left when ``timeout`` passes. The ApplicationSet notices the removed tenant
    folder at its next poll of the repo (every 3 minutes by default, at once with its webhook)
    and deletes the tenant's Application, which deletes the rest in reverse sync-wave order.
    """
    deadline = client.clock() + timeout
    while True:
        left = _left_over(client, student)
        if progress is not None:
            progress(left)
        if not left:
            return OffboardCheck(student, True, ())
        if client.clock() >= deadline:
            return OffboardCheck(student, False, tuple(left))
        client.sleep(interval)


def ensure_offboarded(check: OffboardCheck, timeout: float) -> None:
    """Raise ArgoCDError naming what Argo CD still has of the student after ``timeout``."""
    if check.gone:
        return
    raise ArgoCDError(
        f"after {timeout:g}s Argo CD still has {', '.join(check.left)} of {check.student}",
        hint="was the offboarding commit pushed? check finalizers with `kuploy-gitops status`",
    )
