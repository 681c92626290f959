"""Types of the compiled ``sweep_kernel`` (see ``sweep_kernel.pyx``)."""

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.int8]

DIES: int
COASTS: int
STALES: int
REGROWS: int
GONE: int
SAMPLES: int
HOLD_ENDED: int

def sweep_flags(
    rows: npt.NDArray[np.intp],
    held_until: FloatArray,
    status: CodeArray,
    motion: CodeArray,
    seen: FloatArray,
    t: FloatArray,
    cov: FloatArray,
    model_probs: FloatArray,
    vel: FloatArray,
    shown_at: FloatArray,
    dead_since: FloatArray,
    history: FloatArray,
    q: FloatArray,
    max_sd: FloatArray,
    dead_after: FloatArray,
    tentative_for: FloatArray,
    stale_after: FloatArray,
    coast_after: FloatArray,
    now: float,
    still_speed: float,
    still_factor: float,
    grow_step: float,
    drop_dead_after: float,
    history_step: float,
    flags: npt.NDArray[np.uint8],
) -> int: ...
