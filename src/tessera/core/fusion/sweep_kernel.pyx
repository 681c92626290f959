# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""``Lifecycle.sweep``'s tests of every track, compiled: one pass over the rows.

The sweep runs at every second of the journal's clock and asks of each track whether it
dies, coasts, goes stale, is shown grown, is dropped, or samples its history: some forty
NumPy calls on every track. These are the same comparisons of the same values (a test
holds the two paths to the same flags), so the picture does not depend on the build.
"""

from libc.math cimport hypot, isnan, pow

from tessera.core.fusion.arrays import COASTING, CONFIRMED, DEAD, STALE, TENTATIVE
from tessera.core.fusion.imm import STEADY_Q_FACTOR

cdef signed char _TENTATIVE = TENTATIVE
cdef signed char _CONFIRMED = CONFIRMED
cdef signed char _COASTING = COASTING
cdef signed char _DEAD = DEAD
cdef signed char _STALE = STALE
cdef double _STEADY_Q_FACTOR = STEADY_Q_FACTOR

# The flags written for each row (the Python side names them alike: lifecycle.py).
cdef enum:
    _DIES = 1
    _COASTS = 2
    _STALES = 4
    _REGROWS = 8
    _GONE = 16
    _SAMPLES = 32
    _HOLD_ENDED = 64

DIES, COASTS, STALES, REGROWS, GONE, SAMPLES, HOLD_ENDED = (
    _DIES, _COASTS, _STALES, _REGROWS, _GONE, _SAMPLES, _HOLD_ENDED
)


cdef inline double _np_maximum(double a, double b) noexcept nogil:
    """``np.maximum``: the larger, NaN if either is."""
    if isnan(a) or isnan(b):
        return a + b
    return a if a >= b else b


def sweep_flags(
    const Py_ssize_t[::1] rows,
    const double[::1] held_until,
    const signed char[::1] status,
    const signed char[::1] motion,
    const double[::1] seen,
    const double[::1] t,
    const double[:, :, ::1] cov,
    const double[:, ::1] model_probs,
    const double[:, ::1] vel,
    const double[::1] shown_at,
    const double[::1] dead_since,
    const double[:, :, ::1] history,
    const double[::1] q,
    const double[::1] max_sd,
    const double[::1] dead_after,
    const double[::1] tentative_for,
    const double[::1] stale_after,
    const double[::1] coast_after,
    double now,
    double still_speed,
    double still_factor,
    double grow_step,
    double drop_dead_after,
    double history_step,
    unsigned char[::1] flags,
):
    """Each row's flags (``flags[j]`` for ``rows[j]``), as ``Lifecycle.sweep`` tests
    them; returns how many rows have any."""
    cdef Py_ssize_t j, r, flagged = 0, last = history.shape[1] - 1
    cdef signed char st, m
    cdef double held, age, dt, variance, mixed_q, limit, grown_to
    cdef bint free, silent, vague, dies, shown, stales, coasts, regrow, gone, sample
    cdef unsigned char out
    with nogil:
        for j in range(rows.shape[0]):
            r = rows[j]
            held = held_until[r]
            free = not (held > now)
            st = status[r]
            m = motion[r]
            age = now - seen[r]
            dt = _np_maximum(now - t[r], 0.0)
            mixed_q = q[m] * (1.0 - model_probs[r, 0] * (1.0 - _STEADY_Q_FACTOR))
            variance = (
                0.5 * (cov[r, 0, 0] + cov[r, 1, 1])
                + dt * (cov[r, 0, 2] + cov[r, 1, 3])
                + 0.5 * dt * dt * (cov[r, 2, 2] + cov[r, 3, 3])
                + mixed_q * pow(dt, 3.0) / 3.0
            )
            vague = variance > max_sd[m] * max_sd[m]
            silent = st == _COASTING or st == _STALE
            dies = (
                st != _DEAD
                and free
                and (
                    age > dead_after[m]
                    or (st == _TENTATIVE and age > tentative_for[m])
                    or (silent and vague)
                )
            )
            shown = st == _CONFIRMED or st == _COASTING
            limit = stale_after[m] * (
                still_factor if hypot(vel[r, 0], vel[r, 1]) < still_speed else 1.0
            )
            stales = shown and age > limit and not dies and free
            coasts = (
                st == _CONFIRMED and age > coast_after[m] and not dies and not stales and free
            )
            grown_to = _np_maximum(shown_at[r], t[r])
            regrow = ((shown and free) or silent or stales) and not dies and (
                now - grown_to >= grow_step
            )
            gone = st == _DEAD and free and (now - dead_since[r] > drop_dead_after)
            sample = st != _DEAD and not (t[r] - history[r, last, 0] < history_step)
            out = (
                _DIES * dies
                | _COASTS * coasts
                | _STALES * stales
                | _REGROWS * regrow
                | _GONE * gone
                | _SAMPLES * sample
                | _HOLD_ENDED * (held <= now)
            )
            flags[j] = out
            if out:
                flagged += 1
    return flagged
