"""kuploy_gitops/sealing.py: the controller's hybrid format, round trip, label binding, layout.

The Go cross-check against the real sealed-secrets code is tests/test_sealing_go.py (slow tier).
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sealing_keys import keypair

from kuploy_gitops import sealing
from kuploy_gitops.errors import ConfigError


def public() -> rsa.RSAPublicKey:
    return sealing.load_certificate(keypair()[1], "cert.pem")


def test_round_trip_opens_with_the_same_label() -> None:
    key, _ = keypair()
    label = sealing.strict_label("kim", "web-secrets")
    for value in (b"s3cr3t", b"", "비밀번호".encode(), bytes(range(256)) * 40):
        sealed = sealing.hybrid_encrypt(public(), value, label)
        assert sealing.hybrid_decrypt(key, sealed, label) == value


def test_strict_label_is_namespace_slash_name() -> None:
    assert sealing.strict_label("kim", "web-secrets") == b"kim/web-secrets"


@pytest.mark.parametrize(
    "other", [("lee", "web-secrets"), ("kim", "api-secrets"), ("kim/web", "secrets"), ("", "")]
)
def test_sealed_for_one_object_does_not_open_as_another(other: tuple[str, str]) -> None:
    key, _ = keypair()
    sealed = base64.b64decode(sealing.seal_value(public(), "kim", "web-secrets", b"v"))
    with pytest.raises(ValueError):
        sealing.hybrid_decrypt(key, sealed, sealing.strict_label(*other))


def test_layout_is_length_rsa_block_then_gcm() -> None:
    """2-byte big-endian RSA length, RSA-OAEP(SHA-256) of a 32-byte key, AES-256-GCM zero nonce."""
    key, _ = keypair()
    value, label = b"hello world", b"kim/web-secrets"
    sealed = sealing.hybrid_encrypt(public(), value, label)
    rsa_len = int.from_bytes(sealed[:2], "big")
    assert rsa_len == key.key_size // 8 == 256
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
    session_key = key.decrypt(sealed[2 : 2 + rsa_len], oaep)
    assert len(session_key) == 32
    gcm = sealed[2 + rsa_len :]
    assert len(gcm) == len(value) + 16  # ciphertext and the 16-byte tag, no nonce stored
    assert AESGCM(session_key).decrypt(b"\0" * 12, gcm, None) == value


def test_each_seal_uses_a_new_session_key() -> None:
    a = sealing.seal_value(public(), "kim", "web-secrets", b"same")
    b = sealing.seal_value(public(), "kim", "web-secrets", b"same")
    assert a != b
    assert base64.b64encode(base64.b64decode(a)).decode() == a  # standard base64, padded


@pytest.mark.parametrize("bad", [b"", b"\x01", b"\x01\x00" + b"x" * 10])
def test_truncated_ciphertext_is_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        sealing.hybrid_decrypt(keypair()[0], bad, b"kim/web-secrets")


def test_tampered_ciphertext_does_not_open() -> None:
    sealed = bytearray(sealing.hybrid_encrypt(public(), b"value", b"l"))
    sealed[-1] ^= 1
    with pytest.raises(ValueError, match="does not open"):
        sealing.hybrid_decrypt(keypair()[0], bytes(sealed), b"l")


def test_a_file_that_is_no_certificate_names_its_path() -> None:
    with pytest.raises(ConfigError, match="platform/x.pem is not a PEM certificate"):
        sealing.load_certificate(b"-----BEGIN NOTHING-----\n", "platform/x.pem")
