"""Wiring of the HTML pages: templates, static files and each domain's page router."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Pages are being built (see issue 2); the API is complete without them."""
