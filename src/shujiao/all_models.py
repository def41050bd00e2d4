"""Imports every domain's tables so that ``Base.metadata`` is complete (for Alembic and tests)."""

from shujiao.accounting import models as accounting_models  # noqa: F401
from shujiao.audit import models as audit_models  # noqa: F401
from shujiao.catalog import models as catalog_models  # noqa: F401
from shujiao.consent import models as consent_models  # noqa: F401
from shujiao.crypto import models as crypto_models  # noqa: F401
from shujiao.db import Base
from shujiao.delivery import models as delivery_models  # noqa: F401
from shujiao.fingerprint import models as fingerprint_models  # noqa: F401
from shujiao.gateway import models as gateway_models  # noqa: F401
from shujiao.ledger import models as ledger_models  # noqa: F401
from shujiao.listing import models as listing_models  # noqa: F401
from shujiao.market import models as market_models  # noqa: F401
from shujiao.members import models as member_models  # noqa: F401
from shujiao.public_data import models as public_data_models  # noqa: F401
from shujiao.quality import models as quality_models  # noqa: F401
from shujiao.registry import models as registry_models  # noqa: F401
from shujiao.sandbox import models as sandbox_models  # noqa: F401
from shujiao.sharing import models as sharing_models  # noqa: F401
from shujiao.tlog import models as tlog_models  # noqa: F401
from shujiao.usage import models as usage_models  # noqa: F401
from shujiao.valuation import models as valuation_models  # noqa: F401

metadata = Base.metadata
