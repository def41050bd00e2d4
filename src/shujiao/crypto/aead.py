"""Authenticated encryption for data at rest: SM4-GCM (``gm`` suite, GB/T 32907 block cipher in
GCM mode, as in RFC 8998) and AES-256-GCM (``international``). Both from ``cryptography``."""

from __future__ import annotations

import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AeadAlgorithm = Literal["sm4-gcm", "aes-256-gcm"]
KEY_SIZES: dict[str, int] = {"sm4-gcm": 16, "aes-256-gcm": 32}
NONCE_SIZE = 12
TAG_SIZE = 16


class DecryptionFailed(Exception):
    """The ciphertext, its nonce, its associated data or the key is not the one that was used."""


class Aead:
    """One key of one algorithm. ``seal`` returns ciphertext || 16-byte tag."""

    def __init__(self, algorithm: AeadAlgorithm, key: bytes) -> None:
        if algorithm not in KEY_SIZES:
            raise ValueError(f"unknown AEAD algorithm {algorithm!r}")
        if len(key) != KEY_SIZES[algorithm]:
            raise ValueError(f"{algorithm} needs a {KEY_SIZES[algorithm]}-byte key")
        self.algorithm = algorithm
        self._key = key
        self._aes = AESGCM(key) if algorithm == "aes-256-gcm" else None

    @staticmethod
    def generate_key(algorithm: AeadAlgorithm) -> bytes:
        return os.urandom(KEY_SIZES[algorithm])

    def seal(self, nonce: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        if self._aes is not None:
            return self._aes.encrypt(nonce, plaintext, associated_data)
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated_data)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return ciphertext + encryptor.tag

    def open(self, nonce: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
        if len(sealed) < TAG_SIZE:
            raise DecryptionFailed("ciphertext shorter than its tag")
        try:
            if self._aes is not None:
                return self._aes.decrypt(nonce, sealed, associated_data)
            ciphertext, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
            decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
            decryptor.authenticate_additional_data(associated_data)
            return decryptor.update(ciphertext) + decryptor.finalize()
        except InvalidTag:
            raise DecryptionFailed("authentication tag does not match") from None
