# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""``gating``'s coarse and fine gates compiled: one loop over the candidate pairs.

A micro-batch of one commit gates a report or two against every live track; in NumPy
that is some forty calls on short arrays, each costing more than its arithmetic. These
are the same formulas (a test holds them to ``gating``'s own, to rounding).
"""

from libc.math cimport NAN, cos, fabs, isnan, sqrt
from libc.stdlib cimport free, malloc

from tessera.core.fusion cimport floats
from tessera.core.fusion.floats cimport py_max
from tessera.core.fusion.gate_floats cimport (
    _EARTH_RADIUS,
    _MANOEUVRING,
    _UNPINNED,
    _fine_one,
    _kept,
    _near,
    _predicted_lat,
    _predicted_point,
    _surely_far,
    _xyz,
    chord_per_degree,
)

cdef double _CHORD_PER_DEGREE = chord_per_degree()


def constants():
    """The constants its arithmetic takes as the Python modules' own (a test compares)."""
    return _EARTH_RADIUS, _MANOEUVRING, _UNPINNED


def gated_pairs(
    const double[::1] lat,
    const double[::1] lon,
    const double[::1] t,
    const double[:, ::1] vel,
    const double[:, :, ::1] cov,
    const double[:, :, ::1] model_means,
    const double[:, :, :, ::1] model_covs,
    const signed char[::1] motion,
    const signed char[::1] side,
    const double[:, :, ::1] history,
    const double[:, ::1] belief,
    const signed char[::1] declared,
    const double[::1] q_by_motion,
    const Py_ssize_t[::1] rows,
    const double[::1] report_lat,
    const double[::1] report_lon,
    const double[::1] report_t,
    const double[::1] report_variance,
    const signed char[::1] report_side,
    const double[:, ::1] report_statement,
    const double[::1] report_unbelieved,
    const double[::1] radius,
    double batch_time,
    bint late,
    double gate_chi2,
    Py_ssize_t[::1] out_report,
    Py_ssize_t[::1] out_row,
    double[::1] out_cost,
    double[::1] out_distance2,
):
    """``gating.candidates`` by measuring every distance (reports in order, rows in the
    order given), then ``fine_pairs``, in one pass: the pairs inside the gate written to
    ``out_*``; returns how many."""
    cdef Py_ssize_t i, j, r, kept = 0, n_rows = rows.shape[0]
    cdef double limit, apart, cost, distance2
    cdef double[3] report
    # Per row: its predicted latitude, then (once a report comes near it) its point;
    # a NaN x says the point is not taken yet.
    cdef double* points = <double*>malloc(4 * (n_rows + 1) * sizeof(double))
    if points == NULL:
        raise MemoryError()
    for j in range(n_rows):
        points[4 * j] = _predicted_lat(lat, t, vel, rows[j], batch_time)
        points[4 * j + 1] = NAN
    try:
        for i in range(report_lat.shape[0]):
            _xyz(report_lat[i], report_lon[i], report)
            limit = radius[i] * radius[i]
            for j in range(n_rows):
                r = rows[j]
                # A chord spans at least 2/pi of the arc between the latitudes: rows
                # surely too far are passed over without trigonometry.
                apart = _CHORD_PER_DEGREE * fabs(points[4 * j] - report_lat[i])
                if apart > radius[i] * (1.0 + 1e-9) + 1.0:
                    continue
                if isnan(points[4 * j + 1]):
                    _predicted_point(lat, lon, t, vel, r, batch_time, &points[4 * j + 1])
                if not _near(report, &points[4 * j + 1], limit):
                    continue
                if _fine_one(
                    lat, lon, t, vel, cov, model_means, model_covs, motion, side, history,
                    belief, declared, q_by_motion, r, report_lat[i], report_lon[i],
                    report_t[i], report_variance[i], report_side[i],
                    &report_statement[i, 0], report_unbelieved[i], late, gate_chi2,
                    &cost, &distance2,
                ):
                    kept = _kept(
                        i, r, cost, distance2, out_report, out_row, out_cost, out_distance2,
                        kept,
                    )
    finally:
        free(points)
    return kept


def fine_pairs(
    const double[::1] lat,
    const double[::1] lon,
    const double[::1] t,
    const double[:, ::1] vel,
    const double[:, :, ::1] cov,
    const double[:, :, ::1] model_means,
    const double[:, :, :, ::1] model_covs,
    const signed char[::1] motion,
    const signed char[::1] side,
    const double[:, :, ::1] history,
    const double[:, ::1] belief,
    const signed char[::1] declared,
    const double[::1] q_by_motion,
    const Py_ssize_t[::1] pair_report,
    const Py_ssize_t[::1] pair_row,
    const double[::1] report_lat,
    const double[::1] report_lon,
    const double[::1] report_t,
    const double[::1] report_variance,
    const signed char[::1] report_side,
    const double[:, ::1] report_statement,
    const double[::1] report_unbelieved,
    bint late,
    double gate_chi2,
    Py_ssize_t[::1] out_report,
    Py_ssize_t[::1] out_row,
    double[::1] out_cost,
    double[::1] out_distance2,
):
    """``gating._fine`` of ``gating.gate`` (``late``: of ``gating.gate_late``) over the
    candidate pairs: those inside the gate written to ``out_*``; returns how many."""
    cdef Py_ssize_t p, i, r, kept = 0
    cdef double cost, distance2
    with nogil:
        for p in range(pair_report.shape[0]):
            i = pair_report[p]
            r = pair_row[p]
            if _fine_one(
                lat, lon, t, vel, cov, model_means, model_covs, motion, side, history,
                belief, declared, q_by_motion, r, report_lat[i], report_lon[i],
                report_t[i], report_variance[i], report_side[i],
                &report_statement[i, 0], report_unbelieved[i], late, gate_chi2,
                &cost, &distance2,
            ):
                kept = _kept(
                    i, r, cost, distance2, out_report, out_row, out_cost, out_distance2, kept
                )
    return kept


def largest_variance(
    const double[:, :, ::1] cov,
    const double[:, :, :, ::1] model_covs,
    const Py_ssize_t[::1] rows,
):
    """The largest per-axis position variance of ``rows``, of the track's or of its
    manoeuvring model's (what ``gating.gate`` widens its coarse gate by)."""
    cdef Py_ssize_t j, r
    cdef double largest = -1.0, own, manoeuvring, variance
    for j in range(rows.shape[0]):
        r = rows[j]
        own = 0.5 * (cov[r, 0, 0] + cov[r, 1, 1])
        manoeuvring = 0.5 * (model_covs[r, _MANOEUVRING, 0, 0] + model_covs[r, _MANOEUVRING, 1, 1])
        variance = manoeuvring if manoeuvring > own else own
        if variance > largest:
            largest = variance
    return largest


def gated_one(
    const double[::1] lat,
    const double[::1] lon,
    const double[::1] t,
    const double[:, ::1] vel,
    const double[:, :, ::1] cov,
    const double[:, :, ::1] model_means,
    const double[:, :, :, ::1] model_covs,
    const signed char[::1] motion,
    const signed char[::1] side,
    const double[:, :, ::1] history,
    const double[:, ::1] belief,
    const signed char[::1] declared,
    const double[::1] q_by_motion,
    const unsigned char[::1] alive,
    const signed char[::1] status,
    signed char dead,
    const double[::1] max_speed_by_motion,
    double report_lat,
    double report_lon,
    double report_t,
    double report_variance,
    signed char report_side,
    double l0,
    double l1,
    double l2,
    double l3,
    double unbelieved,
    double batch_time,
    bint late,
    double margin,
    double late_reach,
    double gate_sigmas,
    double gate_chi2,
):
    """``gating.gate`` (``late``: ``gating.gate_late``) of one report against every live
    row (alive, not dead), its coarse radius taken from those rows as theirs is: the rows
    inside the gate, cheapest first (the lowest row among equals)."""
    cdef Py_ssize_t r, k, capacity = alive.shape[0]
    cdef double largest = -1.0, fastest = 0.0, own, manoeuvring, radius, limit, travelled
    cdef double cost, distance2, lag = py_max(batch_time - report_t, 0.0)
    cdef double fastest_of_all = 0.0
    cdef double[3] report, point
    cdef double[4] statement = [l0, l1, l2, l3]
    for k in range(max_speed_by_motion.shape[0]):
        if max_speed_by_motion[k] > fastest_of_all:
            fastest_of_all = max_speed_by_motion[k]
    # The coarse radius as ``gating`` takes it from every live row, but the pass stops
    # once no other row could change it: a track as uncertain as the search margin
    # (``min(track_sd, margin)`` is then the margin), a thing as fast as any kind is or
    # fast enough to have come the whole reach since.
    for r in range(capacity):
        if not alive[r] or status[r] == dead:
            continue
        if late:
            if max_speed_by_motion[motion[r]] > fastest:
                fastest = max_speed_by_motion[motion[r]]
                if fastest >= fastest_of_all or fastest * lag >= late_reach:
                    break
        else:
            own = 0.5 * (cov[r, 0, 0] + cov[r, 1, 1])
            manoeuvring = 0.5 * (model_covs[r, _MANOEUVRING, 0, 0] + model_covs[r, _MANOEUVRING, 1, 1])
            if (manoeuvring if manoeuvring > own else own) > largest:
                largest = manoeuvring if manoeuvring > own else own
                if sqrt(largest) >= margin:
                    break
    if late:
        travelled = fastest * lag
        radius = gate_sigmas * sqrt(2.0 * report_variance) + (
            travelled if travelled < late_reach else late_reach
        )
    else:
        own = sqrt(largest) if largest >= 0.0 else 0.0
        radius = gate_sigmas * (sqrt(2.0 * report_variance) + (margin if margin < own else own))
        radius = radius + margin
    _xyz(report_lat, report_lon, report)
    limit = radius * radius
    cdef double reach = radius * (1.0 + 1e-9) + 1.0
    cdef double cos_report = cos(report_lat * floats.DEGREES_TO_RADIANS)
    cdef double predicted_lat
    cdef Py_ssize_t* rows = <Py_ssize_t*>malloc((capacity + 1) * sizeof(Py_ssize_t))
    cdef double* costs = <double*>malloc((capacity + 1) * sizeof(double))
    cdef Py_ssize_t kept = 0
    if rows == NULL or costs == NULL:
        free(rows)
        free(costs)
        raise MemoryError()
    try:
        for r in range(capacity):
            if not alive[r] or status[r] == dead:
                continue
            # (The coarse gate of ``gated_pairs``, for one report, passing over rows
            # surely too far by longitude as well as by latitude.)
            predicted_lat = _predicted_lat(lat, t, vel, r, batch_time)
            if _CHORD_PER_DEGREE * fabs(predicted_lat - report_lat) > reach:
                continue
            if _surely_far(
                lat[r], lon[r], vel[r, 0] * (batch_time - t[r]), predicted_lat,
                report_lat, report_lon, cos_report, reach,
            ):
                continue
            _predicted_point(lat, lon, t, vel, r, batch_time, point)
            if not _near(report, point, limit):
                continue
            if not _fine_one(
                lat, lon, t, vel, cov, model_means, model_covs, motion, side, history,
                belief, declared, q_by_motion, r, report_lat, report_lon, report_t,
                report_variance, report_side, &statement[0], unbelieved, late, gate_chi2,
                &cost, &distance2,
            ):
                continue
            # Insertion by cost; rows come in ascending order, so equals keep it.
            k = kept
            while k > 0 and costs[k - 1] > cost:
                costs[k] = costs[k - 1]
                rows[k] = rows[k - 1]
                k -= 1
            costs[k] = cost
            rows[k] = r
            kept += 1
        return [rows[k] for k in range(kept)]
    finally:
        free(rows)
        free(costs)
