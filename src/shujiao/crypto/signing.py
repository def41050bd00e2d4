"""Signatures: Ed25519 (RFC 8032, ``cryptography``) and SM2 (GB/T 32918.2 with SM3, curve sm2p256v1,
default user ID ``1234567812345678``, via ``tongsuopy``).

Both sit behind the same two small protocols so that callers — checkpoints, certificates — never
name an algorithm. Private keys are written as encrypted PKCS#8 PEM; public keys as SPKI PEM, which
any tool (``openssl``, ``gmssl``, Go's x509) reads.
"""

from __future__ import annotations

from typing import Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from tongsuopy.crypto import hashes as gm_hashes
from tongsuopy.crypto import serialization as gm_serialization
from tongsuopy.crypto.asymciphers import ec as gm_ec
from tongsuopy.crypto.exceptions import InternalError as GmInternalError
from tongsuopy.crypto.exceptions import InvalidSignature as GmInvalidSignature

SignatureAlgorithm = Literal["ed25519", "sm2"]
SIGNATURE_ALGORITHMS: tuple[SignatureAlgorithm, ...] = ("ed25519", "sm2")

# GB/T 35276 §10 / GM/T 0009: the user ID used when the parties agreed on none.
SM2_DEFAULT_USER_ID = b"1234567812345678"


class Verifier(Protocol):
    algorithm: SignatureAlgorithm

    def verify(self, signature: bytes, data: bytes) -> bool: ...
    def public_pem(self) -> str: ...
    def public_bytes(self) -> bytes:
        """The raw public key: 32 bytes for Ed25519, the 65-byte uncompressed point for SM2."""
        ...


class Signer(Protocol):
    algorithm: SignatureAlgorithm

    def sign(self, data: bytes) -> bytes: ...
    def verifier(self) -> Verifier: ...
    def private_pem(self, passphrase: bytes) -> bytes: ...


class Ed25519Verifier:
    algorithm: SignatureAlgorithm = "ed25519"

    def __init__(self, key: ed25519.Ed25519PublicKey) -> None:
        self._key = key

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def public_pem(self) -> str:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_bytes(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Ed25519Signer:
    algorithm: SignatureAlgorithm = "ed25519"

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> "Ed25519Signer":
        return cls(ed25519.Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._key.public_key())

    def private_pem(self, passphrase: bytes) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )


def _sm2_signature_algorithm() -> gm_ec.ECDSA:
    # tongsuopy names the SM2 signature scheme through its ECDSA wrapper; with an SM2 key and SM3
    # it runs GB/T 32918.2 (Z_A from the default user ID, then e = SM3(Z_A || M)).
    return gm_ec.ECDSA(gm_hashes.SM3())


class Sm2Verifier:
    algorithm: SignatureAlgorithm = "sm2"

    def __init__(self, key: gm_ec.EllipticCurvePublicKey) -> None:
        self._key = key

    @classmethod
    def from_point(cls, point: bytes) -> "Sm2Verifier":
        """From an uncompressed point ``04 || x || y``."""
        return cls(gm_ec.EllipticCurvePublicKey.from_encoded_point(gm_ec.SM2(), point))

    def verify(self, signature: bytes, data: bytes) -> bool:
        """``signature`` is DER: SEQUENCE { r INTEGER, s INTEGER } (GB/T 35276 §7.2)."""
        try:
            self._key.verify(signature, data, _sm2_signature_algorithm())
        except GmInvalidSignature:
            return False
        except GmInternalError:  # what tongsuopy raises for a signature that is not valid DER
            return False
        return True

    def public_pem(self) -> str:
        return self._key.public_bytes(
            gm_serialization.Encoding.PEM, gm_serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_bytes(self) -> bytes:
        return self._key.public_bytes(
            gm_serialization.Encoding.X962, gm_serialization.PublicFormat.UncompressedPoint
        )


class Sm2Signer:
    algorithm: SignatureAlgorithm = "sm2"

    def __init__(self, key: gm_ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> "Sm2Signer":
        return cls(gm_ec.generate_private_key(gm_ec.SM2()))

    @classmethod
    def from_private_value(cls, d: int) -> "Sm2Signer":
        return cls(gm_ec.derive_private_key(d, gm_ec.SM2()))

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, _sm2_signature_algorithm())

    def verifier(self) -> Sm2Verifier:
        return Sm2Verifier(self._key.public_key())

    def private_pem(self, passphrase: bytes) -> bytes:
        return self._key.private_bytes(
            gm_serialization.Encoding.PEM,
            gm_serialization.PrivateFormat.PKCS8,
            gm_serialization.BestAvailableEncryption(passphrase),
        )


def generate_signer(algorithm: SignatureAlgorithm) -> Signer:
    if algorithm == "ed25519":
        return Ed25519Signer.generate()
    if algorithm == "sm2":
        return Sm2Signer.generate()
    raise ValueError(f"unknown signature algorithm {algorithm!r}")


def load_signer(algorithm: SignatureAlgorithm, pem: bytes, passphrase: bytes) -> Signer:
    if algorithm == "ed25519":
        key = serialization.load_pem_private_key(pem, passphrase)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("the key file does not hold an Ed25519 key")
        return Ed25519Signer(key)
    if algorithm == "sm2":
        return Sm2Signer(gm_serialization.load_pem_private_key(pem, passphrase))
    raise ValueError(f"unknown signature algorithm {algorithm!r}")


def load_verifier(algorithm: SignatureAlgorithm, public_pem: str) -> Verifier:
    if algorithm == "ed25519":
        key = serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise ValueError("the PEM does not hold an Ed25519 public key")
        return Ed25519Verifier(key)
    if algorithm == "sm2":
        key = gm_serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key.curve, gm_ec.SM2):
            raise ValueError("the PEM does not hold an SM2 public key")
        return Sm2Verifier(key)
    raise ValueError(f"unknown signature algorithm {algorithm!r}")
