"""Domain errors and how they reach people: JSON ``{"error": {"code", "message"}}`` or an HTML page.

Every message that a person may read carries Chinese first and English beside it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, zh: str, en: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
        if code:
            self.code = code
        self.details = details

    @property
    def message(self) -> str:
        return f"{self.zh} ({self.en})"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.zh,
            "message_en": self.en,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


def not_found(what_zh: str, what_en: str) -> NotFound:
    return NotFound(f"{what_zh}不存在", f"{what_en} not found")


class CommandContractBroken(RuntimeError):
    """A service command returned without authorizing or without recording: a programming error."""
