"""How many objects each Argo CD Application owns when the platform has N tenants (a script).

Renders N tenants (one platform-managed app each, as the validate benchmark does) with the real
renderer, in memory, and counts the objects every Application syncs:

- the root Application (``apps/cluster/platform``: projects, add-ons, the ApplicationSet);
- one tenant Application per tenant folder (made by the ApplicationSet);
- one Application per student app (its workload folder);

and, for comparison in the same run, what the root owned before this design (all of
``apps/cluster``, recursively). It also estimates the size of each Application's
``status.resources`` list (one entry per object, JSON), which lives in the Application object
in etcd (1.5 MiB request limit by default).

Usage::

    python benchmarks/argocd_scale.py                 # N = 5,000
    python benchmarks/argocd_scale.py --tenants 100 1000 5000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from kuploy_gitops import config, layout, platform_manifests, render, yamlio  # noqa: E402
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec  # noqa: E402


def status_entry(obj: dict[str, object]) -> int:
    """Bytes of one ``status.resources`` entry for ``obj`` (as Argo CD stores it, roughly)."""
    meta = obj.get("metadata") or {}
    assert isinstance(meta, dict)
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    entry = {
        "group": group,
        "version": version,
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name"),
        "status": "Synced",
        "health": {"status": "Healthy"},
    }
    return len(json.dumps(entry))


def measure(tenants: int) -> dict[str, object]:
    cfg = config.parse_config(config.default_config_data())
    files = dict(render.render_platform(cfg))
    start = time.perf_counter()
    for i in range(tenants):
        spec = TenantSpec(
            student=f"student-{i:05d}",
            github=f"gh-student-{i:05d}",
            tier="small",
            course="cs101",
            term="2026-fall",
            apps=(
                AppSpec(
                    name="web",
                    mode="managed",
                    image="ghcr.io/konkuk-kuploy/web:1.0",
                    port=8080,
                    size="tiny",
                ),
            ),
        )
        files.update(render.render_tenant(cfg, spec))
    render_s = time.perf_counter() - start
    owners: dict[str, list[dict[str, object]]] = {}
    for path, text in files.items():
        if path == layout.ROOT_APP_FILE or not path.endswith(".yaml"):
            continue
        if path.endswith("/kustomization.yaml"):
            continue  # kustomize's own file: not an object
        folder = path.rsplit("/", 1)[0]
        if folder == layout.PLATFORM_DIR:
            owner = layout.ROOT_APP_NAME
        elif folder.startswith(layout.TENANT_MANIFESTS_DIR + "/"):
            owner = layout.tenant_application_name(folder.rsplit("/", 1)[1])
        else:  # apps/workloads/<student>/<app>
            _, _, student, app = folder.split("/")
            owner = layout.application_name(student, app)
        owners.setdefault(owner, []).extend(yamlio.load_all(text))
    counts = {name: len(objs) for name, objs in owners.items()}
    status = {name: sum(status_entry(o) for o in objs) for name, objs in owners.items()}
    # Before: the root synced all of apps/cluster (the platform and every tenant's folder).
    before = [
        o
        for name, objs in owners.items()
        if name == layout.ROOT_APP_NAME or name.startswith(layout.TENANT_APP_PREFIX)
        for o in objs
    ]
    # The ApplicationSet's status lists every Application it made.
    appset_status = sum(
        status_entry(
            platform_manifests.tenant_application(cfg, name.removeprefix(layout.TENANT_APP_PREFIX))
        )
        for name in owners
        if name.startswith(layout.TENANT_APP_PREFIX)
    )
    kinds = Counter(str(o["kind"]) for o in owners[layout.ROOT_APP_NAME])
    biggest = max(counts, key=lambda n: counts[n])
    return {
        "tenants": tenants,
        "applications": len(counts),
        "root_objects": counts[layout.ROOT_APP_NAME],
        "root_kinds": dict(sorted(kinds.items())),
        "max_objects": counts[biggest],
        "max_application": biggest,
        "median_objects": statistics.median(counts.values()),
        "max_status_kib": round(max(status.values()) / 1024, 1),
        "appset_status_kib": round(appset_status / 1024, 1),
        "before_root_objects": len(before),
        "before_root_status_kib": round(sum(status_entry(o) for o in before) / 1024, 1),
        "render_s": round(render_s, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[5000])
    args = parser.parse_args()
    print(
        "| tenants | Applications | root owns | largest Application | its objects | median "
        "| largest status | ApplicationSet status | root before (objects) | root before "
        "(status) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.tenants:
        r = measure(n)
        print(
            f"| {n:,} | {r['applications']:,} | {r['root_objects']} | {r['max_application']} "
            f"| {r['max_objects']} | {r['median_objects']} | {r['max_status_kib']} KiB "
            f"| {r['appset_status_kib']} KiB | {r['before_root_objects']:,} "
            f"| {r['before_root_status_kib']:,} KiB |"
        )
        print(f"<!-- root kinds: {r['root_kinds']}; render {r['render_s']} s -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
