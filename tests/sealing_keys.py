"""A test keypair for Sealed Secrets: the controller's role, played by the tests.

The controller makes an RSA key (4096 bits by default) and a self-signed certificate; the tests
make a 2048-bit one (sealing works alike, and key generation stays quick), cached per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import self_signed


@functools.cache
def keypair() -> tuple[rsa.RSAPrivateKey, bytes]:
    """(private key, PEM certificate) of a throwaway "controller"."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # The controller's certificate: self-signed, CN "sealed-secret", valid for ten years.
    cert = self_signed(key.public_key(), "sealed-secret", days=3650).sign(key, hashes.SHA256())
    return key, cert.public_bytes(serialization.Encoding.PEM)


def private_pem() -> bytes:
    """The private key as PKCS#1 PEM (what the controller keeps in its Secret)."""
    return keypair()[0].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def install_cert(repo: Path) -> Path:
    """Commit-ready: the certificate where `secret set` reads it (not committed here)."""
    from kuploy_gitops import layout

    path = repo / layout.SEALED_SECRETS_CERT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(keypair()[1])
    return path
