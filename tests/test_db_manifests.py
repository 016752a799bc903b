"""What a database renders (db_manifests.py), held to CloudNativePG's vendored CRDs and to the
Kubernetes schemas, for both backup kinds; and kuploy.yaml's `databases` section (config_db.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from test_manifests_valid import argo_validator

from kuploy_gitops import config, db_manifests, netpol
from kuploy_gitops.db_spec import DatabaseSpec
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.tenant_spec import TenantSpec

DATA = config.default_config_data()
S3 = {
    "backup": "s3",
    "retention_days": 14,
    "s3_endpoint": "https://s3.lab.example.ac.kr:9000",
    "s3_bucket": "kuploy-db",
    "s3_cidrs": ["192.0.2.10/32"],
}
DB = DatabaseSpec(name="shop", size="2Gi", version=15, instances=2)
KIM = TenantSpec(student="kim", tier="large", databases=(DB,))


def cfg_with(**databases: Any) -> config.PlatformConfig:
    return config.parse_config({**DATA, "databases": {**DATA["databases"], **databases}})


def check_schemas(objs: list[dict[str, Any]], data_dir: Path, version: str) -> None:
    for obj in objs:
        if obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            errors = list(argo_validator(data_dir, obj["kind"]).iter_errors(obj))
            assert not errors, f"{obj['kind']}: {errors[0].message} at {list(errors[0].path)}"
        else:
            kubernetes_validate.validate(obj, version, strict=True)


def test_pg_dump_backup_renders_a_volume_and_a_cronjob_that_match_their_schemas(
    data_dir: Path,
) -> None:
    cfg = config.parse_config(DATA)
    objs = db_manifests.database_objects(cfg, KIM, DB)
    assert [o["kind"] for o in objs] == ["Cluster", "PersistentVolumeClaim", "CronJob"]
    check_schemas(objs, data_dir, cfg.kubernetes_version)
    assert "backup" not in objs[0]["spec"]
    script = objs[2]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "tail -n +8 " in script  # retention_days 7: the newest 7 dumps stay


def test_s3_backup_renders_barman_and_a_scheduled_backup(data_dir: Path) -> None:
    cfg = cfg_with(**S3)
    objs = db_manifests.database_objects(cfg, KIM, DB)
    assert [o["kind"] for o in objs] == ["Cluster", "ScheduledBackup"]  # no volume, no CronJob
    check_schemas(objs, data_dir, cfg.kubernetes_version)
    backup = objs[0]["spec"]["backup"]
    assert backup["retentionPolicy"] == "14d"
    store = backup["barmanObjectStore"]
    assert store["destinationPath"] == "s3://kuploy-db/kim/shop"
    assert store["endpointURL"] == S3["s3_endpoint"]
    assert store["s3Credentials"] == {
        "accessKeyId": {"name": "kuploy-db-backup", "key": "ACCESS_KEY_ID"},
        "secretAccessKey": {"name": "kuploy-db-backup", "key": "ACCESS_SECRET_KEY"},
    }
    assert objs[1]["spec"]["cluster"] == {"name": "shop"}
    assert objs[1]["spec"]["method"] == "barmanObjectStore"
    # The instances may reach the object store, on its port, and nothing more.
    assert netpol.database_policy(cfg, DB)["egress"][-1] == {
        "to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}],
        "ports": [{"protocol": "TCP", "port": 9000}],
    }
    assert len(netpol.database_policy(config.parse_config(DATA), DB)["egress"]) == 2


def test_a_misspelt_field_is_caught_by_the_crd(data_dir: Path) -> None:
    objs = db_manifests.database_objects(cfg_with(**S3), KIM, DB)
    objs[0]["spec"]["instance"] = 1
    assert list(argo_validator(data_dir, "Cluster").iter_errors(objs[0]))


@pytest.mark.parametrize(
    ("databases", "key", "words"),
    [
        ({"backup": "tape"}, "databases.backup", "'tape' is not a backup kind"),
        ({"retention_days": 0}, "databases.retention_days", "0 is not a number of days"),
        ({**S3, "s3_endpoint": "http://s3.x"}, "databases.s3_endpoint", "not an https URL"),
        ({**S3, "s3_bucket": "A"}, "databases.s3_bucket", "'A' is not a bucket name"),
        ({**S3, "s3_cidrs": []}, "databases.s3_cidrs", "needs the endpoint's addresses"),
        ({"s3_region": "x"}, "databases", "s3_region"),
    ],
)
def test_bad_database_settings_name_the_key(
    databases: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        cfg_with(**databases)
    assert key in str(exc.value) and words in str(exc.value)


def test_settings_default_to_pg_dump_even_without_the_section() -> None:
    bare = {k: v for k, v in DATA.items() if k != "databases"}
    assert config.parse_config(bare).databases == config.parse_config(DATA).databases
    assert config.parse_config(DATA).databases.backup == "pg_dump"
