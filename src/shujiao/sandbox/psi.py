"""Private set intersection (隐私求交) with ECDH-PSI, sharded across cores.

The protocol is OpenMined's ``openmined-psi`` (ECDH over P-256, the Meadows/Huberman–Franklin–Hogg
construction): the client blinds its items with a secret key, the server re-blinds them and sends
its own items blinded with its key, and the client, after removing its blinding, learns which of its
items the server holds — or only how many (``reveal_intersection=False``) — and nothing else. Both
sides' messages go through their protobuf wire form here, as they would between two machines.

Every item costs a few elliptic-curve multiplications, and the library runs them on one thread. To
use every core the two sets are partitioned by the same hash of the item: an item in the client's
shard *i* can only match an item in the server's shard *i*, so the shards are independent PSI runs,
one per worker process, each with fresh keys, and their results are united. What that reveals beyond
one run is how the intersection spreads over the shards — in size-only mode the per-shard sizes, which
say nothing about which items matched because the shard of an item is a hash the client computes
anyway. Inputs are de-duplicated first (the intersection is a set), and the RAW data structure keeps
the result exact: no false positives, unlike the Bloom filter and GCS encodings.
"""

from __future__ import annotations

import multiprocessing
import os
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import private_set_intersection.python as openmined_psi

# Below this many items in total a worker pool costs more (process start, pickling) than it saves.
SHARD_THRESHOLD = 20_000


@dataclass(frozen=True)
class PsiResult:
    """What the client learns: the intersection's size and, when revealed, its items."""

    size: int
    intersection: list[str] | None
    shards: int


def _distinct(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def run_protocol(client_items: Sequence[str], server_items: Sequence[str], *,
                 reveal_intersection: bool) -> list[str] | int:
    """One ECDH-PSI run, both parties, single-threaded: the client's matching items, or their count."""
    client = openmined_psi.client.CreateWithNewKey(reveal_intersection)
    server = openmined_psi.server.CreateWithNewKey(reveal_intersection)
    # RAW ignores the false-positive rate: the server's blinded items are sent as they are.
    setup_wire = server.CreateSetupMessage(0.0, len(client_items), list(server_items),
                                           openmined_psi.DataStructure.RAW).SerializeToString()
    request_wire = client.CreateRequest(list(client_items)).SerializeToString()
    response_wire = server.ProcessRequest(openmined_psi.Request.FromString(request_wire)).SerializeToString()
    setup = openmined_psi.ServerSetup.FromString(setup_wire)
    response = openmined_psi.Response.FromString(response_wire)
    if reveal_intersection:
        return [client_items[index] for index in client.GetIntersection(setup, response)]
    return int(client.GetIntersectionSize(setup, response))


def _run_shard(shard: tuple[list[str], list[str], bool]) -> list[str] | int:
    client_items, server_items, reveal = shard
    if not client_items or not server_items:
        return [] if reveal else 0
    return run_protocol(client_items, server_items, reveal_intersection=reveal)


def shard_of(item: str, shards: int) -> int:
    # CRC-32 is only a partition function here (not a secret): both sides must agree on it.
    return zlib.crc32(item.encode()) % shards


def _partition(items: Sequence[str], shards: int) -> list[list[str]]:
    parts: list[list[str]] = [[] for _ in range(shards)]
    for item in items:
        parts[shard_of(item, shards)].append(item)
    return parts


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def intersect(client_items: Iterable[str], server_items: Iterable[str], *, reveal_intersection: bool,
              workers: int | None = None) -> PsiResult:
    """The intersection of two ID sets as the client learns it, on ``workers`` processes.

    The items of the result keep the order of the client's first occurrences within each shard."""
    client = _distinct(client_items)
    server = _distinct(server_items)
    count = max(1, workers if workers is not None else default_workers())
    if count == 1 or len(client) + len(server) < SHARD_THRESHOLD:
        found = _run_shard((client, server, reveal_intersection))
        return _result([found], reveal_intersection, shards=1)
    shards = list(zip(_partition(client, count), _partition(server, count), [reveal_intersection] * count,
                      strict=True))
    # forkserver: a clean process per worker, not a fork of a server with threads and open sockets.
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("forkserver")) as pool:
        found_per_shard = list(pool.map(_run_shard, shards))
    return _result(found_per_shard, reveal_intersection, shards=count)


def _result(found_per_shard: Sequence[list[str] | int], reveal: bool, *, shards: int) -> PsiResult:
    if reveal:
        items = [item for found in found_per_shard if isinstance(found, list) for item in found]
        return PsiResult(size=len(items), intersection=items, shards=shards)
    return PsiResult(size=sum(int(found) for found in found_per_shard if isinstance(found, int)),
                     intersection=None, shards=shards)
