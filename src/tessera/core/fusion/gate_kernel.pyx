# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""``gating``'s coarse and fine gates compiled: one loop over the candidate pairs.

A micro-batch of one commit gates a report or two against every live track; in NumPy
that is some forty calls on short arrays, each costing more than its arithmetic. These
are the same formulas (a test holds them to ``gating``'s own, to rounding).
"""

from libc.float cimport DBL_EPSILON
from libc.math cimport M_PI, NAN, cos, fabs, isnan, log, sin, sqrt
from libc.stdlib cimport free, malloc

from tessera.core.fusion cimport floats
from tessera.core.fusion.floats cimport py_max

from tessera.core.fusion.arrays import UNPINNED
from tessera.core.fusion.geo import EARTH_RADIUS_M
from tessera.core.fusion.imm import MANOEUVRING

cdef double _EARTH_RADIUS = EARTH_RADIUS_M
cdef int _MANOEUVRING = MANOEUVRING
cdef signed char _UNPINNED = UNPINNED
# The shortest chord between points a degree of latitude apart (2/pi of the arc, a bound).
cdef double _CHORD_PER_DEGREE = EARTH_RADIUS_M * floats.DEGREES_TO_RADIANS * 2.0 / M_PI


cdef inline void _xyz(double lat, double lon, double* out) noexcept nogil:
    cdef double phi = lat * floats.DEGREES_TO_RADIANS
    cdef double lam = lon * floats.DEGREES_TO_RADIANS
    cdef double cos_phi = cos(phi)
    out[0] = cos_phi * cos(lam) * _EARTH_RADIUS
    out[1] = cos_phi * sin(lam) * _EARTH_RADIUS
    out[2] = sin(phi) * _EARTH_RADIUS


cdef inline void _predicted_point(
    const double[::1] lat,
    const double[::1] lon,
    const double[::1] t,
    const double[:, ::1] vel,
    Py_ssize_t r,
    double batch_time,
    double* out,
) noexcept nogil:
    """Row ``r``'s point (x, y, z), predicted to ``batch_time``."""
    cdef double dt = batch_time - t[r]
    cdef double[2] here
    floats.moved(lat[r], lon[r], vel[r, 0] * dt, vel[r, 1] * dt, here)
    _xyz(here[0], here[1], out)


cdef inline double _predicted_lat(
    const double[::1] lat, const double[::1] t, const double[:, ::1] vel, Py_ssize_t r,
    double batch_time,
) noexcept nogil:
    """The latitude ``_predicted_point`` puts row ``r`` at, without its trigonometry."""
    return floats.moved_lat(lat[r], vel[r, 1] * (batch_time - t[r]))


cdef inline bint _near(const double* report, const double* point, double limit) noexcept nogil:
    cdef double dx = report[0] - point[0]
    cdef double dy = report[1] - point[1]
    cdef double dz = report[2] - point[2]
    return dx * dx + dy * dy + dz * dz <= limit


cdef inline bint _surely_far(
    double row_lat,
    double row_lon,
    double east_moved,
    double predicted_lat,
    double report_lat,
    double report_lon,
    double cos_report,
    double reach,
) noexcept nogil:
    """Whether a row is surely more than ``reach`` metres (of chord) from the report by
    longitude, without trigonometry: the chord between two points is at least 2/pi of
    R * dlon * the smaller cosine of their latitudes, cos is 1-Lipschitz, and the row's
    move east (``east_moved`` metres) shifts its longitude by at most that many metres
    over the narrowest a degree of it can be."""
    cdef double row_cos = cos_report - fabs(row_lat - report_lat) * floats.DEGREES_TO_RADIANS
    if row_cos <= 0.01:
        return False
    cdef double dlon = fabs(row_lon - report_lon)
    if dlon > 180.0:
        dlon = 360.0 - dlon
    dlon -= fabs(east_moved) / (floats.PER_LON_EQUATOR * row_cos)
    if dlon <= 0.0:
        return False
    cdef double predicted_cos = (
        cos_report - fabs(predicted_lat - report_lat) * floats.DEGREES_TO_RADIANS
    )
    if predicted_cos <= 0.0:
        return False
    return _CHORD_PER_DEGREE * predicted_cos * dlon > reach


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


cdef inline bint _past_position(
    const double[:, :, ::1] history,
    Py_ssize_t r,
    double at,
    double now_t,
    double now_lat,
    double now_lon,
    double now_variance,
    double* out,
) noexcept nogil:
    """``TrackArrays.past_positions`` for one row: (lat, lon, variance) to ``out``;
    whether the history reaches back to ``at``."""
    cdef Py_ssize_t samples = history.shape[1]
    # How many samples are later than ``at``, by bisection: a sample is taken only once
    # the state time is a whole step past the newest one (``Lifecycle.sweep``), so the
    # times rise from the front (after the NaNs of samples not taken yet, never later),
    # and "later" holds from some sample on. (Counting them touches the whole history.)
    cdef Py_ssize_t low = 0, high = samples, middle
    while low < high:
        middle = (low + high) // 2
        if history[r, middle, 0] > at:
            high = middle
        else:
            low = middle + 1
    cdef Py_ssize_t later = samples - low
    cdef Py_ssize_t before = samples - 1 - later
    cdef bint known = before >= 0
    if before < 0:
        before = 0
    if isnan(history[r, before, 0]):
        known = False
    cdef double first_t = history[r, before, 0]
    cdef double first_lat = history[r, before, 1]
    cdef double first_lon = history[r, before, 2]
    cdef double first_var = history[r, before, 3]
    cdef double second_t, second_lat, second_lon, second_var
    cdef Py_ssize_t following = before + 1 if before + 1 < samples else samples - 1
    if later > 0:
        second_t = history[r, following, 0]
        second_lat = history[r, following, 1]
        second_lon = history[r, following, 2]
        second_var = history[r, following, 3]
    else:
        second_t, second_lat, second_lon, second_var = now_t, now_lat, now_lon, now_variance
    cdef double span = py_max(second_t - first_t, 1e-9)
    cdef double share = (at - first_t) / span
    share = 0.0 if share < 0.0 else (1.0 if share > 1.0 else share)
    out[0] = first_lat + share * (second_lat - first_lat)
    out[1] = first_lon + share * (second_lon - first_lon)
    out[2] = py_max(first_var, second_var)
    return known


cdef inline bint _fine_one(
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
    Py_ssize_t r,
    double report_lat,
    double report_lon,
    double report_t,
    double report_variance,
    signed char report_side,
    const double* statement,
    double unbelieved,
    bint late,
    double gate_chi2,
    double* out_cost,
    double* out_distance2,
) noexcept nogil:
    """``gating._fine`` for one report and row ``r``, weighed by identity as
    ``identity_gate.with_identity`` weighs it: whether the pair is inside the gate (its
    cost and squared distance written to ``out_*``)."""
    cdef signed char pinned = side[r]
    if pinned != _UNPINNED and pinned != report_side:
        return False
    cdef int a, b
    cdef double q, growth, variance, x, y, distance2
    cdef double[2] here, offset
    cdef double[4] gap
    cdef double[4][4] g
    cdef double[2][2] s
    cdef double[3] past
    cdef double dt = report_t - t[r]
    cdef bint placed = False
    if late and dt < 0.0:
        # Where the history says the track was (its spread too), if it reaches back so
        # far: then nothing of its motion models is needed.
        variance = 0.5 * (cov[r, 0, 0] + cov[r, 1, 1])
        placed = _past_position(history, r, report_t, t[r], lat[r], lon[r], variance, past)
    if placed:
        here[0] = past[0]
        here[1] = past[1]
        s[0][0] = past[2]
        s[0][1] = 0.0
        s[1][0] = 0.0
        s[1][1] = past[2]
    else:
        floats.moved(lat[r], lon[r], vel[r, 0] * dt, vel[r, 1] * dt, here)
        # The manoeuvring model's covariance widened by its gap from the track
        # (``imm.gating_covariance``), its position block predicted ``dt`` on.
        for a in range(4):
            gap[a] = model_means[r, _MANOEUVRING, a]
        gap[2] -= vel[r, 0]
        gap[3] -= vel[r, 1]
        for a in range(4):
            for b in range(4):
                g[a][b] = model_covs[r, _MANOEUVRING, a, b] + gap[a] * gap[b]
        q = q_by_motion[motion[r]]
        growth = q * fabs(dt) ** 3 / 3.0
        for a in range(2):
            for b in range(2):
                s[a][b] = (
                    g[a][b] + dt * (g[a][b + 2] + g[b][a + 2]) + dt * dt * g[a + 2][b + 2]
                )
        s[0][0] += growth
        s[1][1] += growth
    s[0][0] += report_variance
    s[1][1] += report_variance
    floats.offset_metres(here[0], here[1], report_lat, report_lon, offset)
    x = offset[0]
    y = offset[1]
    distance2 = (
        s[1][1] * x * x - 2.0 * s[0][1] * x * y + s[0][0] * y * y
    ) / (s[0][0] * s[1][1] - s[0][1] * s[0][1])
    if not distance2 <= gate_chi2:
        return False
    cdef double cost, ratio, penalty
    if late:
        # A late report goes where it fits best in its own error (gating.gate_late).
        cost = distance2
    else:
        # Likelihood: a vague track must not win over a precise one by its size.
        cost = distance2 + log(py_max(s[0][0] * s[1][1] - s[0][1] * s[1][0], 1e-12))
    if unbelieved > 0.0:
        # ``identity_gate.with_identity``: the stated identity's likelihood ratio.
        ratio = (
            belief[r, 0] * statement[0]
            + belief[r, 1] * statement[1]
            + belief[r, 2] * statement[2]
            + belief[r, 3] * statement[3]
        ) / unbelieved
        if declared[r] != 0 and ratio < 1.0:
            return False
        penalty = -2.0 * log(ratio if ratio >= DBL_EPSILON else DBL_EPSILON)
        if distance2 + (penalty if penalty > 0.0 else 0.0) > gate_chi2:
            return False
        cost = cost + penalty
        distance2 = distance2 + penalty
    out_cost[0] = cost
    out_distance2[0] = distance2
    return True


cdef inline Py_ssize_t _kept(
    Py_ssize_t i,
    Py_ssize_t r,
    double cost,
    double distance2,
    Py_ssize_t[::1] out_report,
    Py_ssize_t[::1] out_row,
    double[::1] out_cost,
    double[::1] out_distance2,
    Py_ssize_t kept,
) noexcept nogil:
    out_report[kept] = i
    out_row[kept] = r
    out_cost[kept] = cost
    out_distance2[kept] = distance2
    return kept + 1


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
