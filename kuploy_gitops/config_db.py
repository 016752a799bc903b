"""kuploy.yaml's ``databases`` section: where students' databases (``db add``) are backed up.

``backup: pg_dump`` (the default, and what a kuploy.yaml without the section gets): a nightly
``pg_dump`` to a volume next to the database, in the tenant's namespace and quota.
``backup: s3``: CloudNativePG's own backups (base backups and WAL, with Barman) to an
S3-compatible object store: ``s3_endpoint`` (https URL), ``s3_bucket`` (each database goes to
``s3://<bucket>/<student>/<db>``), ``s3_secret`` (a Secret the admin creates in each tenant
namespace, keys ``ACCESS_KEY_ID`` and ``ACCESS_SECRET_KEY``: never in git) and ``s3_cidrs`` (the
endpoint's addresses, which the database's network policy opens on the endpoint's port).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kuploy_gitops.config_fields import Reader, cidr_list
from kuploy_gitops.names import DNS_LABEL

BACKUP_KINDS = ("pg_dump", "s3")
KEYS = ("backup", "retention_days", "s3_endpoint", "s3_bucket", "s3_secret", "s3_cidrs")


@dataclass(frozen=True)
class DatabaseSettings:
    """How students' databases are backed up."""

    backup: str = "pg_dump"
    retention_days: int = 7
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_secret: str = "kuploy-db-backup"
    s3_cidrs: tuple[str, ...] = ()

    @property
    def s3_port(self) -> int:
        """The endpoint's port (443 unless the URL names one)."""
        return urlsplit(self.s3_endpoint).port or 443


def parse_databases(r: Reader, root: Mapping[str, Any]) -> DatabaseSettings:
    """Parse the optional ``databases`` section; each bad value names its key and the fix."""
    data = root.get("databases")
    if data is None:
        return DatabaseSettings()
    data = r.mapping(data, "databases")
    r.known_keys(data, KEYS, "databases")
    backup = data.get("backup", "pg_dump")
    if backup not in BACKUP_KINDS:
        raise r.fail(
            "databases.backup",
            f"{backup!r} is not a backup kind",
            hint=f"use one of {', '.join(BACKUP_KINDS)}",
        )
    days = data.get("retention_days", 7)
    if type(days) is not int or not 1 <= days <= 365:
        raise r.fail("databases.retention_days", f"{days!r} is not a number of days (1-365)")
    out = DatabaseSettings(
        backup=str(backup),
        retention_days=days,
        s3_endpoint=str(data.get("s3_endpoint") or ""),
        s3_bucket=str(data.get("s3_bucket") or ""),
        s3_secret=str(data.get("s3_secret") or DatabaseSettings.s3_secret),
        s3_cidrs=cidr_list(r, data, "s3_cidrs", "databases"),
    )
    if out.backup == "s3":
        _check_s3(r, out)
    return out


def _check_s3(r: Reader, s: DatabaseSettings) -> None:
    url = urlsplit(s.s3_endpoint)
    if url.scheme != "https" or not url.hostname or url.path not in ("", "/"):
        raise r.fail(
            "databases.s3_endpoint",
            f"{s.s3_endpoint!r} is not an https URL of an S3 endpoint",
            hint="e.g. https://s3.lab.example.ac.kr (backup: s3 needs it)",
        )
    if not DNS_LABEL.match(s.s3_bucket) or len(s.s3_bucket) < 3:
        raise r.fail(
            "databases.s3_bucket",
            f"{s.s3_bucket!r} is not a bucket name",
            hint="lowercase letters, digits and '-', e.g. kuploy-db-backups",
        )
    if not DNS_LABEL.match(s.s3_secret):
        raise r.fail("databases.s3_secret", f"{s.s3_secret!r} is not a Secret name")
    if not s.s3_cidrs:
        raise r.fail(
            "databases.s3_cidrs",
            "backup: s3 needs the endpoint's addresses (the databases' network policy opens "
            "only those)",
            hint="e.g. s3_cidrs: [192.0.2.10/32]",
        )
