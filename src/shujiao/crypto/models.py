from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, UTCDateTime


class CryptoKey(Base):
    """One of the exchange's keys. The private half lives encrypted in a file under the key folder;
    the row says what it is, and — for signing keys — carries the public key for anyone to verify.

    A rotated key gets ``valid_to`` and is never deleted: what it signed stays verifiable.
    """

    __tablename__ = "crypto_key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # signing | master
    algorithm: Mapped[str] = mapped_column(String(16))  # ed25519 | sm2 | sm4-gcm | aes-256-gcm
    # Signed-note identity (C2SP signed-note): the key name and the 32-bit key ID derived from it.
    note_name: Mapped[str | None] = mapped_column(String(200))
    note_key_id: Mapped[int | None] = mapped_column(BigInteger)
    public_pem: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.valid_to is None
