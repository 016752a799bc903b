"""Sealing a value offline for the Sealed Secrets controller, in the controller's own format.

The format is the one of sealed-secrets' ``pkg/crypto`` (``HybridEncrypt``), checked against its
Go code in both directions by the tests (tests/test_sealing_go.py):

- a random 32-byte session key encrypts the value with AES-256-GCM under a zero nonce (the key
  is used once, so a fixed nonce is safe);
- the session key is encrypted with RSA-OAEP (SHA-256, MGF1 SHA-256) under the controller's
  public key, with the *label*: for the strict scope ``<namespace>/<name>`` of the SealedSecret,
  so the ciphertext opens only in that object (``v1alpha1.EncryptionLabel``);
- the output is the RSA ciphertext's length (2 bytes, big-endian), the RSA ciphertext, then the
  AES-GCM ciphertext with its tag; ``spec.encryptedData`` holds it in standard base64.

Each key of a Secret is sealed on its own, so changing one key re-seals only that key.
"""

from __future__ import annotations

import base64
import os

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kuploy_gitops.errors import ConfigError

SESSION_KEY_BYTES = 32
NONCE_BYTES = 12  # Go's cipher.NewGCM: the standard 96-bit nonce


def strict_label(namespace: str, name: str) -> bytes:
    """The strict scope's label: the ciphertext opens only as ``name`` in ``namespace``."""
    return f"{namespace}/{name}".encode()


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


def hybrid_encrypt(public_key: rsa.RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    """``plaintext`` sealed for ``public_key`` with ``label`` (the layout above)."""
    session_key = os.urandom(SESSION_KEY_BYTES)
    rsa_ciphertext = public_key.encrypt(session_key, _oaep(label))
    aes_ciphertext = AESGCM(session_key).encrypt(bytes(NONCE_BYTES), plaintext, None)
    return len(rsa_ciphertext).to_bytes(2, "big") + rsa_ciphertext + aes_ciphertext


def hybrid_decrypt(private_key: rsa.RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    """The inverse of :func:`hybrid_encrypt`: what the controller does.

    kuploy itself never holds the private key; the tests use this to open what was sealed.

    Raises:
        ValueError: the ciphertext is too short, or does not open with this key and label.
    """
    if len(ciphertext) < 2:
        raise ValueError("ciphertext is too short")
    rsa_len = int.from_bytes(ciphertext[:2], "big")
    if len(ciphertext) < rsa_len + 2:
        raise ValueError("ciphertext is too short")
    session_key = private_key.decrypt(ciphertext[2 : rsa_len + 2], _oaep(label))
    try:
        return AESGCM(session_key).decrypt(bytes(NONCE_BYTES), ciphertext[rsa_len + 2 :], None)
    except InvalidTag as exc:
        raise ValueError("ciphertext does not open (corrupt or wrong key)") from exc


def seal_value(public_key: rsa.RSAPublicKey, namespace: str, name: str, value: bytes) -> str:
    """One ``spec.encryptedData`` value: ``value`` sealed for ``namespace/name`` (strict)."""
    sealed = hybrid_encrypt(public_key, value, strict_label(namespace, name))
    return base64.b64encode(sealed).decode("ascii")


def load_certificate(pem: bytes, source: str) -> rsa.RSAPublicKey:
    """The RSA public key of the controller's certificate (``kubeseal --fetch-cert`` output).

    Raises:
        ConfigError: not a PEM certificate, or not an RSA key; names ``source``.
    """
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise ConfigError(
            f"{source} is not a PEM certificate",
            hint="fetch it again with kubeseal --fetch-cert (see docs/admin-guide.md, "
            '"Sealed Secrets")',
        ) from exc
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(
            f"{source} holds no RSA key (the Sealed Secrets controller's certificate has one)",
            hint="fetch the controller's certificate with kubeseal --fetch-cert",
        )
    return key
