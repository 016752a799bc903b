"""A tenant's databases in its spec (db_spec.py, tenant_spec.check_databases): the rules of
`db add`, what a database takes of the tier, and the spec file's `databases:` section."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kuploy_gitops import config, db_spec, tenant_spec
from kuploy_gitops.db_spec import DatabaseSpec
from kuploy_gitops.errors import ConfigError, InvalidInputError
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

DATA = config.default_config_data()
CFG = config.parse_config(DATA)
WEB = AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/web:1", port=8080)
BLOG = AppSpec(name="blog", mode="repo", repo="https://github.com/konkuk-kuploy/kim-blog.git")
KIM = TenantSpec(student="kim", tier="small", apps=(BLOG, WEB))


def check(*dbs: DatabaseSpec, spec: TenantSpec = KIM, cfg: config.PlatformConfig = CFG) -> None:
    tenant_spec.check_databases(replace(spec, databases=dbs), cfg)


def test_the_default_database_fits_the_small_tier_next_to_an_app() -> None:
    check(DatabaseSpec(name="db"))
    usage = db_spec.usage(DatabaseSpec(name="db", size="2Gi", instances=2))
    # Two instances and the backup volume; the backup job's pod counts as standing.
    assert (usage["pods"], usage["persistentvolumeclaims"]) == (3.0, 3.0)
    assert usage["requests.storage"] == 6 * 1024.0**3


@pytest.mark.parametrize(
    ("db", "message", "hint"),
    [
        (
            DatabaseSpec(name="db", size="3Gi"),
            "apps and databases of 'kim' would need requests.storage 6Gi, over tier 'small' "
            "quota 5Gi",
            "use fewer --replicas or --instances, a smaller --size or a larger --tier",
        ),
        (
            DatabaseSpec(name="db", instances=2),
            "apps and databases of 'kim' would need persistentvolumeclaims 3, over tier 'small' "
            "quota 2",
            "use fewer --replicas or --instances, a smaller --size or a larger --tier",
        ),
        (
            DatabaseSpec(name="db", version=12),
            "PostgreSQL 12 is not supported",
            "use one of 14, 15, 16, 17 (default 17)",
        ),
        (DatabaseSpec(name="db", instances=4), "instances 4 is out of range", "use 1-3"),
        (DatabaseSpec(name="db", instances=0), "instances 0 is out of range", "use 1-3"),
        (
            DatabaseSpec(name="db", size="1TB"),
            "database size '1TB' is not a size in Mi or Gi",
            "e.g. --size 1Gi",
        ),
        (
            DatabaseSpec(name="db", size="100Mi"),
            "database size 100Mi is too small for PostgreSQL",
            "use at least 256Mi",
        ),
        (
            DatabaseSpec(name="Shop_DB"),
            "database name 'Shop_DB' is not a DNS label of at most 30 characters",
            "use lowercase letters, digits and '-', e.g. 'db'",
        ),
        (
            DatabaseSpec(name="db", apps=("blog",)),
            "database 'db': app 'blog' is not a platform-managed app of the student",
            "managed apps: web (a student-repo app reads the Secret in its own manifests: "
            "`kuploy-gitops db show`)",
        ),
    ],
)
def test_bad_databases_are_refused_with_the_fix(db: DatabaseSpec, message: str, hint: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        check(db)
    assert (exc.value.message, exc.value.hint) == (message, hint)


def test_one_url_per_app_and_none_set_by_hand() -> None:
    with pytest.raises(InvalidInputError, match="from both database 'a' and 'b'"):
        check(DatabaseSpec(name="a", size="256Mi"), DatabaseSpec(name="b", size="256Mi"))
    # Two databases, each for its own app: fine.
    admin = replace(WEB, name="admin", size="tiny")
    two = replace(KIM, tier="large", apps=(admin, WEB))
    check(DatabaseSpec(name="a", apps=("web",)), DatabaseSpec(name="b", apps=("admin",)), spec=two)
    by_hand = replace(KIM, apps=(replace(WEB, env=(("SPRING_DATASOURCE_URL", "jdbc:x"),)),))
    with pytest.raises(InvalidInputError, match="would set SPRING_DATASOURCE_URL itself"):
        check(DatabaseSpec(name="db"), spec=by_hand)


def test_a_platform_without_the_operator_refuses_databases() -> None:
    data: dict[str, Any] = {
        **DATA,
        "addons": {k: v for k, v in DATA["addons"].items() if k != "cloudnative-pg"},
    }
    with pytest.raises(InvalidInputError, match="installs no CloudNativePG operator"):
        check(DatabaseSpec(name="db"), cfg=config.parse_config(data))


def test_the_spec_file_round_trips_and_refuses_unknown_keys() -> None:
    spec = replace(KIM, databases=(DatabaseSpec(name="db", size="2Gi", version=16, apps=("web",)),))
    text = tenant_spec.dump_spec(spec)
    assert (
        "databases:\n  db:\n    size: 2Gi\n    version: 16\n    instances: 1\n    apps:\n" in text
    )
    from kuploy_gitops import yamlio

    assert tenant_spec.parse_spec(yamlio.load(text), "kim.yaml", text) == spec
    # A spec without databases writes no `databases:` key (existing files are unchanged).
    assert "databases" not in tenant_spec.dump_spec(KIM)
    bad = text.replace("    instances: 1\n", "    instance: 1\n")
    with pytest.raises(ConfigError, match="databases.db.instance"):
        tenant_spec.parse_spec(yamlio.load(bad), "kim.yaml", bad)


def test_a_platform_whose_registries_refuse_the_images_refuses_databases() -> None:
    # The tenants' image admission (and validate) would refuse the operator's pods.
    data: dict[str, Any] = {**DATA, "registries": ["ghcr.io/konkuk-kuploy/"]}
    with pytest.raises(InvalidInputError) as exc:
        check(DatabaseSpec(name="db"), cfg=config.parse_config(data))
    assert exc.value.message == (
        "the platform's registries do not admit the PostgreSQL image "
        "'ghcr.io/cloudnative-pg/postgresql:17'"
    )
    assert exc.value.hint.startswith("add 'ghcr.io/cloudnative-pg/' to registries")


def test_object_storage_backups_take_no_volume_or_job_of_the_quota() -> None:
    # With pg_dump, two instances and the backup volume are 3 claims: over the small tier's 2.
    with pytest.raises(InvalidInputError, match="persistentvolumeclaims 3"):
        check(DatabaseSpec(name="db", instances=2))
    s3 = {
        "backup": "s3",
        "s3_endpoint": "https://s3.lab.example.ac.kr",
        "s3_bucket": "kuploy-db",
        "s3_cidrs": ["192.0.2.10/32"],
    }
    cfg = config.parse_config({**DATA, "databases": s3})
    check(DatabaseSpec(name="db", instances=2), cfg=cfg)
    assert db_spec.usage(DatabaseSpec(name="db", instances=2), dumps=False)["pods"] == 2.0


def test_the_operators_services_count_with_the_apps() -> None:
    # The operator makes 3 Services (rw, ro, r): with 3 apps that is 6, over the small tier's 5.
    apps = tuple(replace(WEB, name=n, size="tiny") for n in ("a", "b", "c"))
    with pytest.raises(InvalidInputError, match="would need services 6, over tier 'small' quota 5"):
        check(DatabaseSpec(name="db", size="256Mi"), spec=replace(KIM, apps=apps))
    check(DatabaseSpec(name="db", size="256Mi"), spec=replace(KIM, apps=apps[:2]))
