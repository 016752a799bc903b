"""``db add``, ``db remove`` and ``db show``: a student's PostgreSQL (CloudNativePG) databases.

``db add`` writes the database into the tenant spec and re-renders the tenant in one commit
(the write flow of ``app add``): the Cluster, its backup volume and nightly ``pg_dump`` job,
its NetworkPolicy, and ``DATABASE_URL`` (and ``SPRING_DATASOURCE_URL``) in the apps it serves,
read from the Secret the operator makes. ``db remove`` undoes all of it; the operator then
deletes the instances and their volumes, so the data goes with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import db_spec, layout, names, netpol, tenant_spec
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.db_manifests import (
    BACKUP_MOUNT,
    BACKUP_SCHEDULE,
    SCHEDULED_BACKUP,
    database_file,
)
from kuploy_gitops.db_spec import DatabaseSpec
from kuploy_gitops.errors import ConflictError
from kuploy_gitops.ops.writing import commit_tenant, writing
from kuploy_gitops.plan import ApplyResult
from kuploy_gitops.tenant_spec import TenantSpec


@dataclass(frozen=True)
class DatabaseOptions:
    """Inputs of ``db add``; ``apps`` empty: every platform-managed app gets the URL."""

    student: str
    name: str = db_spec.DEFAULT_NAME
    size: str = db_spec.DEFAULT_SIZE
    version: int = db_spec.DEFAULT_VERSION
    instances: int = 1
    apps: Sequence[str] = field(default_factory=tuple)


def require_database(spec: TenantSpec, name: str) -> DatabaseSpec:
    """The database ``name`` of a tenant; an unknown one is exit 5 naming the student's."""
    found = spec.database(name)
    if found is None:
        have = ", ".join(d.name for d in spec.databases) or "none"
        raise ConflictError(
            f"student {spec.student!r} has no database {name!r}",
            hint=f"their databases: {have} (`kuploy-gitops db show {spec.student}` lists them)",
        )
    return found


def db_add(
    repo: Path, opts: DatabaseOptions, *, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Add a database to a student's tenant, in one commit.

    Raises:
        InvalidInputError: a bad name, size, version or instance count, an unknown app, or a
            database that does not fit the tier's quota with the student's apps (exit 4).
        ConflictError: unknown student, or a database of that name exists (exit 5).
    """
    names.check_student_name(opts.student)
    db = DatabaseSpec(
        name=opts.name,
        size=opts.size,
        version=opts.version,
        instances=opts.instances,
        apps=tuple(sorted(set(opts.apps))),
    )
    with writing(repo, opts.student) as (git, cfg):
        spec = tenant_spec.require_valid_spec(repo, opts.student, cfg)
        if spec.database(db.name) is not None:
            raise ConflictError(
                f"student {opts.student!r} already has a database {db.name!r}",
                hint=f"pick another name (`kuploy-gitops db add {opts.student} NAME`), or "
                f"`kuploy-gitops db show {opts.student} {db.name}`",
            )
        new = spec.with_database(db)
        tenant_spec.check_databases(new, cfg)
        return commit_tenant(
            git,
            cfg,
            new,
            f"kuploy: add database {db.name} for {opts.student} "
            f"(PostgreSQL {db.version}, {db.size}, {db.instances} instance(s))",
            summary=f"database {opts.student}/{db.name}",
            dry_run=dry_run,
            push=push,
        )


def db_remove(
    repo: Path, student: str, name: str, *, dry_run: bool = False, push: bool = False
) -> ApplyResult:
    """Remove a database: its Cluster, backup job and volume, policy and the apps' URL.

    The data is deleted with the volumes (the operator deletes the instances' claims; the
    backup volume is pruned by Argo CD): the CLI asks first.
    """
    names.check_student_name(student)
    with writing(repo, student) as (git, cfg):
        spec = tenant_spec.require_valid_spec(repo, student, cfg)
        require_database(spec, name)
        return commit_tenant(
            git,
            cfg,
            spec.without_database(name),
            f"kuploy: remove database {name} of {student} (its data is deleted)",
            summary=f"database {student}/{name}",
            dry_run=dry_run,
            push=push,
        )


def db_show(repo: Path, student: str, name: str | None = None) -> list[dict[str, Any]]:
    """The student's databases (or the one called ``name``) as data for ``db show``.

    Spec, who gets the URL, how to connect and how backups work. Never a password: the
    commands read the operator's Secret in the cluster.
    """
    names.check_student_name(student)
    cfg = load_config(repo)
    spec = tenant_spec.require_valid_spec(repo, student, cfg)
    dbs = [require_database(spec, name)] if name else list(spec.databases)
    return [_view(cfg, spec, db) for db in dbs]


def _backup_view(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> dict[str, Any]:
    settings = cfg.databases
    if settings.backup == "s3":
        return {
            "kind": "s3",
            "schedule": SCHEDULED_BACKUP,
            "destination": db_spec.backup_path(settings.s3_bucket, spec.student, db.name),
            "endpoint": settings.s3_endpoint,
            "credentials_secret": settings.s3_secret,
            "retention_days": settings.retention_days,
        }
    return {
        "kind": "pg_dump",
        "schedule": BACKUP_SCHEDULE,
        "volume": db_spec.backup_name(db.name),
        "path": BACKUP_MOUNT,
        "keep": settings.retention_days,
    }


def _view(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> dict[str, Any]:
    ns = layout.namespace_name(spec.student)
    managed = [a.name for a in spec.apps if a.mode == "managed"]
    secret = db_spec.secret_name(db.name)
    return {
        "student": spec.student,
        "name": db.name,
        "version": db.version,
        "image": db_spec.image(db.version),
        "size": db.size,
        "instances": db.instances,
        "database": db_spec.APP_DATABASE,
        "owner": db_spec.APP_DATABASE,
        "host": f"{db.name}-rw.{ns}.svc",
        "port": netpol.POSTGRES_PORT,
        "secret": secret,
        "injected_into": [a for a in managed if db.serves(a)],
        "env": [db_spec.URL_ENV, db_spec.JDBC_ENV],
        "connect": {
            "port_forward": f"kubectl -n {ns} port-forward svc/{db.name}-rw 5432:5432",
            # The student's Role may get this one Secret (and no other): see manifests.rbac.
            "uri": f"kubectl -n {ns} get secret {secret} -o jsonpath='{{.data.uri}}' | base64 -d",
            # pods/exec: the admin's (students cannot exec into pods).
            "admin_psql": f"kubectl cnpg psql -n {ns} {db.name} -- app",
        },
        "backup": _backup_view(cfg, spec, db),
        "file": layout.tenant_file(spec.student, database_file(db.name)),
    }
