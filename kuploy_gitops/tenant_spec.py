"""Tenant specs (``tenants/<student>.yaml``): kuploy's own small format, the source of truth.

A spec holds what the admin decided for one student (tier, labels, apps); everything under
``apps/`` is rendered from it. This module parses and checks specs, reads and writes them, and
is the one place that decides whether a student is onboarded (:func:`require_spec`).

Two kinds of failure: a spec built from command-line input that breaks a rule raises
:class:`InvalidInputError` (exit 4, the value is the user's); a spec file in the repo that breaks
a rule raises :class:`ConfigError` naming the file, the line where it can tell, and the student
(exit 3, the file needs editing).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kuploy_gitops import layout, repourl, yamlio
from kuploy_gitops.config import PlatformConfig, Reader
from kuploy_gitops.db_spec import DatabaseSpec, check_database, check_injection, parse_databases
from kuploy_gitops.db_spec import usage as database_usage
from kuploy_gitops.errors import ConfigError, ConflictError, InvalidInputError, KuployError
from kuploy_gitops.names import (
    EMAIL,
    ENV_NAME,
    IMAGE_REFERENCE,
    check_app_name,
    check_expiry,
    check_github_login,
    check_label_value,
    check_student_name,
    check_text,
)
from kuploy_gitops.quantity import format_quantity, parse_quantity
from kuploy_gitops.sizes import DEFAULT_SIZE, SIZES

SPEC_VERSION = 1
SPEC_KEYS = (
    "version",
    "student",
    "tier",
    "github",
    "name",
    "email",
    "course",
    "term",
    "expires",
    "suspended",
    "apps",
    "databases",
)
MANAGED_APP_KEYS = ("mode", "image", "port", "env", "health_path", "replicas", "size", "secrets")
REPO_APP_KEYS = ("mode", "repo", "path", "revision")


@dataclass(frozen=True)
class AppSpec:
    """One app of a student: platform-managed (``image``) or student-repo (``repo``)."""

    name: str
    mode: str  # "managed" | "repo"
    image: str = ""
    port: int = 0
    env: tuple[tuple[str, str], ...] = ()
    health_path: str = "/"
    replicas: int = 1
    size: str = DEFAULT_SIZE
    repo: str = ""
    path: str = "deploy"
    revision: str = "main"
    # Sealed values (name, base64 ciphertext for the controller; ``secret set``): safe in git.
    secrets: tuple[tuple[str, str], ...] = ()

    def to_data(self) -> dict[str, Any]:
        """The app as it is stored in the tenant spec."""
        if self.mode == "repo":
            return {"mode": "repo", "repo": self.repo, "path": self.path, "revision": self.revision}
        data: dict[str, Any] = {
            "mode": "managed",
            "image": self.image,
            "port": self.port,
            "env": dict(self.env),
            "health_path": self.health_path,
            "replicas": self.replicas,
            "size": self.size,
        }
        if self.secrets:
            data["secrets"] = dict(self.secrets)
        return data


@dataclass(frozen=True)
class TenantSpec:
    """The source of truth for one student's tenant."""

    student: str
    tier: str
    github: str = ""
    name: str = ""
    email: str = ""
    course: str = ""
    term: str = ""
    expires: str = ""
    apps: tuple[AppSpec, ...] = ()
    databases: tuple[DatabaseSpec, ...] = ()
    # `suspend`: the render scales the tenant to zero (see manifests/app_manifests) while every
    # value above is kept as it was, so `resume` (False again) renders exactly what was before.
    suspended: bool = False

    def app(self, name: str) -> AppSpec | None:
        """The app called ``name``, if any."""
        return next((a for a in self.apps if a.name == name), None)

    def with_app(self, app: AppSpec) -> TenantSpec:
        """A copy with ``app`` added (apps kept sorted by name for stable output)."""
        apps = tuple(sorted([*(a for a in self.apps if a.name != app.name), app], key=_by_name))
        return replace(self, apps=apps)

    def without_app(self, name: str) -> TenantSpec:
        """A copy without the app ``name``."""
        return replace(self, apps=tuple(a for a in self.apps if a.name != name))

    def to_data(self) -> dict[str, Any]:
        """The spec as stored in ``tenants/<student>.yaml``."""
        data: dict[str, Any] = {"version": SPEC_VERSION, "student": self.student, "tier": self.tier}
        for key in ("github", "name", "email", "course", "term", "expires"):
            value = getattr(self, key)
            if value:
                data[key] = value
        if self.suspended:  # absent when false: a resumed spec is byte for byte as before
            data["suspended"] = True
        data["apps"] = {a.name: a.to_data() for a in self.apps}
        if self.databases:
            data["databases"] = {d.name: d.to_data() for d in self.databases}
        return data

    def database(self, name: str) -> DatabaseSpec | None:
        """The database called ``name``, if any."""
        return next((d for d in self.databases if d.name == name), None)

    def with_database(self, db: DatabaseSpec) -> TenantSpec:
        """A copy with ``db`` added or replaced (sorted by name)."""
        rest = [d for d in self.databases if d.name != db.name]
        return replace(self, databases=tuple(sorted([*rest, db], key=lambda d: d.name)))

    def without_database(self, name: str) -> TenantSpec:
        """A copy without the database ``name``."""
        return replace(self, databases=tuple(d for d in self.databases if d.name != name))


def expiry_date(spec: TenantSpec) -> dt.date | None:
    """The tenant's expiry as a date (``None`` when it has none or a hand-edited bad one)."""
    try:
        return dt.date.fromisoformat(spec.expires) if spec.expires else None
    except ValueError:
        return None


def tenant_status(spec: TenantSpec, today: dt.date) -> str:
    """``suspended``, ``expired`` (past its expiry, not yet suspended by `expire`) or ``active``.

    A tenant expiring on a day keeps that day: it is expired from the next one.
    """
    if spec.suspended:
        return "suspended"
    expires = expiry_date(spec)
    return "expired" if expires is not None and expires < today else "active"


def _by_name(app: AppSpec) -> str:
    return app.name


def validate_spec(spec: TenantSpec, cfg: PlatformConfig, *, check_dates: bool = True) -> None:
    """Check every field of a tenant spec against the platform config."""
    check_student_name(spec.student, cfg.reserved_namespaces())
    if spec.tier not in cfg.tiers:
        raise InvalidInputError(
            f"tier {spec.tier!r} does not exist",
            hint=f"use one of {', '.join(sorted(cfg.tiers))} (tiers are defined in kuploy.yaml)",
        )
    check_github_login(spec.github)
    for what, value in (("name", spec.name), ("email", spec.email)):
        check_text(what, value, shown=True)
    if spec.email and not EMAIL.match(spec.email):
        raise InvalidInputError(f"email {spec.email!r} is not an address", hint="e.g. a@b.ac.kr")
    if spec.course:
        check_label_value("course", spec.course)
    if spec.term:
        check_label_value("term", spec.term)
    if spec.expires:
        if check_dates:
            check_expiry(spec.expires)
        else:
            check_label_value("expires", spec.expires)
    for app in spec.apps:
        check_app(spec, app, cfg)
    check_databases(spec, cfg)


def check_databases(spec: TenantSpec, cfg: PlatformConfig) -> None:
    """Check the tenant's databases: fields, whom they serve, and the quota with the apps."""
    # An app's own variables: plain env and sealed keys (envFrom), which env would override.
    managed = {
        a.name: [k for k, _ in (*a.env, *a.secrets)] for a in spec.apps if a.mode == "managed"
    }
    has_operator = any(a.chart == "cloudnative-pg" for a in cfg.addons)
    for db in spec.databases:
        check_database(
            db, managed_apps=managed, has_operator=has_operator, registries=cfg.registries
        )
    check_injection(spec.databases, managed, student=spec.student)
    if spec.databases:
        check_quota_fits(spec, cfg)


def check_app(spec: TenantSpec, app: AppSpec, cfg: PlatformConfig) -> None:
    """Check one app of a tenant (names, port, env, size within the tier)."""
    check_app_name(app.name)
    if not re.fullmatch(cfg.app_label, app.name):
        raise InvalidInputError(
            f"app name {app.name!r} has a '-', which the host pattern {cfg.host_pattern!r} "
            "forbids (its host would look like another student's)",
            hint=f"name it without '-', e.g. {app.name.replace('-', '')!r}",
        )
    if app.mode == "repo":
        cfg.student_repo(app.repo)
        repourl.check_path(app.path)
        repourl.check_revision(app.revision)
        return
    if app.mode != "managed":
        raise InvalidInputError(f"app mode {app.mode!r} is unknown", hint="use managed or repo")
    if len(app.image) > 255 or not IMAGE_REFERENCE.match(app.image):
        raise InvalidInputError(
            f"image {app.image!r} is not an image reference",
            hint="registry/path:tag or @sha256:<digest>, lowercase path, e.g. ghcr.io/org/app:1.0",
        )
    if not 1 <= app.port <= 65535:
        raise InvalidInputError(f"port {app.port} is out of range", hint="use 1-65535")
    if not app.health_path.startswith("/") or any(c.isspace() for c in app.health_path):
        raise InvalidInputError(
            f"health path {app.health_path!r} must start with '/'", hint="e.g. /healthz"
        )
    if not 0 <= app.replicas <= 10:
        raise InvalidInputError(f"replicas {app.replicas} is out of range", hint="use 0-10")
    if app.size not in SIZES:
        raise InvalidInputError(
            f"size {app.size!r} does not exist", hint=f"use one of {', '.join(SIZES)}"
        )
    for key, value in app.env:
        if not ENV_NAME.match(key):
            raise InvalidInputError(
                f"env variable name {key!r} is not valid", hint="use letters, digits, '_', '-', '.'"
            )
        check_text(f"env {key}", value)
    for key, value in app.secrets:
        check_secret_key(key)
        if not SEALED_VALUE.match(value):
            raise InvalidInputError(
                f"sealed secret {key!r} of app {app.name!r} is not a sealed value (base64)",
                hint=f"seal it again: kuploy-gitops secret set {spec.student} {app.name} {key}=-",
            )
    both = sorted({k for k, _ in app.env} & {k for k, _ in app.secrets})
    if both:  # env wins over envFrom: the sealed value would be ignored without a word
        raise InvalidInputError(
            f"app {app.name!r} of {spec.student!r} has {both[0]} both as a plain env variable "
            "and as a sealed secret",
            hint=f"keep one: kuploy-gitops app set {spec.student} {app.name} --unset-env "
            f"{both[0]}, or kuploy-gitops secret unset {spec.student} {app.name} {both[0]}",
        )
    tier = cfg.tiers[spec.tier]
    size = SIZES[app.size]
    for res, value in (("cpu", size.limits_cpu), ("memory", size.limits_memory)):
        cap = tier.max.get(res)
        if cap is not None and parse_quantity(value) > parse_quantity(cap):
            raise InvalidInputError(
                f"size {app.size!r} ({res} limit {value}) exceeds tier {tier.name!r} max {cap}",
                hint="pick a smaller --size or a larger --tier",
            )
    if spec.databases:  # the env it gets from a database: no clash with its own
        check_databases(spec, cfg)
    check_quota_fits(spec, cfg)


# Standard base64 of at least the 2-byte length and an RSA block (what sealing.seal_value makes).
SEALED_VALUE = re.compile(r"^[A-Za-z0-9+/]{100,}={0,2}$")
# A Secret's data key (the API server's rule) that is also an env variable name (envFrom).
SECRET_KEY = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]{0,252}$")


def check_secret_key(key: str) -> None:
    """Refuse a secret name that is no Secret key or no env variable name (exit 4)."""
    if not SECRET_KEY.match(key) or not ENV_NAME.match(key):
        raise InvalidInputError(
            f"secret name {key!r} is not valid",
            hint="use letters, digits, '_', '-', '.' (not starting with a digit), e.g. API_KEY",
        )


def check_quota_fits(spec: TenantSpec, cfg: PlatformConfig) -> None:
    """Refuse apps (replicas x size) and databases that, summed, exceed the tier's quota.

    Apps count cpu and memory; databases (:func:`kuploy_gitops.db_spec.usage`) also pods,
    volumes and storage.
    """
    tier = cfg.tiers[spec.tier]
    totals = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0}
    for db in spec.databases:
        for key, value in database_usage(db, dumps=cfg.databases.backup == "pg_dump").items():
            totals[key] = totals.get(key, 0.0) + value
    for a in spec.apps:
        if a.mode != "managed":
            continue
        s = SIZES.get(a.size)
        if s is None:
            continue
        if spec.databases:  # pods are counted once a database adds pods of its own
            totals["pods"] = totals.get("pods", 0.0) + a.replicas
        if spec.databases:  # and the managed app's Service, with the operator's
            totals["services"] = totals.get("services", 0.0) + 1
        totals["requests.cpu"] += a.replicas * parse_quantity(s.requests_cpu)
        totals["requests.memory"] += a.replicas * parse_quantity(s.requests_memory)
        totals["limits.cpu"] += a.replicas * parse_quantity(s.limits_cpu)
        totals["limits.memory"] += a.replicas * parse_quantity(s.limits_memory)
    for key, total in totals.items():
        cap = tier.quota.get(key)
        if cap is not None and total > parse_quantity(cap) + 1e-9:
            what = "apps and databases" if spec.databases else "apps"
            raise InvalidInputError(
                f"{what} of {spec.student!r} would need {key} {_show(key, total)}, "
                f"over tier {tier.name!r} quota {cap}",
                hint="use fewer --replicas or --instances, a smaller --size or a larger --tier"
                if spec.databases
                else "use fewer --replicas, a smaller --size or a larger --tier",
            )


def _show(key: str, total: float) -> str:
    if "storage" in key:
        return f"{total / 1024**3:g}Gi"
    if not key.startswith(("requests.", "limits.")):  # a count
        return f"{total:g}"
    return format_quantity(key, total)


def _str_field(r: Reader, data: Mapping[str, Any], key: str, path: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str | int):
        raise r.fail(f"{path}{key}", f"expected text, got {value!r}")
    return str(value)


def parse_spec(data: Any, source: str, text: str | None = None) -> TenantSpec:
    """Build a :class:`TenantSpec` from spec file data (no config checks).

    With the file's ``text``, errors (an unknown key, a wrong type) name the line.
    """
    r = Reader(source, text)
    root = r.mapping(data, "spec")
    r.known_keys(root, SPEC_KEYS, "")
    if root.get("version") != SPEC_VERSION:
        raise r.fail("version", f"{root.get('version')!r} is not supported (expected 1)")
    apps: list[AppSpec] = []
    for name, app in r.mapping(root.get("apps") or {}, "apps").items():
        a = r.mapping(app, f"apps.{name}")
        mode = a.get("mode", "managed")
        r.known_keys(a, REPO_APP_KEYS if mode == "repo" else MANAGED_APP_KEYS, f"apps.{name}")
        if mode == "repo":
            apps.append(
                AppSpec(
                    name=str(name),
                    mode="repo",
                    repo=_str_field(r, a, "repo", f"apps.{name}."),
                    path=_str_field(r, a, "path", f"apps.{name}.") or "deploy",
                    revision=_str_field(r, a, "revision", f"apps.{name}.") or "main",
                )
            )
            continue
        env = r.mapping(a.get("env") or {}, f"apps.{name}.env")
        sealed = r.mapping(a.get("secrets") or {}, f"apps.{name}.secrets")
        try:
            port = int(a.get("port", 0))
            replicas = int(a.get("replicas", 1))
        except (TypeError, ValueError) as exc:
            raise r.fail(f"apps.{name}", "port and replicas must be numbers") from exc
        apps.append(
            AppSpec(
                name=str(name),
                mode=str(mode),
                image=_str_field(r, a, "image", f"apps.{name}."),
                port=port,
                env=tuple((str(k), str(v)) for k, v in env.items()),
                health_path=_str_field(r, a, "health_path", f"apps.{name}.") or "/",
                replicas=replicas,
                size=_str_field(r, a, "size", f"apps.{name}.") or DEFAULT_SIZE,
                secrets=tuple(sorted((str(k), str(v)) for k, v in sealed.items())),
            )
        )
    databases = parse_databases(r.mapping(root.get("databases") or {}, "databases"), r.fail)
    return TenantSpec(
        databases=databases,
        student=_str_field(r, root, "student", ""),
        tier=_str_field(r, root, "tier", ""),
        github=_str_field(r, root, "github", ""),
        name=_str_field(r, root, "name", ""),
        email=_str_field(r, root, "email", ""),
        course=_str_field(r, root, "course", ""),
        term=_str_field(r, root, "term", ""),
        expires=_str_field(r, root, "expires", ""),
        apps=tuple(sorted(apps, key=_by_name)),
        suspended=_bool_field(r, root, "suspended"),
    )


def _bool_field(r: Reader, data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise r.fail(key, f"expected true or false, got {value!r}")
    return value


def read_spec(repo: Path, student: str) -> TenantSpec | None:
    """Read ``tenants/<student>.yaml``, or ``None`` when the student is not onboarded."""
    return _read_spec_file(repo / layout.tenant_spec(student), student)


def read_archived_spec(repo: Path, student: str) -> TenantSpec | None:
    """The spec `offboard --archive` kept (``tenants/archive/<student>.yaml``), or ``None``."""
    return _read_spec_file(repo / layout.archived_spec(student), student)


def _read_spec_file(path: Path, student: str) -> TenantSpec | None:
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    spec = parse_spec(yamlio.load(text, source=str(path)), str(path), text)
    if spec.student != student:
        raise ConfigError(
            f"{path}: student {spec.student!r} does not match the file name",
            hint=f"rename the file or set student: {student}",
        )
    return spec


def list_students(repo: Path) -> list[str]:
    """Names of all onboarded students, sorted."""
    folder = repo / layout.TENANTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())


SPEC_HEADER = (
    "kuploy tenant spec: the source of truth for this student's tenant.\n"
    "Edit with kuploy-gitops (onboard, app add/remove, offboard); then `kuploy-gitops render`."
)


def dump_spec(spec: TenantSpec) -> str:
    """Serialise a tenant spec for ``tenants/<student>.yaml``."""
    return yamlio.dump(spec.to_data(), header=SPEC_HEADER)


def load_spec(repo: Path, student: str, cfg: PlatformConfig) -> TenantSpec | None:
    """Read and check a spec file against the platform config; ``None`` when not onboarded.

    Raises:
        ConfigError: the file is unreadable or breaks a rule; names the file and the student.
    """
    spec = read_spec(repo, student)
    if spec is not None:
        check_spec_file(spec, cfg, layout.tenant_spec(student))
    return spec


def check_spec_file(spec: TenantSpec, cfg: PlatformConfig, source: str) -> None:
    """:func:`validate_spec` for a spec read from ``source``: a broken rule names the file."""
    try:
        check_student_name(spec.student, cfg.reserved_namespaces())
    except KuployError as exc:
        # The tenant exists: its name became reserved (or was hand-written) after the fact.
        raise ConfigError(
            f"{source}: {exc.message}",
            hint=f"offboard the tenant (kuploy-gitops offboard {spec.student}) and onboard the "
            "student under another name",
        ) from exc
    try:
        validate_spec(spec, cfg, check_dates=False)
    except ConfigError:
        raise
    except KuployError as exc:
        raise ConfigError(
            f"{source}: student {spec.student}: {exc.message}",
            hint=f"{exc.hint} (in {source})" if exc.hint else "edit the file",
        ) from exc


def require_valid_spec(repo: Path, student: str, cfg: PlatformConfig) -> TenantSpec:
    """:func:`require_spec`, checked: a spec file that breaks a rule is named (exit 3).

    For changes to an existing tenant (its apps): a broken spec must be fixed first, not be
    blamed on the change.
    """
    spec = require_spec(repo, student)
    check_spec_file(spec, cfg, layout.tenant_spec(student))
    return spec


def require_spec(repo: Path, student: str) -> TenantSpec:
    """The spec of an onboarded student; the one check that a student is onboarded.

    Raises:
        ConflictError: there is no ``tenants/<student>.yaml`` (exit 5, as for any unknown name).
    """
    spec = read_spec(repo, student)
    if spec is None:
        raise ConflictError(
            f"student {student!r} is not onboarded in {repo}",
            hint=f"run `kuploy-gitops onboard {student}` first (`kuploy-gitops list` shows all)",
        )
    return spec
