"""A student's database as objects: the CloudNativePG Cluster, its backup, the apps' env.

Pure functions of the platform config, the tenant spec and the database
(:mod:`kuploy_gitops.db_spec`). The Cluster sets everything the tenant's guards need: its
instances' requests and limits (the quota requires them), the platform's StorageClass, the
tenant priority class, a pinned PostgreSQL major. The operator makes its pods restricted-
compatible itself (non-root uid 26, no privilege escalation, all capabilities dropped,
RuntimeDefault seccomp), and makes the ``<name>-app`` Secret that the apps and the backup job
read: no password is ever rendered. Its network policies are :mod:`kuploy_gitops.netpol`'s.
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops import layout, podsecurity
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.db_spec import (
    APP_DATABASE,
    BACKUP_JOB_SIZE,
    CNPG_API_VERSION,
    DATABASE_LABEL,
    INSTANCE_SIZE,
    JDBC_ENV,
    URL_ENV,
    DatabaseSpec,
    backup_name,
    backup_path,
    image,
    secret_name,
)
from kuploy_gitops.sizes import Size
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

Obj = dict[str, Any]

# The backups' schedule: at night (the timetable's time zone), when classes are out.
BACKUP_SCHEDULE = "30 3 * * *"
BACKUP_MOUNT = "/backup"


def database_file(name: str) -> str:
    """The tenant-folder file of one database (under ``apps/cluster/tenants/<student>/``)."""
    return f"database-{name}.yaml"


def _meta(spec: TenantSpec, name: str, db: str) -> Obj:
    labels = {
        layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
        layout.LABEL_PART_OF: layout.PART_OF,
        layout.LABEL_OWNER: spec.student,
        DATABASE_LABEL: db,
    }
    return {
        "name": name,
        "namespace": layout.namespace_name(spec.student),
        "labels": labels,
        # After the guards (quota, policies) exist.
        "annotations": {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_APPS},
    }


def _resources(size: Size) -> Obj:
    return {
        "requests": {"cpu": size.requests_cpu, "memory": size.requests_memory},
        "limits": {"cpu": size.limits_cpu, "memory": size.limits_memory},
    }


def _storage(cfg: PlatformConfig, size: str) -> Obj:
    out: Obj = {"size": size}
    storage = cfg.baremetal.storage
    if storage.kind != "none":
        out["storageClass"] = storage.class_name
    return out


def cluster(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> Obj:
    """The CloudNativePG Cluster: ``instances`` pods of ``version``, a database ``app``."""
    body: Obj = {
        "instances": db.instances,
        "imageName": image(db.version),
        "enableSuperuserAccess": False,
        "bootstrap": {"initdb": {"database": APP_DATABASE, "owner": APP_DATABASE}},
        "storage": _storage(cfg, db.size),
        "resources": _resources(INSTANCE_SIZE),
        "priorityClassName": layout.TENANT_PRIORITY_CLASS,
        # The class timetable drains lab PCs before each class: a PodDisruptionBudget on the
        # primary would hold the drain (the instance moves instead, a short outage).
        "enablePDB": False,
    }
    if cfg.databases.backup == "s3":
        body["backup"] = object_store_backup(cfg, spec, db)
    meta = _meta(spec, db.name, db.name)
    # The CRD comes with the add-on's chart: a sync before it exists retries instead of failing.
    meta["annotations"][layout.ANNOTATION_SYNC_OPTIONS] = "SkipDryRunOnMissingResource=true"
    if spec.suspended:
        # `suspend`: the operator's declarative hibernation deletes the instance pods and keeps
        # the volumes (the data); `resume` drops the annotation and the instances come back.
        meta["annotations"][HIBERNATION_ANNOTATION] = "on"
    return {"apiVersion": CNPG_API_VERSION, "kind": "Cluster", "metadata": meta, "spec": body}


HIBERNATION_ANNOTATION = "cnpg.io/hibernation"


def backup_volume(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> Obj:
    """The volume the nightly dumps go to (the platform's StorageClass, the database's size)."""
    storage = _storage(cfg, db.size)
    body: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage["size"]}},
    }
    if "storageClass" in storage:
        body["storageClassName"] = storage["storageClass"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(spec, backup_name(db.name), db.name),
        "spec": body,
    }


# Dump to a temporary name, then rename (a failed dump never replaces a good one), and keep the
# newest ``databases.retention_days`` dumps (one a night). The URL comes from the environment,
# never from the command line.
_DUMP_SCRIPT = (
    "set -eu\n"
    "stamp=$(date -u +%Y%m%dT%H%M%SZ)\n"
    'pg_dump --format=custom --file="{mount}/.partial" "$DATABASE_URL"\n'
    'mv "{mount}/.partial" "{mount}/{db}-$stamp.dump"\n'
    "ls -1t {mount}/{db}-*.dump | tail -n +{keep} | xargs -r rm -f --\n"
)


def backup_job(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> Obj:
    """The nightly ``pg_dump`` CronJob, Pod Security restricted, reading the operator's Secret."""
    name = backup_name(db.name)
    container: Obj = {
        "name": "pg-dump",
        "image": image(db.version),
        "command": ["/bin/sh", "-c"],
        "args": [
            _DUMP_SCRIPT.format(
                mount=BACKUP_MOUNT, db=db.name, keep=cfg.databases.retention_days + 1
            )
        ],
        "env": [
            {"name": "HOME", "value": podsecurity.TMP_PATH},
            _secret_env(URL_ENV, db.name, "uri"),
        ],
        "resources": _resources(BACKUP_JOB_SIZE),
        "securityContext": podsecurity.container_security_context(),
    }
    tmp_volume, tmp_mount = podsecurity.tmp_volume()
    container["volumeMounts"] = [tmp_mount, {"name": "backup", "mountPath": BACKUP_MOUNT}]
    pod: Obj = {
        "restartPolicy": "OnFailure",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "priorityClassName": layout.TENANT_PRIORITY_CLASS,
        "securityContext": podsecurity.pod_security_context(cfg),
        "containers": [container],
        "volumes": [
            tmp_volume,
            {"name": "backup", "persistentVolumeClaim": {"claimName": name}},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(spec, name, db.name),
        "spec": {
            "schedule": BACKUP_SCHEDULE,
            "timeZone": cfg.timetable.time_zone,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": pod}}},
            # A suspended tenant runs no backup (its pod would be refused by the quota anyway).
            **({"suspend": True} if spec.suspended else {}),
        },
    }


def object_store_backup(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> Obj:
    """The Cluster's ``backup`` section for ``databases.backup: s3`` (Barman, in the instances).

    The credentials are keys of the Secret ``databases.s3_secret`` that the admin makes in the
    tenant's namespace; nothing secret is rendered.
    """
    settings = cfg.databases

    def key(name: str) -> Obj:
        return {"name": settings.s3_secret, "key": name}

    return {
        "retentionPolicy": f"{settings.retention_days}d",
        "barmanObjectStore": {
            "destinationPath": backup_path(settings.s3_bucket, spec.student, db.name),
            "endpointURL": settings.s3_endpoint,
            "s3Credentials": {
                "accessKeyId": key("ACCESS_KEY_ID"),
                "secretAccessKey": key("ACCESS_SECRET_KEY"),
            },
            "wal": {"compression": "gzip"},
            "data": {"compression": "gzip"},
        },
    }


# CloudNativePG's schedules have a seconds field first: 03:30:00 every night.
SCHEDULED_BACKUP = "0 30 3 * * *"


def scheduled_backup(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> Obj:
    """The nightly base backup to object storage (``backup: s3``), owned by the Cluster."""
    meta = _meta(spec, backup_name(db.name), db.name)
    meta["annotations"][layout.ANNOTATION_SYNC_OPTIONS] = "SkipDryRunOnMissingResource=true"
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "ScheduledBackup",
        "metadata": meta,
        "spec": {
            "schedule": SCHEDULED_BACKUP,
            "cluster": {"name": db.name},
            "method": "barmanObjectStore",
            "backupOwnerReference": "cluster",
            "immediate": True,
            **({"suspend": True} if spec.suspended else {}),  # see backup_job
        },
    }


def database_objects(cfg: PlatformConfig, spec: TenantSpec, db: DatabaseSpec) -> list[Obj]:
    """Everything one database renders into the tenant folder, in apply order."""
    if cfg.databases.backup == "s3":
        return [cluster(cfg, spec, db), scheduled_backup(cfg, spec, db)]
    return [cluster(cfg, spec, db), backup_volume(cfg, spec, db), backup_job(cfg, spec, db)]


def _secret_env(name: str, db: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name(db), "key": key}}}


def database_env(spec: TenantSpec, app: AppSpec) -> list[Obj]:
    """The env a managed app gets from the database that serves it: URLs from its Secret.

    ``DATABASE_URL`` is the ``uri`` key (``postgresql://app:...@<db>-rw.<ns>:5432/app``);
    ``SPRING_DATASOURCE_URL`` the ``jdbc-uri`` key (``jdbc:postgresql://...``, which Spring
    Boot reads without configuration). Nothing for an app no database serves.
    """
    if app.mode != "managed":
        return []
    for db in spec.databases:
        if db.serves(app.name):
            return [
                _secret_env(URL_ENV, db.name, "uri"),
                _secret_env(JDBC_ENV, db.name, "jdbc-uri"),
            ]
    return []
