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


class FingerprintSettings(BaseModel):
    """Fingerprinted buyer copies (数据指纹)."""

    # The exchange secret the per-product and per-order keys are derived from (HKDF); empty: derived
    # from ``secret_key``. Changing it makes copies already delivered undetectable.
    secret: str = ""
    # A product whose provider chose no policy is fingerprinted by default (no value changes, the
    # whole row as key) only from this many rows: a handful of rows cannot carry a fingerprint.
    default_min_rows: int = Field(1000, ge=0)
    # Detection names a buyer only when an innocent copy would match as well with a probability
    # (Bonferroni-corrected over the product's buyers) below this.
    threshold: float = Field(1e-6, gt=0, lt=1)


class GatewaySettings(BaseModel):
    """The API gateway (API 网关): how long it trusts what it cached, and how it shares quota and rate
    state with the other gateway processes through the database."""

    # A key -> contract resolution (grant, upstream, suspension) is reused this long: a revoked key,
    # a suspended contract or a changed upstream takes effect within this many seconds.
    cache_seconds: float = Field(2.0, ge=0, le=60)
    # A process claims this many calls at a time from a contract's period quota (fewer when little
    # is left) and returns what it did not use after ``lease_seconds``.
    lease_block_calls: int = Field(200, ge=1, le=100_000)
    lease_seconds: float = Field(2.0, gt=0, le=60)
    # Call records are inserted in batches this often, or sooner when this many are waiting.
    flush_seconds: float = Field(0.5, gt=0, le=60)
    flush_records: int = Field(2000, ge=1)
    # Billing waits this long after a period ends, so records still in a process's buffer are in.
    bill_grace_seconds: int = Field(60, ge=0)
    upstream_timeout_seconds: float = Field(30.0, gt=0)
    # Upstreams at loopback, private or link-local addresses are refused (the gateway would otherwise
    # reach into the exchange's own network on a provider's behalf); allow them for tests and benches.
    allow_private_upstreams: bool = False
    max_request_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_connections: int = Field(256, ge=1)


class SharingSettings(BaseModel):
    """Delta Sharing server (数据共享协议)."""

    # A profile's bearer token expires when its contract ends; for a contract without an end, after this.
    profile_ttl_days: int = Field(90, ge=1, le=3660)
    # Pre-signed file URLs handed out by a table query live this long.
    file_url_ttl_seconds: int = Field(900, ge=10, le=86_400)
    # The endpoint written into profile files; empty: the address the buyer reached the API at.
    public_base_url: str = Field("", pattern=r"^$|^https?://\S+[^/]$")


class SandboxSettings(BaseModel):
    """The data sandbox (数据沙箱): its job worker and the limits of one query."""

    # Each server process looks for queued sandbox jobs and PSI runs this often; 0 runs no worker in
    # the server (run `shujiao sandbox work` instead).
    worker_interval_seconds: int = Field(2, ge=0)
    # One query's engine limits (the policy's time limit applies as well, the lower of the two).
    memory_limit_mb: int = Field(4096, ge=64)
    threads: int = Field(2, ge=1, le=256)
    time_limit_seconds: int = Field(600, ge=1)
    stale_after_minutes: int = Field(30, ge=1)
    max_attempts: int = Field(3, ge=1, le=10)
    # A PSI request carries at most this many of the buyer's IDs.
    psi_max_ids: int = Field(2_000_000, ge=1)


class PublicDataSettings(BaseModel):
    """Public data (公共数据): the open-data portal, conditional access and data requests."""

    # A data request (需求征集) routed to a department must be answered within this many days.
    answer_days: int = Field(15, ge=1, le=365)
    # A supporting document of a conditional-access application (申请材料) is at most this large.
    max_document_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    # Where the portal lives, for the URLs in the DCAT export; empty: the address it was reached at.
    public_base_url: str = Field("", pattern=r"^$|^https?://\S+[^/]$")


class ConsentSettings(BaseModel):
    """Personal data authorization (个人数据授权): phone verification and persons' sessions."""

    # ``log``: the one-time code is written to the server log, and returned in the API response
    # outside production, instead of being sent by SMS (no SMS gateway is wired in yet).
    sms_backend: Literal["log"] = "log"
    code_ttl_seconds: int = Field(300, ge=30, le=3600)
    code_max_attempts: int = Field(5, ge=1, le=20)
    session_ttl_hours: int = Field(12, ge=1)
    # The longest consent any scenario may ask for.
    max_consent_days: int = Field(3 * 365, ge=1)


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
    fingerprint: FingerprintSettings = FingerprintSettings()
    gateway: GatewaySettings = GatewaySettings()
    sharing: SharingSettings = SharingSettings()
    sandbox: SandboxSettings = SandboxSettings()
    public_data: PublicDataSettings = PublicDataSettings()
    consent: ConsentSettings = ConsentSettings()

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
