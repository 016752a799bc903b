"""The rendered tree syncs, and is removed, in an order Argo CD can carry out.

Argo CD orders a sync by phase, then sync wave (lower first), then kind (its fixed kind list:
Namespace, NetworkPolicy, ResourceQuota, LimitRange, ..., Role, RoleBinding, ...; kinds not on
the list, such as AppProject and Application, come last), then name; a Namespace is also moved
before the first object in it. Deleting an Application that carries the resources finalizer
deletes its objects in reverse wave order, each wave only once the one above is gone. This file
rebuilds, from the rendered files alone, which Application owns which object (the root, the
ApplicationSet's one Application per tenant folder, the students' Applications) and checks the
orders those rules give.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kuploy_gitops import api, layout, yamlio

# Argo CD's kind order (gitops-engine's sync task sort, after Helm's install order).
KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]
# The guards wave: quota, limits, network policies, the student's RBAC, and the deployer's
# ServiceAccount and RBAC (what Argo CD syncs the student's apps as).
GUARDS = {"ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding", "ServiceAccount"}


@dataclass
class App:
    """An Application and the objects it syncs from git."""

    name: str
    project: str
    path: str
    objects: list[dict[str, Any]]
    finalizer: bool


def wave(obj: dict[str, Any]) -> int:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return int(annotations.get(layout.ANNOTATION_SYNC_WAVE, "0"))


def kind_rank(obj: dict[str, Any]) -> int:
    kind = obj["kind"]
    return KIND_ORDER.index(kind) - len(KIND_ORDER) if kind in KIND_ORDER else 0


def sync_order(objs: list[dict[str, Any]]) -> list[str]:
    """``Kind/name`` in the order one sync applies them."""
    ordered = sorted(objs, key=lambda o: (wave(o), kind_rank(o), o["metadata"]["name"]))
    # A Namespace moves before the first object that lives in it.
    for ns in [o for o in ordered if o["kind"] == "Namespace"]:
        name = ns["metadata"]["name"]
        first = next(
            (
                i
                for i, o in enumerate(ordered)
                if (o.get("metadata") or {}).get("namespace") == name
            ),
            None,
        )
        if first is not None and first < ordered.index(ns):
            ordered.remove(ns)
            ordered.insert(first, ns)
    return [f"{o['kind']}/{o['metadata']['name']}" for o in ordered]


def deletion_waves(objs: list[dict[str, Any]]) -> list[set[str]]:
    """The groups a cascading delete removes one after the other (highest wave first)."""
    waves = sorted({wave(o) for o in objs}, reverse=True)
    return [{f"{o['kind']}/{o['metadata']['name']}" for o in objs if wave(o) == w} for w in waves]


def folder_objects(repo: Path, folder: str) -> list[dict[str, Any]]:
    """What a source folder syncs: its YAML files (not sub-folders), or, for a kustomization
    (kuploy renders only plain ones), the files it lists placed in its namespace."""
    base = repo / folder
    kustomization = base / "kustomization.yaml"
    if kustomization.is_file():
        data = yamlio.load(kustomization.read_text())
        out = [o for name in data["resources"] for o in yamlio.load_all((base / name).read_text())]
        for obj in out:
            obj["metadata"].setdefault("namespace", data["namespace"])
        return out
    return [o for path in sorted(base.glob("*.yaml")) for o in yamlio.load_all(path.read_text())]


def from_template(template: dict[str, Any], basename: str) -> dict[str, Any]:
    text = yamlio.dump(template).replace("{{.path.basename}}", basename)
    loaded: dict[str, Any] = yamlio.load(text)
    return loaded


def applications(repo: Path) -> list[App]:
    """Every Application the rendered repo gives rise to, with what it syncs."""
    root = [
        o
        for o in yamlio.load_all((repo / layout.ROOT_APP_FILE).read_text())
        if o["kind"] == "Application"
    ][0]
    apps = [
        App(
            root["metadata"]["name"],
            root["spec"]["project"],
            root["spec"]["source"]["path"],
            folder_objects(repo, root["spec"]["source"]["path"]),
            layout.RESOURCES_FINALIZER in root["metadata"].get("finalizers", []),
        )
    ]
    todo = list(apps[0].objects)
    while todo:
        obj = todo.pop(0)
        if obj["kind"] == "ApplicationSet":
            (gen,) = obj["spec"]["generators"]
            (pattern,) = gen["git"]["directories"]
            base = pattern["path"].removesuffix("/*")
            for folder in sorted(p for p in (repo / base).iterdir() if p.is_dir()):
                todo.append(
                    {
                        "kind": "Application",
                        "apiVersion": "argoproj.io/v1alpha1",
                        **from_template(obj["spec"]["template"], folder.name),
                    }
                )
        elif obj["kind"] == "Application" and obj["metadata"]["name"] != root["metadata"]["name"]:
            source = obj["spec"]["source"]
            objs = (
                folder_objects(repo, source["path"])
                if source.get("repoURL") == root["spec"]["source"]["repoURL"]
                and (repo / source["path"]).is_dir()
                else []
            )
            apps.append(
                App(
                    obj["metadata"]["name"],
                    obj["spec"]["project"],
                    source.get("path", ""),
                    objs,
                    layout.RESOURCES_FINALIZER in obj["metadata"].get("finalizers", []),
                )
            )
            todo.extend(o for o in objs if o["kind"] in ("Application", "ApplicationSet"))
    return apps


@pytest.fixture
def repo(demo_repo: Path) -> Path:
    api.app_add(
        demo_repo,
        api.AppOptions(
            student="lee-jun",
            app="api",
            repo_url="https://github.com/konkuk-kuploy/lee-jun-api.git",
        ),
    )
    return demo_repo


def test_every_rendered_file_has_exactly_one_owner(repo: Path) -> None:
    apps = applications(repo)
    owned = [a.path for a in apps if a.objects]
    assert len(owned) == len(set(owned))
    cluster_folders = {
        p.parent.relative_to(repo).as_posix() for p in (repo / layout.CLUSTER_DIR).rglob("*.yaml")
    }
    assert cluster_folders <= set(owned), "a folder under apps/cluster no Application syncs"
    names = [a.name for a in apps]
    assert len(names) == len(set(names))


def test_no_application_holds_more_than_one_tenants_objects(repo: Path) -> None:
    apps = applications(repo)
    root = apps[0]
    assert {o["kind"] for o in root.objects} == {
        "AppProject",
        "Application",
        "ApplicationSet",
        "PriorityClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        *ADDON_CONFIG_KINDS,
        "StorageClass",
    }
    assert all(
        o["metadata"].get("labels", {}).get(layout.LABEL_OWNER) is None for o in root.objects
    )
    tenants = [a for a in apps if a.name.startswith(layout.TENANT_APP_PREFIX)]
    assert [a.name.removeprefix(layout.TENANT_APP_PREFIX) for a in tenants] == [
        "kim-minji",
        "lee-jun",
        "park-seoyeon",
    ]
    for tenant in tenants:
        student = tenant.name.removeprefix(layout.TENANT_APP_PREFIX)
        assert tenant.project == layout.TENANTS_PROJECT and tenant.finalizer
        assert tenant.objects
        for obj in tenant.objects:
            assert obj["metadata"]["labels"][layout.LABEL_OWNER] == student
            assert obj["metadata"].get("namespace") in (None, student, "argocd")
    students_apps = [
        a for a in apps if a not in tenants and a is not root and not a.name.startswith("platform-")
    ]
    for app in students_apps:
        assert app.finalizer  # removing it deletes the workloads
        assert all(o["metadata"]["namespace"] == app.project for o in app.objects)


def test_tenant_syncs_namespace_then_guards_then_project_then_apps(repo: Path) -> None:
    for tenant in applications(repo)[1:]:
        if not tenant.name.startswith(layout.TENANT_APP_PREFIX):
            continue
        order = sync_order(tenant.objects)
        kinds = [entry.split("/")[0] for entry in order]
        assert kinds[0] == "Namespace"
        last_guard = max(i for i, k in enumerate(kinds) if k in GUARDS)
        project = kinds.index("AppProject")
        assert last_guard < project, order
        assert all(i > project for i, k in enumerate(kinds) if k == "Application"), order


def test_root_syncs_projects_before_what_uses_them(repo: Path) -> None:
    root = applications(repo)[0]
    order = sync_order(root.objects)
    assert order.index(f"AppProject/{layout.TENANTS_PROJECT}") < order.index(
        f"ApplicationSet/{layout.TENANTS_APPSET}"
    )
    for entry in order:
        if entry.startswith("Application/"):
            assert order.index(f"AppProject/{layout.ADMIN_PROJECT}") < order.index(entry)
    # Tenant pods name the tenant PriorityClass: it exists before any tenant is synced.
    assert order.index(f"PriorityClass/{layout.TENANT_PRIORITY_CLASS}") < order.index(
        f"ApplicationSet/{layout.TENANTS_APPSET}"
    )


# The custom resources the root applies for add-ons, each served by the add-on (Application) that
# installs its CRD.
ADDON_CONFIG_KINDS = {
    "IPAddressPool": "platform-metallb",
    "L2Advertisement": "platform-metallb",
    "ClusterIssuer": "platform-cert-manager",
    "Certificate": "platform-cert-manager",
}


def test_root_syncs_addon_resources_after_the_addons_that_define_them(repo: Path) -> None:
    root = applications(repo)[0]
    order = sync_order(root.objects)
    found = set()
    for obj in root.objects:
        kind = obj["kind"]
        if kind not in ADDON_CONFIG_KINDS and kind != "StorageClass":
            continue
        found.add(kind)
        entry = f"{kind}/{obj['metadata']['name']}"
        if kind == "StorageClass":
            # Its provisioner (csi-driver-nfs) is installed first; the class itself needs no CRD.
            assert order.index("Application/platform-csi-driver-nfs") < order.index(entry)
            assert obj["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
            continue
        # A later wave than the add-on's Application, whose sync installs the CRD; the dry run
        # of the whole sync must not fail on the CRD that does not exist yet.
        assert wave(obj) > wave(
            next(o for o in root.objects if o["metadata"]["name"] == ADDON_CONFIG_KINDS[kind])
        )
        assert order.index(f"Application/{ADDON_CONFIG_KINDS[kind]}") < order.index(entry)
        options = obj["metadata"]["annotations"][layout.ANNOTATION_SYNC_OPTIONS]
        assert "SkipDryRunOnMissingResource=true" in options.split(","), entry
        # And before the tenants: their Ingresses are served with the wildcard certificate.
        assert order.index(entry) < order.index(f"ApplicationSet/{layout.TENANTS_APPSET}")
    assert found == {*ADDON_CONFIG_KINDS, "StorageClass"}


def test_offboarding_deletes_apps_then_project_then_guards_then_namespace(repo: Path) -> None:
    tenant = next(
        a for a in applications(repo) if a.name == layout.tenant_application_name("lee-jun")
    )
    groups = deletion_waves(tenant.objects)
    kinds = [{entry.split("/")[0] for entry in group} for group in groups]
    assert kinds[0] == {"Application"}  # both of lee-jun's apps first (their finalizers run)
    assert kinds[1] == {"AppProject"}  # then the project, no longer referenced
    assert kinds[2] == GUARDS
    assert kinds[3] == {"Namespace"}  # last: nothing is left in it


def test_offboarding_removes_exactly_one_tenant_application(repo: Path) -> None:
    before = {a.name: a.objects for a in applications(repo)}
    api.offboard(repo, "lee-jun")
    after = {a.name: a.objects for a in applications(repo)}
    gone = set(before) - set(after)
    assert gone == {layout.tenant_application_name("lee-jun"), "lee-jun-api"}
    assert all(after[name] == before[name] for name in after)
