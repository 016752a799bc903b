"""Rendering: the single jinja2 Environment over templates/, and tenant/platform file sets.

Every function here is pure: it returns ``{repo-relative path: file text}`` and touches no disk
except to read templates. Output is byte-identical across runs and machines (sorted keys where
order is not meaningful, no timestamps, LF line ends).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from kuploy_gitops import (
    __version__,
    admission,
    app_manifests,
    baremetal_manifests,
    db_manifests,
    layout,
    manifests,
    platform_manifests,
    podsecurity,
    timetable_manifests,
    yamlio,
)
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.stacks import Stack
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

# YAML's printable set; anything else (and the Unicode line separators) is escaped by `yq`.
_YAML_UNSAFE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def templates_dir() -> Path:
    """Where the templates are: inside the installed wheel, or at the checkout's top level."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("kuploy-gitops templates folder not found (broken install)")


def yaml_quote(value: Any) -> str:
    """Quote any value as a double-quoted YAML scalar that reads back as the same string.

    JSON string syntax is a subset of YAML's double-quoted style; characters outside YAML's
    printable set (and U+2028/U+2029/U+0085, which readers may fold) are escaped as well, so no
    input can end the scalar or change the document's structure.
    """
    text = json.dumps(str(value), ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


@functools.cache
def environment() -> jinja2.Environment:
    """The one jinja2 Environment: sandboxed, StrictUndefined, every filter registered here."""
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["yq"] = yaml_quote
    return env


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """Render one template by its path under templates/."""
    return environment().get_template(name).render(**context)


def header(source: str) -> str:
    """The first-line comment of every rendered file."""
    return f"Rendered by kuploy-gitops from {source}. Do not edit: change {source}, then render."


# Notes on top of an app's files, after the line that says where the file comes from.
_APP_NOTES = {
    "deployment.yaml": (
        'Pod Security "restricted": runs as the platform\'s non-root id (whatever USER the image '
        "sets),\nno privilege escalation, no capabilities, seccomp RuntimeDefault, a read-only "
        "root file system\nwith a writable /tmp (an emptyDir)."
    ),
}


def render_app_manifests(
    cfg: PlatformConfig,
    spec: TenantSpec,
    app: AppSpec,
    *,
    scaffold_header: str = "",
    pull_secret: str = "",
    stack: Stack | None = None,
) -> dict[str, Rendered]:
    """The kustomization of one app: ``{file name: (text, [object])}`` (see ``app_objects``).

    Used for platform-managed apps (under ``apps/workloads``, rendered from the spec) and, with
    ``scaffold_header``, for the ``deploy/`` folder scaffolded into a student's repo (theirs to
    edit): both modes deploy the same manifests.
    """
    spec_file = layout.tenant_spec(spec.student)
    objects = app_manifests.with_sealed_secret(
        app_manifests.app_objects(cfg, spec, app, pull_secret=pull_secret, stack=stack), spec, app
    )
    out: dict[str, Rendered] = {}
    for name, obj in objects.items():
        lines = [scaffold_header or header(spec_file)]
        if name in _APP_NOTES:
            lines.append(_APP_NOTES[name])
        if name == "kustomization.yaml":
            lines.append(
                "The deploy workflow (or you) bumps the image tag here to deploy a new build."
                if scaffold_header
                else f"The image comes from {spec_file}: change it there and run "
                "`kuploy-gitops render`\n(an edit here is drift, reverted by the next render)."
            )
        out[name] = (yamlio.dump(obj, header="\n".join(lines)), [obj])
    return out


Rendered = tuple[str, list[Any] | None]
"""A rendered file: its text, and the objects it holds when they were built as data (None for
templated files). ``validate`` uses the objects instead of parsing a file that matches."""


def render_tenant(cfg: PlatformConfig, spec: TenantSpec) -> dict[str, str]:
    """Every rendered file of one tenant (not the spec).

    Its guards, project, Applications and workloads, and the file of its GitHub login (see
    :func:`kuploy_gitops.layout.login_marker`).
    """
    files = {path: text for path, (text, _) in render_tenant_objects(cfg, spec).items()}
    if spec.github:
        files[layout.login_marker(spec.github)] = layout.login_marker_text(spec.student)
    return files


def render_tenant_objects(cfg: PlatformConfig, spec: TenantSpec) -> dict[str, Rendered]:
    """:func:`render_tenant` with the objects of each file built as data (sorted by path)."""
    head = header(layout.tenant_spec(spec.student))
    built: list[tuple[str, Any]] = [
        ("namespace.yaml", manifests.namespace(cfg, spec)),
        ("resourcequota.yaml", manifests.resource_quota(cfg, spec)),
        ("priorityquota.yaml", podsecurity.system_priority_quota(cfg, spec)),
        ("limitrange.yaml", manifests.limit_range(cfg, spec)),
        ("networkpolicies.yaml", manifests.network_policies(cfg, spec)),
        ("rbac.yaml", manifests.rbac(cfg, spec)),
        ("deployer.yaml", manifests.deployer(cfg, spec)),
        ("appproject.yaml", manifests.app_project(cfg, spec)),
    ]
    built += [
        (
            layout.application_file(spec.student, app.name).rsplit("/", 1)[1],
            manifests.application(cfg, spec, app),
        )
        for app in spec.apps
    ]
    # Databases (db add): admin-owned like the guards, so in the tenant folder.
    built += [
        (db_manifests.database_file(db.name), db_manifests.database_objects(cfg, spec, db))
        for db in spec.databases
    ]
    files: dict[str, Rendered] = {}
    for name, obj in built:
        if isinstance(obj, list):
            files[layout.tenant_file(spec.student, name)] = (yamlio.dump_all(obj, header=head), obj)
        else:
            files[layout.tenant_file(spec.student, name)] = (yamlio.dump(obj, header=head), [obj])
    for app in spec.apps:
        if app.mode == "managed":
            folder = layout.workload_dir(spec.student, app.name)
            for name, rendered in render_app_manifests(cfg, spec, app).items():
                files[f"{folder}/{name}"] = rendered
    return dict(sorted(files.items()))


def render_platform(cfg: PlatformConfig) -> dict[str, str]:
    """The platform-level manifests derived from kuploy.yaml (root app, admin project, add-ons)."""
    head = header(layout.CONFIG_FILE)
    files = {
        # The admin project goes with the root Application so that one `kubectl apply` of
        # this file works on a fresh Argo CD (an Application needs its project to exist).
        layout.ROOT_APP_FILE: yamlio.dump_all(
            [platform_manifests.admin_project(cfg), platform_manifests.root_application(cfg)],
            header=head,
        ),
        layout.platform_file("project"): yamlio.dump(
            platform_manifests.admin_project(cfg), header=head
        ),
        layout.platform_file("tenants-project"): yamlio.dump(
            platform_manifests.tenants_project(cfg), header=head
        ),
        layout.platform_file("tenants"): yamlio.dump(
            platform_manifests.tenants_application_set(cfg), header=head
        ),
        layout.platform_file("admission-policies"): yamlio.dump_all(
            admission.admission_policies(cfg), header=head
        ),
        layout.platform_file("priority-class"): yamlio.dump(
            podsecurity.tenant_priority_class(), header=head
        ),
    }
    for addon in cfg.addons:
        files[layout.platform_file(f"addon-{addon.name}")] = yamlio.dump(
            platform_manifests.addon_application(cfg, addon), header=head
        )
    for name, objects in (
        ("load-balancer", baremetal_manifests.load_balancer(cfg)),
        ("certificates", baremetal_manifests.certificates(cfg)),
        ("storage", baremetal_manifests.storage_classes(cfg)),
    ):
        if objects:
            files[layout.platform_file(name)] = yamlio.dump_all(objects, header=head)
    timetable = timetable_manifests.timetable_objects(cfg)
    if timetable:  # kuploy.yaml's timetable has rooms
        files[layout.platform_file("timetable")] = yamlio.dump_all(timetable, header=head)
    # Its presence also tells onboarding that every bound login has its file (see ops.tenants).
    files[layout.LOGINS_README] = LOGINS_README
    return dict(sorted(files.items()))


LOGINS_README = """\
# GitHub logins

One file per GitHub login bound to a tenant: the file is named after the login (lower case:
GitHub logins ignore case) and holds the student it belongs to. kuploy-gitops writes these
files from the tenant specs (`tenants/<student>.yaml`, key `github`) when it onboards,
offboards or renders; do not edit them by hand (`kuploy-gitops render` rewrites them, and
`validate` reports a file that differs as drift).

They make "does this login already belong to a tenant?" a single file read however many
tenants there are, and two admins binding one login to two students at once a git conflict
at push time rather than two tenants sharing one account.
"""


def render_platform_readme(cfg: PlatformConfig) -> str:
    """The platform repo's README (a human-edited file, so a template)."""
    return render_template(
        "repo/README.md.j2",
        {
            "cluster_name": cfg.cluster_name,
            "argocd_namespace": cfg.argocd_namespace,
            "repo_url": cfg.repo_url,
            "root_app_file": layout.ROOT_APP_FILE,
            "root_app_name": layout.ROOT_APP_NAME,
            "cluster_dir": layout.CLUSTER_DIR,
            "config_file": layout.CONFIG_FILE,
            "tenants_dir": layout.TENANTS_DIR,
            "platform_dir": layout.PLATFORM_DIR,
            "tenants_manifests_dir": layout.TENANT_MANIFESTS_DIR,
            "workloads_dir": layout.WORKLOADS_DIR,
            "github_org": cfg.github_org,
            "tenants_appset": layout.TENANTS_APPSET,
            "tenant_app_prefix": layout.TENANT_APP_PREFIX,
            "workflow_file": layout.PLATFORM_WORKFLOW,
        },
    )


def render_platform_workflow(cfg: PlatformConfig) -> str:
    """The platform repo's own CI workflow (render --check and validate), written by init."""
    return _render_workflow(cfg, "repo/kuploy-ci.yml.j2")


def render_expire_workflow(cfg: PlatformConfig) -> str:
    """The platform repo's daily `expire --push` workflow (least privilege: contents write)."""
    return _render_workflow(cfg, "repo/kuploy-expire.yml.j2")


def _render_workflow(cfg: PlatformConfig, template: str) -> str:
    return render_template(
        template, {"branch": cfg.repo_branch, "kuploy_pip": kuploy_pip_requirement(cfg)}
    )


def kuploy_pip_requirement(cfg: PlatformConfig) -> str:
    """What a workflow pip-installs to get this kuploy-gitops (``github.workflow_pip`` wins)."""
    return cfg.github.workflow_pip or f"kuploy-gitops=={__version__}"


def rendered_roots() -> tuple[str, ...]:
    """Folders whose every file is rendered (a file there that no spec renders is drift)."""
    return (layout.CLUSTER_DIR, layout.WORKLOADS_DIR, layout.LOGINS_DIR)
