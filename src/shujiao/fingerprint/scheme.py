"""The fingerprinting scheme itself, pure (no database): mark a buyer's copy, recover a fingerprint.

Altering mode follows Li, Swarup and Jajodia, "Fingerprinting Relational Databases: Schemes and
Specialties", IEEE TDSC 2(1):34-45, 2005, which extends Agrawal and Kiernan's watermarking
("Watermarking Relational Databases", VLDB 2002). For every row a keyed hash of the row's primary
key (HMAC-SHA256, or HMAC-SM3 under the ``gm`` suite) gives the pseudo-random numbers U1..U5 of the
paper: a row is marked when U1 mod γ = 0; U2 picks the column among the provider's tolerant
numeric columns, U3 the bit among its ξ low-significance bits (of the value scaled to its
``decimals``), U4 a mask bit x and U5 the fingerprint bit l; the cell's bit is set to x ⊕ f_l,
where f is the buyer's L-bit fingerprint. Detection reads the same bits back, votes per
fingerprint bit (majority) and compares the recovered bits with each buyer's fingerprint.

Non-altering mode (for products whose provider forbids value changes) is the data-allocation
approach of Papadimitriou and Garcia-Molina, "Data Leakage Detection", IEEE TKDE 23(1):51-63,
2011: each buyer receives a different subset of the rows, and the rows a leak contains point to
whose subset it came from. Here the subset is keyed as above: a row with U1 mod γ = 0 is a
candidate, and it is left out of the buyer's copy when x ⊕ f_l = 1. Every value of every row the
buyer receives is exactly the original. A candidate row present in a leak votes f_l = x.

Significance: for an innocent buyer the recovered bits are independent of its fingerprint, so the
number that match is Binomial(n, ½); the probability that an innocent copy matches as well as the
best buyer's (the binomial tail), times the number of buyers scored (Bonferroni), is the
false-accusation probability reported. A buyer is named only when it is below the threshold.

The selection key is per product and the fingerprint per order (the contract), both derived from
the exchange secret with HKDF; nothing secret is stored. Everything per row is vectorised with
numpy/Arrow except the HMAC itself (one C call per key, ``hmac.digest``).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FINGERPRINT_BITS = 64  # L: enough that 20, or 20,000, buyers' fingerprints differ in many bits
KEY_SEPARATOR = "\x1f"
Mode = Literal["alter_values", "no_alteration"]
FileFormat = Literal["csv", "parquet"]
_INT_TEXT = r"^-?[0-9]+$"
_DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"


class SchemeError(ValueError):
    """The table does not fit the policy (a key or marked column is missing or not numeric)."""


@dataclass(frozen=True)
class ColumnTolerance:
    """A numeric column the scheme may change: values are given to ``decimals`` places, and no
    value may move by more than ``max_abs_change`` (in the column's own units)."""

    name: str
    decimals: int = 0
    max_abs_change: Decimal = Decimal(1)

    @property
    def bits(self) -> int:
        """ξ: how many low bits of the scaled value may carry the mark (changing bit j moves it by 2^j units)."""
        units = self.max_abs_change * (Decimal(10) ** self.decimals)
        if units < 1:
            return 0
        return min(16, int(math.floor(math.log2(float(units)))) + 1)


@dataclass(frozen=True)
class Policy:
    mode: Mode
    key_columns: tuple[str, ...]
    columns: tuple[ColumnTolerance, ...] = ()
    gamma: int = 10  # about one row in γ carries a mark (or is a candidate for omission)

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "key_columns": list(self.key_columns), "gamma": self.gamma,
                "columns": [{"name": c.name, "decimals": c.decimals, "max_abs_change": str(c.max_abs_change)}
                            for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":  # type: ignore[type-arg]
        return cls(mode=data["mode"], key_columns=tuple(data["key_columns"]), gamma=int(data["gamma"]),
                   columns=tuple(ColumnTolerance(c["name"], int(c["decimals"]), Decimal(str(c["max_abs_change"])))
                                 for c in data.get("columns", ())))


@dataclass(frozen=True)
class Keys:
    """The product's selection key and the hash it is used with."""

    selection: bytes
    digest: str  # "sha256" | "sm3"


def _hkdf(secret: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(secret)


def product_keys(secret: bytes, product_id: int, digest: str = "sha256") -> Keys:
    return Keys(_hkdf(secret, f"shujiao/fingerprint/v1/product/{product_id}"), digest)


def order_fingerprint(secret: bytes, order_id: int) -> np.ndarray:
    """The buyer's L fingerprint bits for one contract (order), as uint8 0/1."""
    raw = _hkdf(secret, f"shujiao/fingerprint/v1/order/{order_id}")[: FINGERPRINT_BITS // 8]
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))


# --- reading and writing like the original --------------------------------------------------

def read_table(data: bytes | str, file_format: FileFormat) -> pa.Table:
    """The table as the buyer's file holds it. A CSV is read as text in every column, so that the
    copy writes back exactly the cells it did not mark (no re-formatting of dates or numbers)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    if file_format == "parquet":
        return pq.read_table(source)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    names = pacsv.open_csv(source).schema.names
    if isinstance(source, io.BytesIO):
        source.seek(0)
    return pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names}, strings_can_be_null=False, quoted_strings_can_be_null=False))


def write_table(table: pa.Table, file_format: FileFormat, out: io.IOBase | str) -> None:
    """As Parquet, or as CSV quoting no cell unless some cell needs it (Arrow's ``needed`` quotes
    every text cell, and a CSV read as text is all text)."""
    if file_format == "parquet":
        pq.write_table(table, out)
        return
    needs_quotes = any(
        pc.any(pc.match_substring_regex(column, r'[,"\r\n]')).as_py()
        or pc.any(pc.equal(column, "")).as_py()
        for column in table.columns if pa.types.is_string(column.type) or pa.types.is_large_string(column.type))
    needs_quotes = needs_quotes or any(re.search(r'[,"\r\n]', name) for name in table.column_names)
    if needs_quotes:
        pacsv.write_csv(table, out, write_options=pacsv.WriteOptions(quoting_style="needed"))
        return
    header = (",".join(table.column_names) + "\n").encode()
    if isinstance(out, str):
        with open(out, "wb") as sink:
            sink.write(header)
            pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(quoting_style="none", include_header=False))
        return
    out.write(header)
    pacsv.write_csv(table, out, write_options=pacsv.WriteOptions(quoting_style="none", include_header=False))


# --- the keyed numbers U1..U5 ----------------------------------------------------------------

def row_keys(table: pa.Table, key_columns: tuple[str, ...]) -> pa.StringArray:
    """Each row's key as text (key columns joined by U+001F); a missing key column is an error."""
    missing = [c for c in key_columns if c not in table.column_names]
    if missing:
        raise SchemeError(f"key column(s) missing: {', '.join(missing)}")
    parts = [pc.fill_null(pc.cast(table.column(c), pa.string()), "") for c in key_columns]
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, KEY_SEPARATOR)
    array = joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
    return array.cast(pa.large_string())  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Draws:
    """Per row: selected (U1 mod γ = 0), and U2..U5 as 64-bit words."""

    selected: np.ndarray
    column: np.ndarray
    bit: np.ndarray
    mask: np.ndarray
    index: np.ndarray


def keyed_hashes(key: bytes, digest: str, values: pa.LargeStringArray) -> bytes:
    """HMAC(key, value) for every value, concatenated (RFC 2104, with the padded-key contexts
    prepared once and copied per row: about twice as fast as ``hmac.digest`` per call)."""
    block = hashlib.new(digest).block_size
    padded = (hashlib.new(digest, key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.new(digest, bytes(b ^ 0x36 for b in padded)).copy
    outer = hashlib.new(digest, bytes(b ^ 0x5C for b in padded)).copy
    if len(values) == 0:
        return b""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset:values.offset + len(values) + 1]
    data = values.buffers()[2]
    raw = data.to_pybytes() if data is not None else b""
    out = []
    append = out.append
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
        h = inner()
        h.update(raw[start:end])
        o = outer()
        o.update(h.digest())
        append(o.digest())
    return b"".join(out)


def draws(keys: Keys, row_key_values: pa.LargeStringArray, gamma: int) -> Draws:
    raw = keyed_hashes(keys.selection, keys.digest, row_key_values)
    words = np.frombuffer(raw, dtype="<u8").reshape(-1, 4) if raw else np.zeros((0, 4), dtype="<u8")
    u1, u2, u3, u4 = words[:, 0], words[:, 1], words[:, 2], words[:, 3]
    return Draws(selected=(u1 % np.uint64(gamma)) == 0, column=u2, bit=u3 & np.uint64(0xFFFF),
                 mask=(u4 & np.uint64(1)).astype(np.uint8), index=((u4 >> np.uint64(1)) % np.uint64(FINGERPRINT_BITS)))


# --- numbers in a column ---------------------------------------------------------------------

def _numeric(column: pa.ChunkedArray, tolerance: ColumnTolerance) -> tuple[np.ndarray, np.ndarray, bool]:
    """(values, usable, is_integer): the column as numbers (text columns parsed; cells that are not
    plain numbers are unusable) and which cells may carry a bit."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = pc.utf8_trim_whitespace(array)
        integer_text = pc.fill_null(pc.match_substring_regex(text, _INT_TEXT), False)
        if tolerance.decimals == 0 and pc.all(pc.or_(integer_text, pc.equal(text, ""))).as_py():
            usable = integer_text.to_numpy(zero_copy_only=False) & (pc.utf8_length(text).to_numpy(zero_copy_only=False) < 18)
            parsed = pc.cast(pc.if_else(pa.array(usable), text, "0"), pa.int64())
            return parsed.to_numpy(zero_copy_only=False), usable, True
        usable = pc.fill_null(pc.match_substring_regex(text, _DECIMAL_TEXT), False).to_numpy(zero_copy_only=False)
        parsed = pc.cast(pc.if_else(pa.array(usable), text, "0"), pa.float64())
        return parsed.to_numpy(zero_copy_only=False), usable, False
    if pa.types.is_integer(array.type):
        usable = pc.is_valid(array).to_numpy(zero_copy_only=False)
        return pc.fill_null(array, 0).cast(pa.int64()).to_numpy(zero_copy_only=False), usable, True
    if pa.types.is_floating(array.type) or pa.types.is_decimal(array.type):
        values = pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        usable = pc.is_valid(array).to_numpy(zero_copy_only=False) & np.isfinite(values) & (np.abs(values) < 1e15)
        return values, usable, False
    raise SchemeError(f"column {tolerance.name} is not numeric ({array.type})")


def _scaled(values: np.ndarray, decimals: int, is_integer: bool) -> np.ndarray:
    if is_integer and decimals == 0:
        return values.astype(np.int64)
    return np.floor(np.round(values * (10.0 ** decimals), 6)).astype(np.int64)


def _write_back(original: pa.ChunkedArray, values: np.ndarray, changed: np.ndarray, decimals: int,
                is_integer: bool) -> pa.Array:
    """The column with the changed cells replaced, in its own type (text stays text)."""
    array = original.combine_chunks() if isinstance(original, pa.ChunkedArray) else original
    if is_integer:
        new = pa.array(values, pa.int64())
    else:
        new = pa.array(np.round(values, decimals + 6), pa.float64())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        new = pc.cast(new, array.type)
    else:
        new = new.cast(array.type, safe=False)
    return pc.if_else(pa.array(changed), new, array)


# --- marking a copy ---------------------------------------------------------------------------

@dataclass
class CopyStats:
    rows_in: int = 0
    rows_out: int = 0
    marked_cells: int = 0
    omitted_rows: int = 0
    max_change: dict[str, float] = field(default_factory=dict)


def mark(table: pa.Table, policy: Policy, keys: Keys, fingerprint: np.ndarray) -> tuple[pa.Table, CopyStats]:
    """The buyer's copy of ``table``: marked (alter_values) or a keyed subset (no_alteration)."""
    d = draws(keys, row_keys(table, policy.key_columns), policy.gamma)
    wanted = fingerprint[d.index.astype(np.int64)] ^ d.mask  # the bit each selected row should carry
    stats = CopyStats(rows_in=table.num_rows)
    if policy.mode == "no_alteration":
        drop = d.selected & (wanted == 1)
        stats.omitted_rows = int(drop.sum())
        copy = table.filter(pa.array(~drop)) if stats.omitted_rows else table
        stats.rows_out = copy.num_rows
        return copy, stats
    tolerant = [c for c in policy.columns if c.bits > 0]
    if not tolerant:
        raise SchemeError("no column may be changed: give a numeric column and a tolerance of at least one unit")
    choice = (d.column % np.uint64(len(tolerant))).astype(np.int64)
    columns = dict(zip(table.column_names, table.columns))
    for position, tolerance in enumerate(tolerant):
        if tolerance.name not in columns:
            raise SchemeError(f"marked column missing: {tolerance.name}")
        values, usable, is_integer = _numeric(columns[tolerance.name], tolerance)
        rows = d.selected & (choice == position) & usable
        if not rows.any():
            continue
        bit = (d.bit % np.uint64(tolerance.bits)).astype(np.int64)
        scaled = _scaled(values, tolerance.decimals, is_integer)
        one = np.left_shift(np.int64(1), bit)
        target = (scaled & ~one) | (wanted.astype(np.int64) << bit)
        delta = np.where(rows, target - scaled, 0)
        changed = delta != 0
        if is_integer and tolerance.decimals == 0:
            new_values = values + delta
        else:
            new_values = values + delta / (10.0 ** tolerance.decimals)
        stats.marked_cells += int(rows.sum())
        stats.max_change[tolerance.name] = float(np.abs(delta).max()) / (10.0 ** tolerance.decimals)
        if changed.any():
            columns[tolerance.name] = _write_back(columns[tolerance.name], new_values, changed,
                                                  tolerance.decimals, is_integer)
    copy = pa.table(columns, schema=table.schema) if stats.marked_cells else table
    stats.rows_out = copy.num_rows
    return copy, stats


# --- detection --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Votes:
    """Votes per fingerprint bit: how many marks said 1 and said 0."""

    ones: np.ndarray
    zeros: np.ndarray
    marks: int

    def recovered(self) -> tuple[np.ndarray, np.ndarray]:
        """(bits, known): the majority bit per position, and whether it is decided (no tie, some vote)."""
        return (self.ones > self.zeros).astype(np.uint8), self.ones != self.zeros


def extract(table: pa.Table, policy: Policy, keys: Keys) -> Votes:
    """Recover the fingerprint votes from a (leaked) table; columns it lacks are simply not read."""
    d = draws(keys, row_keys(table, policy.key_columns), policy.gamma)
    ones = np.zeros(FINGERPRINT_BITS, dtype=np.int64)
    zeros = np.zeros(FINGERPRINT_BITS, dtype=np.int64)
    index = d.index.astype(np.int64)
    if policy.mode == "no_alteration":
        rows = d.selected
        bits = d.mask  # a candidate the buyer kept had x ⊕ f_l = 0, so f_l = x
        votes = [(rows, bits)]
    else:
        tolerant = [c for c in policy.columns if c.bits > 0]
        choice = (d.column % np.uint64(max(1, len(tolerant)))).astype(np.int64)
        votes = []
        for position, tolerance in enumerate(tolerant):
            if tolerance.name not in table.column_names:
                continue
            values, usable, is_integer = _numeric(table.column(tolerance.name), tolerance)
            rows = d.selected & (choice == position) & usable
            bit = (d.bit % np.uint64(tolerance.bits)).astype(np.int64)
            carried = ((_scaled(values, tolerance.decimals, is_integer) >> bit) & 1).astype(np.uint8)
            votes.append((rows, carried ^ d.mask))
    marks = 0
    for rows, bits in votes:
        ones += np.bincount(index[rows], weights=bits[rows], minlength=FINGERPRINT_BITS).astype(np.int64)
        zeros += np.bincount(index[rows], weights=1 - bits[rows], minlength=FINGERPRINT_BITS).astype(np.int64)
        marks += int(rows.sum())
    return Votes(ones=ones, zeros=zeros, marks=marks)


def binomial_tail(matches: int, n: int) -> float:
    """P(X ≥ matches) for X ~ Binomial(n, ½), exactly."""
    if n == 0:
        return 1.0
    total = sum(math.comb(n, k) for k in range(matches, n + 1))
    return total / 2**n


@dataclass(frozen=True)
class Score:
    candidate: int  # the order id
    matches: int
    bits: int  # recovered bits compared
    p_value: float  # P(an innocent copy matches as well), before correcting for the number of buyers


@dataclass(frozen=True)
class Verdict:
    named: int | None  # the order whose buyer the copy points to, or None
    significance: float  # Bonferroni-corrected p-value of the best candidate (1.0 if none)
    scores: list[Score]
    marks: int
    recovered_bits: int


def score(votes: Votes, fingerprints: dict[int, np.ndarray], *, threshold: float = 1e-6) -> Verdict:
    bits, known = votes.recovered()
    scores = []
    for candidate, fingerprint in fingerprints.items():
        n = int(known.sum())
        matches = int(((fingerprint == bits) & known).sum())
        scores.append(Score(candidate, matches, n, binomial_tail(matches, n)))
    scores.sort(key=lambda s: (s.p_value, -s.matches, s.candidate))
    best = scores[0] if scores else None
    corrected = min(1.0, best.p_value * len(scores)) if best else 1.0
    named = best.candidate if best is not None and corrected < threshold else None
    return Verdict(named=named, significance=corrected, scores=scores, marks=votes.marks,
                   recovered_bits=int(known.sum()))


def suite_digest(suite: str) -> str:
    """The HMAC hash of the crypto suite: SM3 under ``gm`` when OpenSSL has it, else SHA-256."""
    if suite == "gm" and "sm3" in hashlib.algorithms_available:
        return "sm3"
    return "sha256"
