"""Builders for platform-level objects, as plain data: the root, projects, ApplicationSet, add-ons.

Tenant-level builders are in :mod:`kuploy_gitops.manifests`; like them these are pure functions
of the platform config, and :mod:`kuploy_gitops.render` dumps them.
"""

from __future__ import annotations

from kuploy_gitops import layout
from kuploy_gitops.config import Addon, PlatformConfig
from kuploy_gitops.manifests import GUARD_KINDS, Obj, sync_policy


def _platform_meta(name: str, namespace: str | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {layout.LABEL_MANAGED_BY: layout.MANAGED_BY, layout.LABEL_PART_OF: "kuploy"}
    return meta


def root_application(cfg: PlatformConfig) -> Obj:
    """The root: syncs ``apps/cluster/platform`` (projects, add-ons, the tenants' ApplicationSet).

    It owns a handful of objects whatever the number of tenants: each tenant's objects belong
    to that tenant's own Application (see :func:`tenants_application_set`).
    """
    meta = _platform_meta(layout.ROOT_APP_NAME, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_MANIFEST_PATHS: "."}
    source = {
        "repoURL": cfg.repo_url,
        "path": layout.PLATFORM_DIR,
        "targetRevision": cfg.target_revision,
    }
    return _admin_application(meta, source, cfg.argocd_namespace, sync_policy(prune_last=False))


def _admin_application(meta: Obj, source: Obj, namespace: str, policy: Obj) -> Obj:
    """An Application of the admin project, syncing ``source`` into ``namespace``."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": layout.ADMIN_PROJECT,
            "source": source,
            "destination": {"server": layout.IN_CLUSTER_SERVER, "namespace": namespace},
            "syncPolicy": policy,
        },
    }


# What a tenant's Application may sync (its AppProject's whitelists): the student's Namespace,
# the guards in it, and the student's AppProject and Applications in Argo CD's namespace.
TENANT_CLUSTER_KINDS: tuple[tuple[str, str], ...] = (("", "Namespace"),)
TENANT_NAMESPACED_KINDS: tuple[tuple[str, str], ...] = (
    *GUARD_KINDS,
    ("", "ServiceAccount"),
    ("argoproj.io", "AppProject"),
    ("argoproj.io", "Application"),
    # A student's databases (db add): the CloudNativePG Cluster, its backup volume and job.
    ("", "PersistentVolumeClaim"),
    ("batch", "CronJob"),
    ("postgresql.cnpg.io", "Cluster"),
    ("postgresql.cnpg.io", "ScheduledBackup"),
)


def tenants_project(cfg: PlatformConfig) -> Obj:
    """The AppProject of the tenant Applications: only the kinds a tenant folder renders."""
    return _platform_project(
        cfg,
        layout.TENANTS_PROJECT,
        "kuploy tenants: each student's namespace, guards, project and apps",
        [cfg.repo_url],
        {
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in TENANT_CLUSTER_KINDS],
            "namespaceResourceWhitelist": [
                {"group": g, "kind": k} for g, k in TENANT_NAMESPACED_KINDS
            ],
        },
    )


def _platform_project(
    cfg: PlatformConfig, name: str, description: str, repos: list[str], kinds: Obj
) -> Obj:
    """A platform AppProject: any namespace of this cluster, synced as the controller."""
    meta = _platform_meta(name, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_PLATFORM_PROJECTS}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": meta,
        "spec": {
            "description": description,
            "sourceRepos": repos,
            "destinations": [{"server": layout.IN_CLUSTER_SERVER, "namespace": "*"}],
            "destinationServiceAccounts": _controller_account(cfg),
            **kinds,
            "orphanedResources": {"warn": False},
        },
    }


def tenant_application_template(cfg: PlatformConfig, student: str) -> Obj:
    """The Application that owns one tenant's folder (``student`` may be a template string)."""
    meta: Obj = {
        "name": f"{layout.TENANT_APP_PREFIX}{student}",
        "labels": {
            layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
            layout.LABEL_PART_OF: layout.PART_OF,
            layout.LABEL_OWNER: student,
        },
        # Only a commit touching this tenant's folder refreshes its Application.
        "annotations": {layout.ANNOTATION_MANIFEST_PATHS: "."},
        # Deleting it (offboarding: the folder is gone) deletes the tenant in reverse waves.
        "finalizers": [layout.RESOURCES_FINALIZER],
    }
    return {
        "metadata": meta,
        "spec": {
            "project": layout.TENANTS_PROJECT,
            "source": {
                "repoURL": cfg.repo_url,
                "path": f"{layout.TENANT_MANIFESTS_DIR}/{student}",
                "targetRevision": cfg.target_revision,
            },
            "destination": {"server": layout.IN_CLUSTER_SERVER, "namespace": cfg.argocd_namespace},
            "syncPolicy": sync_policy(prune_last=False),
        },
    }


def tenant_application(cfg: PlatformConfig, student: str) -> Obj:
    """The Application the ApplicationSet makes for ``student`` (for the API and tests)."""
    app = tenant_application_template(cfg, student)
    app["metadata"]["namespace"] = cfg.argocd_namespace
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app}


def tenants_application_set(cfg: PlatformConfig) -> Obj:
    """One Application per folder under ``apps/cluster/tenants``, named after the student.

    The student's name comes from the folder name only (never from a file's contents), and the
    project is fixed: a tenant folder cannot choose where its Application syncs or under which
    rules. Removing a folder deletes that tenant's Application and, through its finalizer,
    everything it owns.
    """
    meta = _platform_meta(layout.TENANTS_APPSET, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_TENANTS_APPSET}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": meta,
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [
                {
                    "git": {
                        "repoURL": cfg.repo_url,
                        "revision": cfg.target_revision,
                        "directories": [{"path": f"{layout.TENANT_MANIFESTS_DIR}/*"}],
                    }
                }
            ],
            "syncPolicy": {"preserveResourcesOnDeletion": False},
            "template": tenant_application_template(cfg, "{{.path.basename}}"),
        },
    }


def admin_project(cfg: PlatformConfig) -> Obj:
    """The admin AppProject: the platform repo and the add-on charts, anywhere in-cluster."""
    return _platform_project(
        cfg,
        layout.ADMIN_PROJECT,
        "kuploy platform: the add-ons and the tenants' ApplicationSet",
        sorted({cfg.repo_url, *(a.repo_url for a in cfg.addons)}),
        {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]},
    )


def addon_application(cfg: PlatformConfig, addon: Addon) -> Obj:
    """An add-on installed from its Helm chart, pinned by version."""
    meta = _platform_meta(f"platform-{addon.name}", cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_ADDONS}
    meta["finalizers"] = [layout.RESOURCES_FINALIZER]
    source: Obj = {"repoURL": addon.repo_url, "chart": addon.chart, "targetRevision": addon.version}
    if addon.values:
        source["helm"] = {"releaseName": addon.name, "valuesObject": dict(addon.values)}
    else:
        source["helm"] = {"releaseName": addon.name}
    policy: Obj = {
        "automated": {"prune": True, "selfHeal": True, "allowEmpty": False},
        "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
    }
    return _admin_application(meta, source, addon.namespace, policy)


def _controller_account(cfg: PlatformConfig) -> list[Obj]:
    """Sync impersonation for the platform's own projects: the application controller itself.

    Once impersonation is on, every project needs a destination ServiceAccount; the platform's
    Applications (add-ons, tenants' namespaces and guards) keep the controller's rights.
    """
    return [
        {
            "server": layout.IN_CLUSTER_SERVER,
            "namespace": "*",
            "defaultServiceAccount": f"{cfg.argocd_namespace}:{layout.CONTROLLER_SA}",
        }
    ]
