"""Our signing keys for SMART Backend Services client assertions, and the JWKS the EHRs fetch them from.

Keys are PEM files (EC P-384 for ES384, RSA for RS384). The first key signs; every key is published, so a
new key can be added before the old one is retired. The key id is the RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ASSERTION_LIFETIME = 300  # seconds: SMART Backend Services allows no more than five minutes


class SigningKeyError(Exception):
    """A signing key is missing or unusable; the message says which file and why."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str  # ES384 | RS384
    private: Any
    jwk: dict[str, Any]  # the public key as a JWK, with kid, alg and use


def _thumbprint(jwk: dict[str, Any]) -> str:
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def load_key(path: Path) -> SigningKey:
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as err:
        raise SigningKeyError(
            f"{path}: no such key file (make one with `fhir-adapter keys generate {path}`)"
        ) from err
    except ValueError as err:
        raise SigningKeyError(f"{path}: not a PEM private key ({err})") from err
    if isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp384r1":
        alg, jwk = "ES384", ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif isinstance(private, rsa.RSAPrivateKey) and private.key_size >= 2048:
        alg, jwk = "RS384", RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise SigningKeyError(
            f"{path}: use an EC P-384 key (ES384) or an RSA key of 2048 bits or more (RS384)"
        )
    kid = _thumbprint(jwk)
    return SigningKey(kid, alg, private, jwk | {"kid": kid, "alg": alg, "use": "sig", "key_ops": ["verify"]})


def load_keys(paths: tuple[Path, ...]) -> list[SigningKey]:
    return [load_key(path) for path in paths]


def generate(path: Path, alg: str = "ES384") -> SigningKey:
    """Write a new private key (mode 0600); refuse to overwrite one."""
    if path.exists():
        raise SigningKeyError(f"{path} exists: remove it first if you mean to replace the key")
    if alg == "ES384":
        private: Any = ec.generate_private_key(ec.SECP384R1())
    elif alg == "RS384":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise SigningKeyError(f"unknown algorithm {alg}: ES384 or RS384")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return load_key(path)


def jwks(keys: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [key.jwk for key in keys]}


def client_assertion(key: SigningKey, client_id: str, token_url: str, now: float | None = None) -> str:
    """A private_key_jwt client assertion: iss = sub = our client id, aud = the token URL, unique jti."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": issued + ASSERTION_LIFETIME,
        "iat": issued,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})
