"""Key material shared by every emulator in the process (RSA generation costs ~50-200 ms)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt


@dataclass(frozen=True)
class KeyMaterial:
    private_pem: str  # PKCS#8, as in a real key file
    public_pem: str
    key_id: str  # "private_key_id" in the key file, "kid" in the JWT header

    @property
    def verifier(self) -> crypt.RSAVerifier:
        return crypt.RSAVerifier.from_string(self.public_pem)


_KEY_LOCK = threading.Lock()
_KEY: KeyMaterial | None = None


def shared_key() -> KeyMaterial:
    global _KEY
    with _KEY_LOCK:
        if _KEY is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            public_der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            public_pem = (
                key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            # Real private_key_ids are 40 hex chars; derive it from the key so it is stable.
            _KEY = KeyMaterial(private_pem, public_pem, hashlib.sha1(public_der).hexdigest())
        return _KEY
