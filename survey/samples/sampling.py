"""The sample's size, its allocation to strata and the draw itself: pure functions, no database.

The draw is meant to be repeated by an auditor, with or without this
software: every dossier gets the key SHA-256("<seed>:<mã hồ sơ>") (hex), and
each stratum takes its ``n_h`` dossiers with the smallest keys. Sorting by a
keyed hash is a uniformly random order that depends only on the seed and the
codes, never on the file's row order or on a library's random generator, so
the same seed and the same register give the same sample anywhere.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Hashable, Iterable, Mapping, Sequence

DEFAULT_MARGIN = 0.05  # e of the sample-size rule (docs: the domain notes, provisional)


def size_by_rule(population: int, margin: float = DEFAULT_MARGIN) -> int:
    """n = N / (1 + N e^2), rounded up (a fraction of a citizen is one more citizen): 400 -> 200."""
    if population <= 0:
        raise ValueError("the register is empty")
    if not 0 < margin < 1:
        raise ValueError("the margin is a proportion between 0 and 1")
    exact = population / (1 + population * margin * margin)
    # 400 / (1 + 400 * 0.0025) is 200.00000000000003 in floating point: round away the noise first.
    return min(population, math.ceil(round(exact, 9)))


def allocate(populations: Mapping[Hashable, int], size: int) -> dict[Hashable, int]:
    """Proportional allocation of ``size`` over strata, rounded by largest remainder.

    Each stratum gets the floor of n * N_h / N; the units left go one each to
    the strata with the largest remainders, ties to the stratum that comes
    first in ``populations`` (callers pass strata in a fixed order). The sizes
    add up to ``size`` and never exceed a stratum's population.
    """
    total = sum(populations.values())
    if not 0 < size <= total:
        raise ValueError(f"a sample of {size} from {total}")
    floors, remainders = {}, []
    for position, (stratum, population) in enumerate(populations.items()):
        whole, remainder = divmod(size * population, total)  # integers: no rounding error
        floors[stratum] = whole
        remainders.append((-remainder, position, stratum))
    left = size - sum(floors.values())
    for _, _, stratum in sorted(remainders)[:left]:
        floors[stratum] += 1
    return floors


def draw_key(seed: str, dossier_code: str) -> str:
    return hashlib.sha256(f"{seed}:{dossier_code}".encode()).hexdigest()


def draw(strata: Mapping[Hashable, Sequence[str]], allocation: Mapping[Hashable, int], seed: str) -> dict[Hashable, list[str]]:
    """The dossier codes drawn in each stratum: the ``allocation[h]`` smallest keys, in key order."""
    return {stratum: sorted(codes, key=lambda code: draw_key(seed, code))[:allocation.get(stratum, 0)]
            for stratum, codes in strata.items()}


def new_seed() -> str:
    """A seed of 9 decimal digits: short enough to read aloud and type into the audit, 30 random bits."""
    return str(secrets.randbelow(900_000_000) + 100_000_000)


def register_digest(lines: Iterable[str]) -> str:
    """SHA-256 of the register's lines, sorted: the file's row order does not change it."""
    digest = hashlib.sha256()
    for line in sorted(lines):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()
