"""The quota a student's folder shares: what the tenant's other apps already use of it.

`validate --student S FOLDER` checks one app, but the tenant's ResourceQuota counts everything in
its namespace. The platform repo holds the tenant's platform-managed apps
(``apps/workloads/<student>/<app>/``, rendered by kuploy): they are read as the whole-repo run
reads them and hold their share of the quota before the folder's objects come. The tenant's
other student-repo apps live in repos this run cannot see: the findings say so.
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops import layout
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.objects import meta
from kuploy_gitops.validate.quota import Running
from kuploy_gitops.validate.workloads import WorkloadChecks


def other_apps(
    run: WorkloadChecks, ctx: TenantContext, spec: TenantSpec | None, app: str
) -> Running:
    """What the tenant's apps in the platform repo, but ``app``, deploy into its namespace.

    ``app`` is the tenant's app the folder deploys (empty: a student-repo app of its own); a
    platform-managed ``app`` is replaced by the folder, so its folder in the repo is not counted.
    The other apps' findings belong to the whole-repo run and are not reported here.
    """
    unseen = [a.name for a in (spec.apps if spec else ()) if a.mode == "repo" and a.name != app]
    # Without --app, a tenant's only student-repo app is taken to be this folder.
    note = ""
    if len(unseen) > (0 if app else 1):
        note = (
            f"not counted: the student-repo app(s) {', '.join(unseen)}, whose manifests are in "
            "their own repos"
        )
        if not app:
            note += " (this folder is one of them: --app names which)"
    # The tenant's databases (db add) hold their share wherever the run is: from the spec.
    databases = _databases(run, spec)
    if not run.tree.files(layout.workload_dir(ctx.student)):
        # A student's CI (.kuploy/ holds no apps): nothing to render or read.
        label = f"the tenant's databases ({_names(databases)})" if databases else ""
        return Running(databases, label, note)
    from kuploy_gitops import render

    rendered = render.render_tenant_objects(run.cfg, spec) if spec is not None else {}
    replaced = layout.workload_dir(ctx.student, app) if app else None
    sources = [s for s in run.app_sources(ctx.student, rendered) if s.folder != replaced]
    report = run.report
    findings = len(report.findings)
    counts = (report.files, report.objects, report.builds, report.cached_builds)
    known = report.known_builds
    scopes = run.app_scopes(ctx, sources)
    del report.findings[findings:]
    report.files, report.objects, report.builds, report.cached_builds = counts
    report.known_builds = known
    objs = [
        d.obj
        for scope in scopes
        for d in scope
        if isinstance(d.obj, dict) and meta(d.obj).get("namespace") in (None, "", ctx.namespace)
    ]
    base = layout.workload_dir(ctx.student) + "/"
    names = sorted({s.folder[len(base) :].split("/", 1)[0] for s in sources})
    label = f"the tenant's other apps in the platform repo ({', '.join(names)})"
    if databases:
        label += f" and databases ({_names(databases)})"
    return Running(objs + databases, label, note)


def _databases(run: WorkloadChecks, spec: TenantSpec | None) -> list[dict[str, Any]]:
    """The objects the tenant's databases render (Cluster, backup volume and job)."""
    if spec is None or not spec.databases:
        return []
    from kuploy_gitops import db_manifests

    return [o for db in spec.databases for o in db_manifests.database_objects(run.cfg, spec, db)]


def _names(objs: list[dict[str, Any]]) -> str:
    return ", ".join(str(o["metadata"]["name"]) for o in objs if o["kind"] == "Cluster") or "none"
