"""A student's PostgreSQL databases (CloudNativePG ``Cluster``): their spec, rules and quota share.

A database lives in the tenant spec (``databases:`` of ``tenants/<student>.yaml``, written by
``db add``); :mod:`kuploy_gitops.db_manifests` renders it. This module holds what both the
spec checks and the render need: the supported PostgreSQL majors, the instance pods' fixed
resources, and what one database takes of the tenant's quota (instances, their volumes, the
backup volume and the backup job's pod).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.names import DNS_LABEL
from kuploy_gitops.quantity import parse_quantity
from kuploy_gitops.sizes import Size

CNPG_CHART = "cloudnative-pg"  # the add-on (Helm chart) that serves the Cluster kind
CNPG_GROUP = "postgresql.cnpg.io"
CNPG_API_VERSION = f"{CNPG_GROUP}/v1"
CLUSTER_LABEL = "cnpg.io/cluster"  # the operator's label on every pod of a Cluster
DATABASE_LABEL = "kuploy.io/database"  # on what kuploy renders for a database
IMAGE = "ghcr.io/cloudnative-pg/postgresql"
# The PostgreSQL majors the pinned operator (CloudNativePG 1.27, chart 0.26) runs and that the
# community still supports; the image tag is the major (its latest minor).
SUPPORTED_VERSIONS = (14, 15, 16, 17)
DEFAULT_VERSION = 17
DEFAULT_NAME = "db"
DEFAULT_SIZE = "1Gi"
MAX_INSTANCES = 3
# What the operator makes in the namespace for each Cluster, and the quota counts: Services
# <name>-rw, -ro and -r; Secrets <name>-app, -ca, -server and -replication (no -superuser:
# superuser access is off); the ConfigMap cnpg-default-monitoring (one a namespace; counted
# with each database, to be safe).
OPERATOR_OBJECTS = {"services": 3.0, "secrets": 4.0, "configmaps": 1.0}
MAX_NAME_LEN = 30  # the operator adds "-rw", "-app", "-1-initdb" and so on
# The instance pods' requests and limits, set explicitly so the quota admits them whatever the
# LimitRange defaults are (PostgreSQL's default shared_buffers is 128MB).
INSTANCE_SIZE = Size("100m", "256Mi", "500m", "512Mi")
# The nightly pg_dump job's pod: it runs next to the instances, so the quota keeps room for it.
BACKUP_JOB_SIZE = Size("50m", "64Mi", "250m", "256Mi")
APP_DATABASE = "app"  # bootstrap initdb: the database and its owner
URL_ENV = "DATABASE_URL"
JDBC_ENV = "SPRING_DATASOURCE_URL"
_SIZE = re.compile(r"^[1-9][0-9]{0,5}(Mi|Gi)$")


@dataclass(frozen=True)
class DatabaseSpec:
    """One PostgreSQL database of a student: a CloudNativePG Cluster in their namespace.

    ``apps`` are the managed apps that get its URL (``DATABASE_URL``); empty means all of them.
    """

    name: str
    size: str = DEFAULT_SIZE
    version: int = DEFAULT_VERSION
    instances: int = 1
    apps: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """The database as it is stored in the tenant spec."""
        data: dict[str, Any] = {
            "size": self.size,
            "version": self.version,
            "instances": self.instances,
        }
        if self.apps:
            data["apps"] = list(self.apps)
        return data

    def serves(self, app: str) -> bool:
        """Whether managed app ``app`` gets this database's URL."""
        return not self.apps or app in self.apps


DB_KEYS = ("size", "version", "instances", "apps")


def secret_name(db: str) -> str:
    """The Secret the operator makes for the ``app`` owner (keys ``uri``, ``jdbc-uri``, ...)."""
    return f"{db}-app"


def backup_name(db: str) -> str:
    """The backup volume's, the pg_dump CronJob's and the ScheduledBackup's name."""
    return f"{db}-backup"


def backup_path(bucket: str, student: str, db: str) -> str:
    """Where a database's object-storage backups go (``backup: s3``)."""
    return f"s3://{bucket}/{student}/{db}"


def image(version: int) -> str:
    """The PostgreSQL image of a major version."""
    return f"{IMAGE}:{version}"


def check_database(
    db: DatabaseSpec,
    *,
    managed_apps: Iterable[str],
    has_operator: bool,
    registries: Iterable[str] = (),
) -> None:
    """Check one database's own fields (the quota is :func:`usage`'s, summed by the caller).

    Raises:
        InvalidInputError: a bad name, size, version, instance count or app; the platform has
            no CloudNativePG add-on, or its registries do not admit CloudNativePG's images.
    """
    if not has_operator:
        raise InvalidInputError(
            "this platform installs no CloudNativePG operator (add-on chart 'cloudnative-pg')",
            hint="add the cloudnative-pg add-on to kuploy.yaml (kuploy-gitops init adds it)",
        )
    allowed = tuple(registries)
    if allowed and not image(db.version).startswith(allowed):
        # The tenants' image admission would refuse the operator's pods in the namespace.
        raise InvalidInputError(
            f"the platform's registries do not admit the PostgreSQL image {image(db.version)!r}",
            hint=f"add '{IMAGE.rsplit('/', 1)[0]}/' to registries in kuploy.yaml (it holds the "
            "operator's and PostgreSQL's images)",
        )
    if not DNS_LABEL.match(db.name) or len(db.name) > MAX_NAME_LEN:
        raise InvalidInputError(
            f"database name {db.name!r} is not a DNS label of at most {MAX_NAME_LEN} characters",
            hint="use lowercase letters, digits and '-', e.g. 'db'",
        )
    if not _SIZE.match(db.size):
        raise InvalidInputError(
            f"database size {db.size!r} is not a size in Mi or Gi", hint="e.g. --size 1Gi"
        )
    if parse_quantity(db.size) < parse_quantity("256Mi"):
        raise InvalidInputError(
            f"database size {db.size} is too small for PostgreSQL", hint="use at least 256Mi"
        )
    if db.version not in SUPPORTED_VERSIONS:
        raise InvalidInputError(
            f"PostgreSQL {db.version} is not supported",
            hint=f"use one of {', '.join(map(str, SUPPORTED_VERSIONS))} "
            f"(default {DEFAULT_VERSION})",
        )
    if not 1 <= db.instances <= MAX_INSTANCES:
        raise InvalidInputError(
            f"instances {db.instances} is out of range", hint=f"use 1-{MAX_INSTANCES}"
        )
    known = set(managed_apps)
    for app in db.apps:
        if app not in known:
            raise InvalidInputError(
                f"database {db.name!r}: app {app!r} is not a platform-managed app of the student",
                hint=f"managed apps: {', '.join(sorted(known)) or 'none'} (a student-repo app "
                "reads the Secret in its own manifests: `kuploy-gitops db show`)",
            )


def check_injection(
    databases: Iterable[DatabaseSpec], apps: Mapping[str, Iterable[str]], *, student: str
) -> None:
    """Each managed app takes its URL from one database, and does not set it itself.

    ``apps`` maps each managed app to the names of its own variables (env and sealed keys).
    """
    owner: dict[str, str] = {}
    for db in databases:
        for app, env in apps.items():
            if not db.serves(app):
                continue
            if app in owner:
                raise InvalidInputError(
                    f"app {app!r} of {student!r} would get {URL_ENV} from both database "
                    f"{owner[app]!r} and {db.name!r}",
                    hint="give --app to choose which apps a database serves",
                )
            owner[app] = db.name
            clash = sorted({URL_ENV, JDBC_ENV} & set(env))
            if clash:
                raise InvalidInputError(
                    f"app {app!r} of {student!r} would set {clash[0]} itself, which database "
                    f"{db.name!r} injects",
                    hint=f"leave {clash[0]} to the database (drop it from app set --env or "
                    "secret set; unset one already there with app set --unset-env or secret "
                    f"unset), or serve {app!r} from no database (db add --app)",
                )


def usage(db: DatabaseSpec, *, dumps: bool = True) -> dict[str, float]:
    """What the database takes of the tenant's quota, by quota key.

    Its instances (pods and volumes), the Services, Secrets and ConfigMap the operator makes
    (:data:`OPERATOR_OBJECTS`) and, with ``dumps`` (``databases.backup: pg_dump``), the
    backup volume and the pod of the backup job (counted as standing: it runs while the
    instances do). Object-storage backups run inside the instances.
    """
    size = parse_quantity(db.size)
    extra = 1 if dumps else 0
    out = {
        **OPERATOR_OBJECTS,
        **{f"count/{k}": v for k, v in OPERATOR_OBJECTS.items()},
        "pods": float(db.instances + extra),
        "persistentvolumeclaims": float(db.instances + extra),
        "requests.storage": size * (db.instances + extra),
    }
    for count, s in ((db.instances, INSTANCE_SIZE), (extra, BACKUP_JOB_SIZE)):
        for key, value in (
            ("requests.cpu", s.requests_cpu),
            ("requests.memory", s.requests_memory),
            ("limits.cpu", s.limits_cpu),
            ("limits.memory", s.limits_memory),
        ):
            out[key] = out.get(key, 0.0) + count * parse_quantity(value)
    return out


def parse_databases(data: Mapping[str, Any], fail: Any) -> tuple[DatabaseSpec, ...]:
    """The ``databases:`` mapping of a spec file; ``fail(path, message)`` makes the error."""
    out: list[DatabaseSpec] = []
    for name, body in data.items():
        if not isinstance(body, Mapping):
            raise fail(f"databases.{name}", "expected a mapping")
        unknown = sorted(set(body) - set(DB_KEYS))
        if unknown:
            known = ", ".join(DB_KEYS)
            raise fail(f"databases.{name}.{unknown[0]}", f"unknown key (known: {known})")
        apps = body.get("apps") or []
        if not isinstance(apps, list):
            raise fail(f"databases.{name}.apps", "expected a list of app names")
        try:
            version = int(body.get("version", DEFAULT_VERSION))
            instances = int(body.get("instances", 1))
        except (TypeError, ValueError) as exc:
            raise fail(f"databases.{name}", "version and instances must be numbers") from exc
        out.append(
            DatabaseSpec(
                name=str(name),
                size=str(body.get("size", DEFAULT_SIZE)),
                version=version,
                instances=instances,
                apps=tuple(sorted(str(a) for a in apps)),
            )
        )
    return tuple(sorted(out, key=lambda d: d.name))
