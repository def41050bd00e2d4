"""Certificate numbers (登记凭证编号).

Scheme: ``{exchange}-{year}-{right}-{sequence}-{check}``, e.g. ``SJ-2026-R-00000042-7``:

- ``exchange``: the exchange code, 2–6 upper-case letters or digits (setting ``registry.exchange_code``);
- ``year``: the year of issue (Beijing time);
- ``right``: ``R`` 数据资源持有权 (holding), ``P`` 数据加工使用权 (processing), ``O`` 数据产品经营权 (operating);
- ``sequence``: 8 digits, unique across the exchange (the certificate's row id, so numbers never
  collide between server processes and need no counter row);
- ``check``: one character of ISO/IEC 7064 MOD 37,36 over the other characters without the
  hyphens — it catches every single wrong character and every swap of two neighbours.

The hyphens are part of the number (without them a code with digits would be ambiguous);
``parse`` accepts lower case and refuses a number whose check character does not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

RIGHT_CODES = {"holding": "R", "processing": "P", "operating": "O"}
RIGHTS_BY_CODE = {code: right for right, code in RIGHT_CODES.items()}

_PATTERN = re.compile(r"^([A-Z0-9]{2,6})-(\d{4})-([RPO])-(\d{8})-([A-Z0-9])$")


@dataclass(frozen=True)
class CertificateNumber:
    exchange: str
    year: int
    right_type: str
    sequence: int

    def __str__(self) -> str:
        body = f"{self.exchange}{self.year:04d}{RIGHT_CODES[self.right_type]}{self.sequence:08d}"
        return (f"{self.exchange}-{self.year:04d}-{RIGHT_CODES[self.right_type]}-{self.sequence:08d}-"
                f"{mod_37_36.calc_check_digit(body)}")


def parse(text: str) -> CertificateNumber | None:
    """The number's parts, or None if it is malformed or its check character is wrong."""
    match = _PATTERN.match(text.strip().upper())
    if match is None:
        return None
    exchange, year, right, sequence, check = match.groups()
    if not mod_37_36.is_valid(f"{exchange}{year}{right}{sequence}{check}"):
        return None
    return CertificateNumber(exchange, int(year), RIGHTS_BY_CODE[right], int(sequence))
