"""Typed settings, read from the environment once and passed in (never built at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"


class AuthSettings(BaseModel):
    token_ttl_hours: int = Field(12, ge=1)
    cookie_name: str = "shujiao_session"
    cookie_secure: bool = False


class CatalogSettings(BaseModel):
    max_upload_bytes: int = Field(512 * 1024 * 1024, ge=1024)


class MarketSettings(BaseModel):
    # Exchange fee in basis points of the order amount (300 = 3%).
    fee_rate_bp: int = Field(300, ge=0, le=10_000)
    # An order the buyer neither accepts nor disputes settles by itself after this many days.
    auto_settle_days: int = Field(7, ge=0)


class DeliverySettings(BaseModel):
    link_ttl_seconds: int = Field(3600, ge=1)


class CryptoSettings(BaseModel):
    # ``gm``: SM2 signatures, SM3 hashes, SM4-GCM at rest (国密, GM/T 0003/0004/0002);
    # ``international``: Ed25519, SHA-256, AES-256-GCM.
    suite: Literal["gm", "international"] = "gm"
    # Names the exchange's keys in signed notes (C2SP signed-note): no spaces, no '+'.
    key_name: str = Field("shujiao.local", pattern=r"^[^\s+]+$")


class LogSettings(BaseModel):
    # The checkpoint's origin line: names this log, unique among logs (C2SP tlog-checkpoint).
    origin: str = Field("shujiao.local/log", pattern=r"^\S.*\S$|^\S$")
    # A new signed checkpoint at least this often while the log grows.
    checkpoint_interval_seconds: int = Field(60, ge=1)


class RegistrySettings(BaseModel):
    # The first part of every certificate number (see registry/numbers.py): 2–6 letters or digits.
    exchange_code: str = Field("SJ", pattern=r"^[A-Z0-9]{2,6}$")
    exchange_name: str = "数交数据交易中心 Shujiao Data Exchange"
    # Public comment period (公示期): objections are taken and approval waits until it ends.
    publicity_days: int = Field(10, ge=0, le=90)
    validity_years: int = Field(3, ge=1, le=20)
    # A product is listed only if its data carries a valid registration held by the seller.
    require_for_listing: bool = False
    max_document_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    # Where the public verification page lives, for the QR code on certificates.
    public_base_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://\S+[^/]$")


class QualitySettings(BaseModel):
    """Data quality evaluation (数据质量评价, GB/T 36344-2018)."""

    # A dataset of at most this many rows is evaluated inside the request; a larger one is queued
    # (评价队列) and profiled by a worker: a 10M-row profile takes minutes, past any request timeout.
    inline_max_rows: int = Field(1_000_000, ge=0)
    # Each server process looks for queued evaluations this often; 0 runs no worker in the server
    # (run `shujiao quality work` instead).
    worker_interval_seconds: int = Field(5, ge=0)
    # A job still running after this long lost its worker (the process died) and is queued again...
    stale_after_minutes: int = Field(30, ge=1)
    # ...at most this many times in all, then it is failed.
    max_attempts: int = Field(3, ge=1, le=10)


class SharingSettings(BaseModel):
    """Delta Sharing server (数据共享协议)."""

    # A profile's bearer token expires when its contract ends; for a contract without an end, after this.
    profile_ttl_days: int = Field(90, ge=1, le=3660)
    # Pre-signed file URLs handed out by a table query live this long.
    file_url_ttl_seconds: int = Field(900, ge=10, le=86_400)
    # The endpoint written into profile files; empty: the address the buyer reached the API at.
    public_base_url: str = Field("", pattern=r"^$|^https?://\S+[^/]$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHUJIAO_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = ""
    data_dir: Path = Path("var")
    secret_key: str = DEVELOPMENT_SECRET_KEY
    sql_echo: bool = False

    auth: AuthSettings = AuthSettings()
    catalog: CatalogSettings = CatalogSettings()
    market: MarketSettings = MarketSettings()
    delivery: DeliverySettings = DeliverySettings()
    crypto: CryptoSettings = CryptoSettings()
    log: LogSettings = LogSettings()
    registry: RegistrySettings = RegistrySettings()
    quality: QualitySettings = QualitySettings()
    sharing: SharingSettings = SharingSettings()

    @model_validator(mode="after")
    def _derive_and_check(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'shujiao.db').as_posix()}"
        if self.environment != "development":
            if self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "SHUJIAO_SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development"
                )
        return self

    @property
    def storage_root(self) -> Path:
        return self.data_dir / "storage"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"


def get_settings() -> Settings:
    return Settings()
