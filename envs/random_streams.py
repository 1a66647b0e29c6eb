"""Counter-based random streams and exact Poisson sampling shared by the scalar and vector markets.

Every market draws one 64-bit key from its own ``np_random`` at reset. The random bits of
draw ``j`` in period ``t`` are then the SplitMix64 output at position ``2 * t + j + 1`` of
the stream seeded with that key, computed on demand by an integer hash. A draw depends
only on (key, period, draw index), so a batch of markets in one numpy call and a single
market stepped on its own produce the same numbers bit for bit. The scalar market's
randomness still comes only from ``reset(seed=...)`` and ``self.np_random``.

Poisson variates come from the inverse CDF: the draw is the smallest ``k`` with
``u <= F(k)``, where ``u = bits / 2**53`` and ``F`` is the Poisson CDF from
``scipy.special.pdtr``. ``PoissonTable`` precomputes the CDF for a fixed set of means as
integer thresholds, so the comparison ``bits <= floor(F(k) * 2**53)`` is exact integer
arithmetic and gives the same result as the generic ``poisson_inverse_cdf``.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np
from scipy.special import ndtri, pdtr

# SplitMix64 constants (Steele, Lea and Flood, "Fast splittable pseudorandom number
# generators", OOPSLA 2014).
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_MIX_MULTIPLIER_1 = 0xBF58476D1CE4E5B9
_MIX_MULTIPLIER_2 = 0x94D049BB133111EB
_MASK_64 = (1 << 64) - 1

# Number of random draws per market and period: units bought and customers who did not buy.
DRAWS_PER_PERIOD = 2
DRAW_BUYERS = 0
DRAW_NON_BUYERS = 1

_BITS_SCALE = 2.0**-53
# Buckets per row of the guide table that starts each table lookup.
_GUIDE_BUCKETS = 1 << 12
_GUIDE_SHIFT = 53 - 12


def draw_stream_key(rng: np.random.Generator) -> int:
    """Draw a 64-bit stream key: the next raw output of ``rng``'s bit generator.

    ``random_raw`` advances the generator like any other draw and costs a tenth of
    ``rng.integers(2**64, dtype=np.uint64)``, which matters when thousands of markets reset.
    """
    return int(rng.bit_generator.random_raw())


def stream_counter(period: int, draw: int) -> int:
    """Return the stream position of draw ``draw`` in period ``period``."""
    return DRAWS_PER_PERIOD * period + draw + 1


def uniform_bits(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Hash (key, counter) pairs into 53-bit random integers, batched.

    ``keys`` and ``counters`` broadcast against each other and are taken as uint64. The
    result is a uint64 array of values in [0, 2**53): the top 53 bits of the SplitMix64
    output at position ``counter`` of the stream seeded with ``key``.
    """
    # At least 1-d: numpy scalar arithmetic warns on the intended uint64 wrap-around.
    keys, counters = np.broadcast_arrays(
        np.atleast_1d(np.asarray(keys, dtype=np.uint64)),
        np.atleast_1d(np.asarray(counters, dtype=np.uint64)),
    )
    state = keys + counters * np.uint64(_GOLDEN_GAMMA)
    mixed = (state ^ (state >> np.uint64(30))) * np.uint64(_MIX_MULTIPLIER_1)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(_MIX_MULTIPLIER_2)
    mixed = mixed ^ (mixed >> np.uint64(31))
    return mixed >> np.uint64(11)


def uniform_bits_scalar(key: int, counter: int) -> int:
    """Compute the same value as ``uniform_bits`` for one pair, with Python integers."""
    state = (key + counter * _GOLDEN_GAMMA) & _MASK_64
    mixed = ((state ^ (state >> 30)) * _MIX_MULTIPLIER_1) & _MASK_64
    mixed = ((mixed ^ (mixed >> 27)) * _MIX_MULTIPLIER_2) & _MASK_64
    mixed ^= mixed >> 31
    return mixed >> 11


def episode_bits(key: int, horizon: int) -> list[list[int]]:
    """Return the random bits of a whole episode as ``bits[period][draw]`` Python integers."""
    counters = np.arange(1, DRAWS_PER_PERIOD * horizon + 1, dtype=np.uint64)
    bits = uniform_bits(np.uint64(key), counters)
    return bits.reshape(horizon, DRAWS_PER_PERIOD).tolist()


def poisson_support_max(mean: float) -> int:
    """Return the largest value the inverse-CDF sampler can return for ``mean``.

    This is the smallest ``k`` with ``pdtr(k, mean) == 1.0`` in float64: every 53-bit
    uniform lies below 1, so the sampler never goes past it.
    """
    if not np.isfinite(mean) or mean < 0:
        raise ValueError(f"Poisson mean must be finite and >= 0, got {mean!r}.")
    k = int(mean + 10.0 * np.sqrt(mean) + 10.0)
    while pdtr(k, mean) < 1.0:
        k = int(k * 1.5) + 1
    # Walk down to the first k whose CDF rounds to exactly 1.
    low, high = 0, k
    while low < high:
        middle = (low + high) // 2
        if pdtr(middle, mean) >= 1.0:
            high = middle
        else:
            low = middle + 1
    return low


def poisson_inverse_cdf(bits: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Turn 53-bit random integers into Poisson variates with the given means, batched.

    Returns int64 values ``min{k : bits / 2**53 <= F(k)}``. A normal approximation with a
    Cornish-Fisher correction gives the starting point, and a short walk on the exact CDF
    finishes, so the cost does not grow with the mean.
    """
    uniforms = np.asarray(bits, dtype=np.uint64).astype(np.float64) * _BITS_SCALE
    means = np.broadcast_to(np.asarray(means, dtype=np.float64), uniforms.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        z = ndtri(uniforms)
        guess = np.floor(means + np.sqrt(means) * z + (z * z - 1.0) / 6.0)
    guess = np.where(np.isfinite(guess), guess, 0.0)
    counts = np.maximum(guess, 0.0)

    # Walk up while the CDF is still below the uniform.
    cdf = pdtr(counts, means)
    below = np.flatnonzero(uniforms > cdf)
    while below.size:
        counts[below] += 1.0
        still = uniforms[below] > pdtr(counts[below], means[below])
        below = below[still]

    # Walk down while the CDF one step lower already covers the uniform.
    above = np.flatnonzero(counts > 0.0)
    while above.size:
        covered = uniforms[above] <= pdtr(counts[above] - 1.0, means[above])
        above = above[covered]
        counts[above] -= 1.0
        above = above[counts[above] > 0.0]

    return counts.astype(np.int64)


def poisson_inverse_cdf_one(bits: int, mean: float) -> int:
    """Return ``poisson_inverse_cdf`` for one draw, with Python scalars (same result, faster)."""
    uniform = bits * _BITS_SCALE
    if uniform > 0.0:
        z = float(ndtri(uniform))
        count = max(math.floor(mean + math.sqrt(mean) * z + (z * z - 1.0) / 6.0), 0)
    else:
        count = 0

    while uniform > pdtr(count, mean):
        count += 1
    while count > 0 and uniform <= pdtr(count - 1, mean):
        count -= 1
    return count


class PoissonTable:
    """Inverse-CDF thresholds of Poisson distributions with a fixed list of means.

    Row ``r`` samples Poisson(``means[r]``). ``sample`` draws for a batch of rows with a
    guide table and ``sample_one`` draws for one row with ``bisect``; both give
    exactly what ``poisson_inverse_cdf`` gives for the same bits and mean.
    """

    def __init__(self, means: np.ndarray) -> None:
        means = np.asarray(means, dtype=np.float64).ravel()
        if means.size == 0:
            raise ValueError("PoissonTable needs at least one mean, got an empty array.")
        if not np.all(np.isfinite(means)) or np.any(means < 0):
            raise ValueError(f"Poisson means must be finite and >= 0, got {means!r}.")
        self.means = means
        self.support_max = max(poisson_support_max(float(m)) for m in means)
        self.width = self.support_max + 1

        counts = np.arange(self.width, dtype=np.float64)
        cdf = pdtr(counts[None, :], means[:, None])
        cdf = np.maximum.accumulate(cdf, axis=1)
        # bits <= F(k) * 2**53 holds exactly when bits <= floor(F(k) * 2**53), because
        # bits is an integer and scaling by a power of two is exact.
        thresholds = np.floor(cdf * 2.0**53).astype(np.int64)
        # Python lists of the thresholds, one per row, for ``bisect`` in scalar markets.
        self.row_thresholds = [row.tolist() for row in thresholds]
        self._thresholds = thresholds.ravel()

        self._guide: np.ndarray | None = None

    def _build_guide(self) -> np.ndarray:
        # Guide table (Chen and Asau's indexed search): bucket g of a row holds the bits in
        # [g * 2**_GUIDE_SHIFT, (g + 1) * 2**_GUIDE_SHIFT), and guide[g] is the smallest k
        # whose threshold reaches the bucket's first value. A variate from bucket g lies in
        # [guide[g], guide[g + 1]], usually a single value. Built on first use, because
        # scalar markets sample with ``sample_one`` only.
        bucket_starts = np.arange(_GUIDE_BUCKETS + 1, dtype=np.int64) << _GUIDE_SHIFT
        thresholds = self._thresholds.reshape(self.means.size, self.width)
        guide = np.stack([np.searchsorted(row, bucket_starts, side="left") for row in thresholds])
        return np.minimum(guide, self.width - 1).astype(np.int32).ravel()

    def sample(self, rows: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """Draw one variate per element: Poisson(``means[rows[i]]``) from ``bits[i]``."""
        rows = np.asarray(rows, dtype=np.int64)
        bits = np.asarray(bits, dtype=np.uint64).astype(np.int64)
        row_starts = rows * self.width
        if self._guide is None:
            self._guide = self._build_guide()

        guide_index = rows * (_GUIDE_BUCKETS + 1) + (bits >> _GUIDE_SHIFT)
        counts = self._guide[guide_index].astype(np.int64)
        pending = np.flatnonzero(bits > self._thresholds[row_starts + counts])
        if pending.size == 0:
            return counts

        # Binary search in (guide[g], guide[g + 1]] for the few that are not at the start.
        low = counts[pending] + 1
        high = self._guide[guide_index[pending] + 1].astype(np.int64)
        pending_bits = bits[pending]
        pending_starts = row_starts[pending]
        searching = np.flatnonzero(low < high)
        while searching.size:
            middle = (low[searching] + high[searching]) // 2
            covered = pending_bits[searching] <= self._thresholds[pending_starts[searching] + middle]
            high[searching] = np.where(covered, middle, high[searching])
            low[searching] = np.where(covered, low[searching], middle + 1)
            searching = searching[low[searching] < high[searching]]
        counts[pending] = low
        return counts

    def sample_one(self, row: int, bits: int) -> int:
        """Draw one variate of Poisson(``means[row]``) from ``bits`` with Python integers."""
        return bisect_left(self.row_thresholds[row], bits)
