"""Counter-based random streams: the same seed gives the same subjects however a cohort is
chunked (the reproducibility contract of virtual cohorts).

Subject ``i`` of stream ``k`` draws from block ``i // STREAM_BLOCK`` of a generator spawned
from ``(seed, k, block)``, so any range of subjects can be drawn without the ones before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TgsimError

__all__ = ["STREAM_BLOCK", "STREAM_PARAMETERS", "STREAM_OBSERVATION", "stream_normals",
           "block_generator", "check_seed"]

#: Subjects per random stream block (part of the reproducibility contract: changing it
#: changes which values a seed gives).
STREAM_BLOCK: int = 1024

#: Stream identifiers (the first spawn key): parameters, observation noise.
STREAM_PARAMETERS: int = 0
STREAM_OBSERVATION: int = 1


# ----------------------------------------------------------------------- streams
def stream_normals(seed: int, start: int, stop: int, width: int,
                   stream: int = STREAM_PARAMETERS) -> np.ndarray:
    """Standard normal draws for subjects ``start .. stop-1``: shape ``(stop-start, width)``.

    Row ``i`` depends only on ``(seed, stream, i, width)``: block ``k`` of
    :data:`STREAM_BLOCK` subjects draws a ``(STREAM_BLOCK, width)`` array from
    ``Generator(Philox(SeedSequence(seed, spawn_key=(stream, k))))`` and the rows asked for
    are sliced out, so any chunking of the subjects gives the same numbers.
    """
    out = np.empty((stop - start, width))
    if stop <= start or width == 0:
        return out
    k0, k1 = start // STREAM_BLOCK, (stop - 1) // STREAM_BLOCK
    for k in range(k0, k1 + 1):
        a, b = k * STREAM_BLOCK, (k + 1) * STREAM_BLOCK
        gen = block_generator(seed, stream, k)
        block = gen.standard_normal((STREAM_BLOCK, width))
        lo, hi = max(a, start), min(b, stop)
        out[lo - start:hi - start] = block[lo - a:hi - a]
    return out


def block_generator(seed: int, stream: int, block: int) -> np.random.Generator:
    """The random generator of one stream block (see :func:`stream_normals`)."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(stream), int(block)))
    return np.random.Generator(np.random.Philox(ss))


def check_seed(seed: Any, name: str = "seed") -> int:
    """A seed must be an integer >= 0; ``None`` draws fresh entropy (returned, so it can be
    recorded and the run repeated)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise TgsimError(f"`{name}` must be an integer >= 0; got {seed!r}")
    return int(seed)


