"""Money is integer fen (分); this turns it into yuan for people, without floats."""

from __future__ import annotations


def format_fen(amount_fen: int) -> str:
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), 100)
    return f"{sign}¥{yuan:,}.{fen:02d}"


def parse_yuan(text: str) -> int:
    """'12.5' or '12.50' or '1,200' yuan → fen; refuses more than two decimals."""
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    whole, _, frac = cleaned.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ValueError(f"not an amount of yuan: {text!r}")
    return int(whole) * 100 + int((frac or "0").ljust(2, "0"))
