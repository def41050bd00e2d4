"""The web application: JSON API under /api/v1, Chinese-first pages elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from shujiao.accounting.api import router as accounting_api
from shujiao.audit.api import router as audit_api
from shujiao.catalog.api import router as catalog_api
from shujiao.catalog.storage import LocalFileStorage
from shujiao.commands import SYSTEM
from shujiao.config import Settings
from shujiao.consent.api import router as consent_api
from shujiao.crypto.api import router as crypto_api
from shujiao.db import make_engine, make_session_factory, unit_of_work, utcnow
from shujiao.delivery.api import router as delivery_api
from shujiao.fingerprint.api import router as fingerprint_api
from shujiao.gateway.api import router as gateway_api
from shujiao.gateway.asgi import Gateway
from shujiao.ledger.api import router as ledger_api
from shujiao.listing.api import router as listing_api
from shujiao.market.api import router as market_api
from shujiao.members.api import router as members_api
from shujiao.public_data.api import router as public_data_api
from shujiao.quality import jobs as quality_jobs
from shujiao.quality.api import router as quality_api
from shujiao.registry import jobs as registry_jobs
from shujiao.registry.api import router as registry_api
from shujiao.sandbox import jobs as sandbox_jobs
from shujiao.sandbox.api import router as sandbox_api
from shujiao.sharing.api import profiles as sharing_profiles_api
from shujiao.sharing.api import router as sharing_api
from shujiao.errors import DomainError
from shujiao.tlog import service as tlog
from shujiao.tlog.api import router as tlog_api
from shujiao.usage import api as usage_api
from shujiao.valuation.api import router as valuation_api
from shujiao.web import errors as web_errors
from shujiao.web import pages as web_pages

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Shujiao 数交",
        summary="Data element exchange platform (数据要素交易平台)",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app.state.session_factory = make_session_factory(app.state.engine)
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    app.state.storage = LocalFileStorage(settings.storage_root)

    for router in (members_api, catalog_api, listing_api, ledger_api, market_api, delivery_api, audit_api,
                   crypto_api, tlog_api, registry_api,
                   quality_api, valuation_api, accounting_api, fingerprint_api, gateway_api,
                   sharing_api, sharing_profiles_api, sandbox_api, public_data_api, consent_api):
        app.include_router(router)
    app.include_router(usage_api.router)
    # The API gateway is a lean ASGI app of its own (no per-call dependency injection).
    app.state.gateway = Gateway(settings, app.state.session_factory)
    app.mount("/gateway", app.state.gateway)
    web_pages.install(app)
    web_errors.install(app)
    usage_api.install_denial_logging(app)
    return app


# Certificates past their validity are recorded as expired (and their products delisted) this often.
EXPIRY_SWEEP_SECONDS = 3600


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    loops = [asyncio.create_task(_every(settings.log.checkpoint_interval_seconds, _publish_once, app,
                                        "checkpoint not published")),
             asyncio.create_task(_every(EXPIRY_SWEEP_SECONDS, _expire_certificates, app,
                                        "certificate expiry not recorded"))]
    if settings.quality.worker_interval_seconds:
        loops.append(asyncio.create_task(_every(settings.quality.worker_interval_seconds, _run_quality_evaluations,
                                                app, "quality evaluations not run")))
    if settings.sandbox.worker_interval_seconds:
        loops.append(asyncio.create_task(_every(settings.sandbox.worker_interval_seconds, _run_sandbox_jobs,
                                                app, "sandbox jobs not run")))
    try:
        yield
    finally:
        await app.state.gateway.stop()
        for loop in loops:
            loop.cancel()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop


async def _every(seconds: int, job: Callable[[FastAPI], object], app: FastAPI, failure: str) -> None:
    """Run ``job`` every interval. Every server process runs these loops; each job is safe to run
    in several processes at once (row locks and state checks make one of them do the work)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(job, app)
        except DomainError as exc:  # e.g. no keys yet: `shujiao keys init` has not run
            logger.warning("%s: %s", failure, exc.en)
        except Exception:  # keep going through a database outage
            logger.exception(failure)


def _publish_once(app: FastAPI) -> None:
    """Sign a checkpoint if the log grew; the head row lock and the interval check make the
    processes publish one checkpoint between them."""
    with unit_of_work(app.state.session_factory) as session:
        tlog.publish_checkpoint(session, SYSTEM, settings=app.state.settings)


def _expire_certificates(app: FastAPI) -> None:
    registry_jobs.expire_due(app.state.session_factory, app.state.settings, now=utcnow())


# A server process takes one queued evaluation a turn, so its loop keeps to its interval; more
# processes (or `shujiao quality work`) run more at once.
QUALITY_JOBS_PER_TURN = 1


def _run_quality_evaluations(app: FastAPI) -> None:
    quality_jobs.run_pending(app.state.session_factory, app.state.settings, app.state.storage,
                             limit=QUALITY_JOBS_PER_TURN)


# Like the quality worker: one sandbox job (or PSI run) a turn per server process.
SANDBOX_JOBS_PER_TURN = 1


def _run_sandbox_jobs(app: FastAPI) -> None:
    sandbox_jobs.run_pending(app.state.session_factory, app.state.settings, app.state.storage,
                             limit=SANDBOX_JOBS_PER_TURN)


def app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` and ``shujiao serve``: settings from SHUJIAO_* variables."""
    from shujiao.config import get_settings

    return create_app(get_settings())
