# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""``update_one.step_floats`` compiled: one track's Kalman step on C doubles.

The same operations in the same order as ``update_one.step_floats`` and ``imm_one`` (a
test holds the two equal to the bit), so whether this module is built changes how fast
the picture is made, never the picture. Python's own rules are kept where C's differ
(floats.pxd), and ``math.hypot`` is Python's.
"""

from libc.math cimport exp, fabs, log, pow

import math

from tessera.core.fusion cimport floats, kalman_floats
from tessera.core.fusion.floats cimport py_max as _max

from tessera.core.fusion import imm

cdef double _FORGETTING_RATE = 1.0 / imm.SOJOURN_S[0] + 1.0 / imm.SOJOURN_S[1]
cdef double _PRIOR_STEADY = imm.PRIOR[0]
cdef double _PRIOR_MANOEUVRING = imm.PRIOR[1]
cdef double _STEADY_Q_FACTOR = imm.STEADY_Q_FACTOR
cdef double _FLOOR = imm.FLOOR
_hypot = math.hypot


cdef void _mixed(
    double[2][4] means, double[2][4][4] covs, double w0, double w1,
    double[4] mean, double[4][4] cov,
) noexcept nogil:
    cdef double[4] g0, g1
    cdef int k, r, c
    for k in range(4):
        mean[k] = w0 * means[0][k] + w1 * means[1][k]
    for k in range(4):
        g0[k] = means[0][k] - mean[k]
        g1[k] = means[1][k] - mean[k]
    for r in range(4):
        for c in range(4):
            cov[r][c] = (
                w0 * (covs[0][r][c] + g0[r] * g0[c]) + w1 * (covs[1][r][c] + g1[r] * g1[c])
            )


cdef void _imm_step(
    double[2][4] means, double[2][4][4] covs, double[2] probs,
    double dt, double lag, double class_q,
    double fix_east, double fix_north, double fix_variance,
    bint stated, double stated_east, double stated_north, double velocity_variance,
) noexcept nogil:
    """``imm_one.step``, in place."""
    cdef double forgotten = 1.0 - exp(-fabs(dt) * _FORGETTING_RATE)
    cdef double[2][2] moves
    moves[0][0] = 1.0 - _PRIOR_MANOEUVRING * forgotten
    moves[0][1] = _PRIOR_MANOEUVRING * forgotten
    moves[1][0] = _PRIOR_STEADY * forgotten
    moves[1][1] = 1.0 - _PRIOR_STEADY * forgotten
    cdef double[2][4] new_means
    cdef double[2][4][4] new_covs
    cdef double[2] ahead, log_likelihoods
    cdef double[4] mixed_mean, predicted_mean, correction, innovation4, noise
    cdef double[4][4] mixed_cov, predicted_cov
    cdef double[2][2] expected
    cdef double joint0, joint1, total, q, own, in0, in1, det, distance2
    cdef int j, k
    for j in range(2):
        joint0 = probs[0] * moves[0][j]
        joint1 = probs[1] * moves[1][j]
        total = joint0 + joint1
        ahead[j] = total
        _mixed(means, covs, joint0 / _max(total, 1e-300), joint1 / _max(total, 1e-300),
               mixed_mean, mixed_cov)
        q = class_q * (_STEADY_Q_FACTOR if j == 0 else 1.0)
        predicted_mean[0] = mixed_mean[0] + mixed_mean[2] * dt
        predicted_mean[1] = mixed_mean[1] + mixed_mean[3] * dt
        predicted_mean[2] = mixed_mean[2]
        predicted_mean[3] = mixed_mean[3]
        kalman_floats.predict(mixed_cov, dt, q, predicted_cov)
        own = fix_variance + q * pow(lag, 3.0) / 3.0
        in0 = fix_east + predicted_mean[2] * lag - predicted_mean[0]
        in1 = fix_north + predicted_mean[3] * lag - predicted_mean[1]
        kalman_floats.retrodicted(predicted_cov, lag, expected)
        expected[0][0] += own
        expected[1][1] += own
        det = expected[0][0] * expected[1][1] - expected[0][1] * expected[1][0]
        distance2 = kalman_floats.mahalanobis2(in0, in1, expected)
        log_likelihoods[j] = -0.5 * (distance2 + log(_max(det, 1e-12)))
        if stated:
            innovation4[0] = in0
            innovation4[1] = in1
            innovation4[2] = stated_east - predicted_mean[2]
            innovation4[3] = stated_north - predicted_mean[3]
            noise[0] = own
            noise[1] = own
            noise[2] = velocity_variance
            noise[3] = velocity_variance
            kalman_floats.update_full(predicted_cov, innovation4, noise, correction, new_covs[j])
        else:
            kalman_floats.update_late(predicted_cov, in0, in1, own, lag, correction, new_covs[j])
        for k in range(4):
            new_means[j][k] = predicted_mean[k] + correction[k]
    cdef double best = _max(log_likelihoods[0], log_likelihoods[1])
    cdef double weighted0 = ahead[0] * exp(log_likelihoods[0] - best)
    cdef double weighted1 = ahead[1] * exp(log_likelihoods[1] - best)
    total = weighted0 + weighted1
    cdef double floored0 = _max(weighted0 / total, _FLOOR)
    cdef double floored1 = _max(weighted1 / total, _FLOOR)
    total = floored0 + floored1
    probs[0] = floored0 / total
    probs[1] = floored1 / total
    means[0] = new_means[0]
    means[1] = new_means[1]
    covs[0] = new_covs[0]
    covs[1] = new_covs[1]


cdef void _cap_speed(double* vector, double top):
    """``update_one._cap_speed`` on the velocity at ``vector[0:2]``."""
    cdef double speed = _hypot(vector[0], vector[1])
    cdef double scale
    if speed > top:
        scale = top / _max(speed, 1e-9)
        vector[0] *= scale
        vector[1] *= scale


cpdef bint step_row(
    double[::1] lat,
    double[::1] lon,
    double[::1] t,
    double[:, ::1] vel,
    double[:, :, ::1] cov,
    double[:, :, ::1] model_means,
    double[:, :, :, ::1] model_covs,
    double[:, ::1] model_probs,
    Py_ssize_t row,
    double observed,
    double fix_lat,
    double fix_lon,
    double fix_variance,
    bint keyed,
    bint stated,
    double stated_east,
    double stated_north,
    double velocity_variance,
    double class_q,
    double top,
    double gate_chi2,
) except -1:
    """``update_one.step_floats`` on the arrays of ``TrackArrays`` (see there)."""
    """``update_one.step_floats`` on the arrays of ``TrackArrays`` (see there)."""
    cdef double state_t = t[row]
    cdef double tau = observed if observed > state_t else state_t
    cdef double dt = tau - state_t
    cdef double lag = tau - observed
    cdef double east_v = vel[row, 0]
    cdef double north_v = vel[row, 1]
    cdef double[2] here, fix
    floats.moved(lat[row], lon[row], east_v * dt, north_v * dt, here)
    floats.offset_metres(here[0], here[1], fix_lat, fix_lon, fix)
    cdef double fix_east = fix[0]
    cdef double fix_north = fix[1]
    cdef double[4][4] current, predicted
    cdef double[2][2] spread
    cdef double q, own
    cdef int i, j, k
    if keyed:
        q = class_q * (1.0 - model_probs[row, 0] * (1.0 - _STEADY_Q_FACTOR))
        for i in range(4):
            for j in range(4):
                current[i][j] = cov[row, i, j]
        kalman_floats.predict(current, dt, q, predicted)
        kalman_floats.retrodicted(predicted, lag, spread)
        own = fix_variance + q * pow(lag, 3.0) / 3.0
        spread[0][0] += own
        spread[1][1] += own
        if kalman_floats.mahalanobis2(
            fix_east + east_v * lag, fix_north + north_v * lag, spread
        ) > gate_chi2:
            return False
    cdef double[2][4] means
    cdef double[2][4][4] covs
    cdef double[2] probs
    for j in range(2):
        for k in range(4):
            means[j][k] = model_means[row, j, k]
        means[j][0] -= east_v * dt
        means[j][1] -= north_v * dt
        for i in range(4):
            for k in range(4):
                covs[j][i][k] = model_covs[row, j, i, k]
        probs[j] = model_probs[row, j]
    _imm_step(
        means, covs, probs, dt, lag, class_q, fix_east, fix_north, fix_variance,
        stated and lag == 0.0, stated_east, stated_north, velocity_variance,
    )
    cdef double[4] mean
    cdef double[4][4] mixed, combined
    _mixed(means, covs, probs[0], probs[1], mean, mixed)
    kalman_floats.symmetric(mixed, combined)
    floats.moved(here[0], here[1], mean[0], mean[1], here)
    for j in range(2):
        means[j][0] -= mean[0]
        means[j][1] -= mean[1]
        _cap_speed(&means[j][2], top)
    cdef double[2] velocity
    velocity[0] = mean[2]
    velocity[1] = mean[3]
    _cap_speed(velocity, top)
    lat[row] = here[0]
    lon[row] = here[1]
    vel[row, 0] = velocity[0]
    vel[row, 1] = velocity[1]
    for i in range(4):
        for k in range(4):
            cov[row, i, k] = combined[i][k]
    t[row] = tau
    for j in range(2):
        for k in range(4):
            model_means[row, j, k] = means[j][k]
        for i in range(4):
            for k in range(4):
                model_covs[row, j, i, k] = covs[j][i][k]
        model_probs[row, j] = probs[j]
    return True


def step_rows(
    double[::1] lat,
    double[::1] lon,
    double[::1] t,
    double[:, ::1] vel,
    double[:, :, ::1] cov,
    double[:, :, ::1] model_means,
    double[:, :, :, ::1] model_covs,
    double[:, ::1] model_probs,
    const Py_ssize_t[::1] rows,
    const double[::1] observed,
    const double[::1] fix_lat,
    const double[::1] fix_lon,
    const double[::1] fix_variance,
    const unsigned char[::1] keyed,
    const unsigned char[::1] stated,
    const double[::1] stated_east,
    const double[::1] stated_north,
    double velocity_variance,
    const double[::1] class_q,
    const double[::1] top,
    double gate_chi2,
    unsigned char[::1] stepped,
):
    """``step_row`` for each of distinct ``rows`` in turn; ``stepped`` is set to whether
    each was (False: a keyed report far outside the gate, nothing changed)."""
    cdef Py_ssize_t i
    for i in range(rows.shape[0]):
        stepped[i] = step_row(
            lat, lon, t, vel, cov, model_means, model_covs, model_probs, rows[i], observed[i],
            fix_lat[i], fix_lon[i], fix_variance[i], keyed[i], stated[i], stated_east[i],
            stated_north[i], velocity_variance, class_q[i], top[i], gate_chi2,
        )
