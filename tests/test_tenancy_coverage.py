"""Every API route that takes an id is in a tenancy test — another member gets 404 (403 where the
object is public, like a certificate) and changes nothing — or is listed here with why it is not a
member's private object. A new route with an id fails this test until it is one or the other."""

from __future__ import annotations

import re

from shujiao.app import create_app
from shujiao.config import Settings
from tests.accounting.test_api import FOREIGN_CALLS as ACCOUNTING
from tests.consent.test_api import FOREIGN as CONSENT
from tests.consent.test_api import FOREIGN_PERSON as CONSENT_PERSON
from tests.fingerprint.test_api import FOREIGN as FINGERPRINT
from tests.gateway.test_api import FOREIGN as GATEWAY
from tests.public_data.test_api import FOREIGN as PUBLIC_DATA
from tests.quality.test_api import FOREIGN_REQUESTS as QUALITY
from tests.quality.test_jobs import FOREIGN_JOB_REQUESTS as QUALITY_JOBS
from tests.registry.test_api import FOREIGN_CERTIFICATE_ACTIONS as REGISTRY
from tests.sandbox.test_api import FOREIGN as SANDBOX
from tests.sharing.test_api import FOREIGN_SHARING as SHARING
from tests.test_tenancy import FOREIGN_REQUESTS as CORE
from tests.test_tenancy import FOREIGN_UPLOADS as UPLOADS
from tests.usage.test_api import FOREIGN as USAGE
from tests.valuation.test_api import FOREIGN as VALUATION

OPERATOR_ONLY = "operator only: a member gets 403 (test_tenancy.test_members_cannot_use_operator_endpoints and the domain tests)"
NOT_PRIVATE = {
    ("POST", "/api/v1/members/{}/approve"): OPERATOR_ONLY,
    ("POST", "/api/v1/members/{}/reject"): OPERATOR_ONLY,
    ("POST", "/api/v1/products/{}/review"): OPERATOR_ONLY,
    ("POST", "/api/v1/accounts/{}/deposits"): OPERATOR_ONLY,
    ("POST", "/api/v1/accounts/{}/withdrawals"): OPERATOR_ONLY,
    ("POST", "/api/v1/orders/{}/refund"): OPERATOR_ONLY,
    ("POST", "/api/v1/registrations/{}/decision"): OPERATOR_ONLY,
    ("POST", "/api/v1/registrations/objections/{}/resolve"): OPERATOR_ONLY,
    ("POST", "/api/v1/registrations/{}/objections"): "public comment (公示): anyone may object to an application in publicity",
    ("GET", "/api/v1/downloads/{}"): "a signed, expiring download link is the capability (tested as {link} in test_tenancy)",
    ("GET", "/api/v1/log/entries/{}"): "the transparency log is public by design",
    ("GET", "/api/v1/certificates/{}"): "public verification of certificates (/verify)",
    ("GET", "/api/v1/certificates/{}/bundle"): "public verification of certificates (offline bundle)",
    ("GET", "/api/v1/certificates/{}/pdf"): "public verification of certificates (PDF)",
    ("GET", "/api/v1/products/{}/sandbox-policy"): "a listed product's sandbox output policy is public, like the product (unlisted: 404)",
    ("GET", "/api/v1/products/{}/consent-scenarios"): "a listed product's personal data scenario is public, so persons can see who wants their data (unlisted: 404; live consent counts only for its provider)",
    ("POST", "/api/v1/consent/scenarios/{}/consents"): "any person may consent to a listed product's public scenario; the consent is the person's own (tests/consent: another person cannot read or revoke it)",
    ("GET", "/api/v1/quality/products/{}"): "what a listed product's page shows (summary only; tested in tests/quality/test_api.py)",
    ("GET", "/delta-sharing/files/{}"): "a signed, expiring pre-signed file URL is the capability (tests/sharing: tampered, rotated)",
    ("HEAD", "/delta-sharing/files/{}"): "a signed, expiring pre-signed file URL is the capability (tests/sharing: tampered, rotated)",
    ("GET", "/api/v1/public-data/resources/{}"): "the public data catalog is public by design (closed data: metadata only)",
    ("GET", "/api/v1/public-data/requests/{}"): "data requests (需求征集) are public by design, without the contact",
    ("GET", "/api/v1/public-data/datasets/{}/download"): "open data is anyone's; conditional needs an approved application and closed is refused (tests/public_data/test_api.py)",
    ("POST", "/api/v1/public-data/resources/{}/applications"): "any member may apply for a conditional public resource",
}


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_with_an_id_is_walled_off_or_said_to_be_public(tmp_path):
    paths = create_app(Settings(data_dir=tmp_path)).openapi()["paths"]
    routes = {(method.upper(), shape(path)) for path, operations in paths.items() if "{" in path
              for method in operations}
    lists = [CORE, UPLOADS, QUALITY, QUALITY_JOBS, VALUATION, ACCOUNTING, REGISTRY, FINGERPRINT, USAGE, GATEWAY,
             SHARING, SANDBOX, PUBLIC_DATA, CONSENT, CONSENT_PERSON]
    tested = {(method, shape(path)) for requests in lists for method, path, _ in requests}
    tested.add(("GET", "/api/v1/downloads/{}"))  # CORE's "{link}"
    assert sorted(routes - tested - NOT_PRIVATE.keys()) == []
    assert sorted(NOT_PRIVATE.keys() - routes) == []  # no stale exemptions
