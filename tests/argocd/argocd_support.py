"""Constants and helpers shared by the Argo CD tests (imported by conftest and test modules)."""

from __future__ import annotations

from typing import Any

from kuploy_gitops import config, manifests, tenant_spec
from kuploy_gitops.argocd.client import ArgoCDClient

ADMIN_TOKEN = "argocd-admin-token-DO-NOT-LEAK-7f3a9c"
PASSWORD = "pa55-w0rd-secret"


class FakeClock:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def tenant(student: str = "kim", *apps: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cfg = config.parse_config(config.default_config_data())
    spec = tenant_spec.TenantSpec(
        student=student,
        tier="small",
        github=f"{student}-gh",
        apps=tuple(
            tenant_spec.AppSpec(name=a, mode="managed", image="ghcr.io/org/web:1.0", port=8080)
            for a in apps or ("web",)
        ),
    )
    return manifests.app_project(cfg, spec), [
        manifests.application(cfg, spec, a) for a in spec.apps
    ]


def register(client: ArgoCDClient, student: str = "kim", *apps: str) -> None:
    project, objs = tenant(student, *apps)
    client.upsert_project(project)
    for obj in objs:
        client.upsert_application(obj)
