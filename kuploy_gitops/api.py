"""The public Python API: the platform-repo operations, re-exported from :mod:`kuploy_gitops.ops`.

For scripts and tests: ``api.onboard(repo, api.OnboardOptions(student="kim"))``. The CLI does
not import this module (it imports the one ``ops`` module a command needs, to start fast).
"""

from __future__ import annotations

from kuploy_gitops.errors import UsageError
from kuploy_gitops.ops.appchange import AppChange, AppSetResult, app_set, app_show
from kuploy_gitops.ops.apps import AppOptions, app_add, app_remove, parse_env_pair
from kuploy_gitops.ops.databases import DatabaseOptions, db_add, db_remove, db_show
from kuploy_gitops.ops.demo import demo
from kuploy_gitops.ops.platform import InitOptions, connect_command, init
from kuploy_gitops.ops.render import render_all, render_check
from kuploy_gitops.ops.tenants import (
    OnboardOptions,
    OnboardOutcome,
    list_tenants,
    offboard,
    onboard,
    onboard_command,
    onboard_roster,
)
from kuploy_gitops.ops.term import (  # term operations (issue 15)
    Selection,
    expire,
    extend,
    offboard_many,
    restore,
    resume,
    suspend,
)
from kuploy_gitops.ops.writing import push_repo, settle

__all__ = [
    "AppChange",
    "AppOptions",
    "AppSetResult",
    "DatabaseOptions",
    "InitOptions",
    "OnboardOptions",
    "OnboardOutcome",
    "UsageError",
    "app_add",
    "app_remove",
    "app_set",
    "app_show",
    "connect_command",
    "db_add",
    "db_remove",
    "db_show",
    "demo",
    "init",
    "list_tenants",
    "offboard",
    "onboard",
    "onboard_command",
    "onboard_roster",
    "parse_env_pair",
    "push_repo",
    "render_all",
    "render_check",
    # term operations
    "Selection",
    "expire",
    "extend",
    "offboard_many",
    "restore",
    "resume",
    "suspend",
    "settle",
]
