"""Credentials in plain text (validate/secrets.py, rule secret.plaintext), never echoed.

The student folder is ``corpus/secrets/deploy/`` (every credential in it made up; see its README).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml

from kuploy_gitops import cli
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import secrets

FOLDER = Path(__file__).parent / "corpus" / "secrets" / "deploy"
STUDENT = "kim-minji"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("sk-proj-Zq8Lw3Rt6Yp1Nm4Kd7Hs0Vb2Xc5Jf9GaQe", "an OpenAI API key"),
        ("OPENAI=sk-Zq8Lw3Rt6Yp1Nm4Kd7Hs0Vb2Xc5Jf9GaQe", "an OpenAI API key"),
        ("AKIA4Q7ZR2M9XK3LT8WB", "an AWS access key id"),
        ("ghp_R7tY2uI9oP4aS6dF1gH8jK3lZ5xC0vB2nM4q", "a GitHub token"),
        ("ghs_R7tY2uI9oP4aS6dF1gH8jK3lZ5xC0vB2nM4q", "a GitHub token"),
        ("github_pat_11AB7tY2uI9oP4aS6dF1gH_8jK3lZ5xC0vB2nM4q", "a GitHub token"),
        ("xoxp-2481632640-1357911131517-Hq3Wz8Lm5Tn1Rv7Ky2Pd9Jc4", "a Slack token"),
        ("AIzaSyQ7vN2mK9xL4wR8tY3pB6jH1fD5sG0aZcE", "a Google API key"),
        ("sk_live_9fQ2mW7xL4tR8yN3vB6kJ1hD", "a Stripe secret key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", "a private key"),
        ("-----BEGIN EC PRIVATE KEY-----", "a private key"),
        ("amqp://shop:Tr0ub4dor3xq@mq:5672/", "a URL with a password"),
        ("redis://:p4ssw0rd-7@redis:6379/0", "a URL with a password"),
    ],
)
def test_credentials_are_recognised(text: str, what: str) -> None:
    assert secrets.credential_kind(text) == what


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello: world",
        "${OPENAI_API_KEY}",
        "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "sk-your-key-here-please-replace-it",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_000000000000000000000000000000000000",
        "postgres://shop:$(DB_PASSWORD)@db:5432/shop",
        "postgres://shop:${DB_PASSWORD}@db/shop",
        "postgres://user:password@localhost/db",
        "mysql://root:<password>@db/app",
        "https://github.com/konkuk-kuploy/kim-minji-shop.git",
        "git@github.com:konkuk-kuploy/kim-minji-shop.git",
        "http://shop:8080/healthz",
        "ghcr.io/konkuk-kuploy/demo@sha256:" + "ab" * 32,
        "--disk-cache-size=1024",
        "task-abcdefghijklmnopqrstuvwxyz0123",
    ],
)
def test_placeholders_and_ordinary_values_are_not_credentials(text: str) -> None:
    assert secrets.credential_kind(text) is None


def test_a_secret_is_left_to_secret_committed_data() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    secret["stringData"] = {"KEY": "ghp_R7tY2uI9oP4aS6dF1gH8jK3lZ5xC0vB2nM4q"}
    assert secrets.check_plaintext(secret) == []


def _values(node: object) -> list[str]:
    """Every string in a parsed manifest (binaryData decoded as well)."""
    if isinstance(node, dict):
        return [v for x in node.values() for v in _values(x)]
    if isinstance(node, list):
        return [v for x in node for v in _values(x)]
    return [node] if isinstance(node, str) else []


def credentials_in_folder() -> list[str]:
    """The credential values of the folder (what must never be printed), with their parts."""
    out: list[str] = []
    for path in sorted(FOLDER.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            texts = _values(doc)
            for value in (doc.get("binaryData") or {}).values():
                texts.append(base64.b64decode(value).decode())
                texts.append(value)
            for text in texts:
                if secrets.credential_kind(text) is None:
                    continue
                out.append(text)
                # The token alone, and a URL's password alone.
                out += re.findall(r"[A-Za-z0-9_]{16,}", text)
                out += re.findall(r"://[^:/@]*:([^@]+)@", text)
    return out


def test_the_folder_reports_each_credential_and_prints_none(
    demo: Path, crd_dir: Path, chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["-C", str(demo), "validate", "--student", STUDENT, "--crd-dir", str(crd_dir)]
    assert cli.run([*base, "-o", "json", str(FOLDER)]) == 8
    out, err = capsys.readouterr()
    findings = json.loads(out)["findings"]
    # Nothing else is wrong with the folder: every error is a credential.
    assert {f["rule"] for f in findings if f["severity"] == "error"} == {F.SECRET_PLAINTEXT}
    got = sorted(
        (Path(f["file"]).name, f["line"], f["message"])
        for f in findings
        if f["rule"] == F.SECRET_PLAINTEXT
    )
    looks, cm = " holds what looks like ", "ConfigMap 'shop-config'"
    aws = "an AWS access key id"
    assert got == [
        ("configmap.yaml", 8, f"{cm} key 'OPENAI_API_KEY'{looks}an OpenAI API key"),
        ("configmap.yaml", 9, f"{cm} key 'DATABASE_URL'{looks}a URL with a password"),
        ("configmap.yaml", 17, f"{cm} key 'tls.key'{looks}a private key"),
        ("deployment.yaml", 27, f"container 'app' command[2]{looks}a Stripe secret key"),
        ("deployment.yaml", 29, f"container 'app' args[0]{looks}a Google API key"),
        ("deployment.yaml", 32, f"container 'app' env 'GITHUB_TOKEN'{looks}a GitHub token"),
        ("deployment.yaml", 34, f"container 'app' env 'SLACK_BOT_TOKEN'{looks}a Slack token"),
        ("deployment.yaml", 36, f"container 'app' env 'AWS_ACCESS_KEY_ID'{looks}{aws}"),
    ]  # fmt: skip
    assert cli.run([*base, str(FOLDER)]) == 8
    text_out, text_err = capsys.readouterr()
    assert "secret.plaintext" in text_out
    values = credentials_in_folder()
    assert len(values) >= 8
    for value in values:
        for where in (out, err, text_out, text_err):
            assert value not in where


KEY = "sk-proj-" + "Q7mZ2xW9kLp4Rt8vYc3Nb6Hd1Fg5Js0A"


def test_no_rule_quotes_a_credential(
    demo: Path, crd_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rules that quote a value (schema, names, labels) mask what looks like a credential."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n"
        f"  labels: {{key: '{KEY}'}}\ndata:\n  OPENAI_API_KEY: ['{KEY}']\n"
        f"  URL: {{u: 'postgres://app:{KEY[8:]}@db:5432/x'}}\n"
    )
    base = ["-C", str(demo), "validate", "--student", STUDENT, "--crd-dir", str(crd_dir)]
    for fmt in ("text", "json", "github"):
        assert cli.run([*base, "-o", fmt, str(folder)]) == 8
        out, err = capsys.readouterr()
        assert "schema.invalid" in out and "***" in out
        assert KEY[8:] not in out + err


def test_mask_replaces_every_credential_look_alike() -> None:
    from kuploy_gitops.validate.credentials import mask

    assert mask(f"value ['{KEY}'] is not a string") == "value ['***'] is not a string"
    assert mask("https://u:hunter22@h/x") == "https://u:***@h/x"
    assert mask("nothing secret here: sk-short") == "nothing secret here: sk-short"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("API_KEY", True),
        ("DB_PASSWORD", True),
        ("jwtSecret", True),
        ("apiKey", True),
        ("GITHUB_TOKEN", True),
        ("SECRET_KEY_BASE", True),
        ("tls.private.pem", True),
        ("OAUTH_CLIENT_SECRET", True),
        ("MODE", False),
        ("KEYBOARD_LAYOUT", False),
        ("PORT", False),
        ("DATABASE_URL", False),  # by its name; a password in its value is caught by its look
        ("PASSAGE_COUNT", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    from kuploy_gitops.validate.credentials import secret_name

    assert secret_name(name) is secret


SEALED_CREDENTIAL = "ghp_R7tY2uI9oP4aS6dF1gH8jK3lZ5xC0vB2nM4q"  # made up


def _sealed(name: str) -> dict[str, object]:
    """A SealedSecret as `secret set` renders it (kubeseal writes the same shape)."""
    from sealing_keys import keypair

    from kuploy_gitops import sealing

    key = sealing.load_certificate(keypair()[1], "cert.pem")
    meta = {"name": name, "namespace": STUDENT}
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": meta,
        "spec": {
            "encryptedData": {"API_KEY": sealing.seal_value(key, STUDENT, name, b"v")},
            "template": {"metadata": meta, "type": "Opaque"},
        },
    }


def test_sealed_secrets_pass_and_plain_secrets_and_plain_templates_do_not(
    demo: Path, crd_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SealedSecret is a tenant kind that matches its vendored CRD; a Secret with data, a
    credential in a SealedSecret's (unencrypted) template data, and a SealedSecret that breaks
    the CRD schema are refused, with the fix naming `secret set` and kubeseal."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "sealedsecret.yaml").write_text(yaml.safe_dump(_sealed("web-secrets")))
    templated = _sealed("api-secrets")
    templated["spec"]["template"]["data"] = {"TOKEN": SEALED_CREDENTIAL}  # type: ignore[index]
    broken = _sealed("cli-secrets")
    broken["spec"]["encryptedData"] = ["not", "a", "map"]  # type: ignore[index]
    plain = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}}
    plain["stringData"] = {"API_KEY": "q7Zp2Lm9Xw"}
    wide = _sealed("wide-secrets")
    wide["metadata"] = {**wide["metadata"], "annotations": {  # type: ignore[dict-item]
        "sealedsecrets.bitnami.com/namespace-wide": "true"
    }}  # fmt: skip
    docs = [templated, broken, plain, wide]
    (bad / "objects.yaml").write_text(yaml.safe_dump_all(docs))
    base = ["-C", str(demo), "validate", "--student", STUDENT, "--crd-dir", str(crd_dir)]
    assert cli.run([*base, "-o", "json", str(good)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert cli.run([*base, "-o", "json", str(bad)]) == 8
    out, err = capsys.readouterr()
    found = [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
    assert sorted(f["rule"] for f in found) == sorted(
        [F.SECRET_PLAINTEXT, "schema.invalid", F.SECRET_DATA]
    )
    by_rule = {f["rule"]: f["message"] for f in found}
    assert by_rule[F.SECRET_PLAINTEXT].startswith("SealedSecret 'api-secrets' template data")
    assert by_rule[F.SECRET_DATA].startswith("Secret 'plain' has stringData")
    assert "encryptedData" in json.dumps([f for f in found if f["rule"] == "schema.invalid"])
    warned = [f["message"] for f in json.loads(out)["findings"] if f["severity"] == "warning"]
    assert warned == ["SealedSecret 'wide-secrets' is sealed namespace-wide, not strict"]
    fixes = {f["rule"]: f.get("fix", "") for f in json.loads(out)["findings"]}
    for rule in (F.SECRET_DATA, F.SECRET_PLAINTEXT):
        assert "kuploy-gitops secret set" in fixes[rule] and "kubeseal" in fixes[rule]
    assert SEALED_CREDENTIAL not in out + err
