# ``gate_kernel``'s arithmetic on C doubles: the coarse gate's geometry, and the fine
# gate of one report and one row (``gating._fine``, weighed by identity as
# ``identity_gate.with_identity`` weighs it). Its constants are the Python modules' own
# (a test holds them so): the Earth's radius (``geo``), the manoeuvring model's index
# (``imm``), the code of a track no declaration pins to a side (``arrays``).

from libc.float cimport DBL_EPSILON
from libc.math cimport M_PI, cos, fabs, isnan, log, sin

from tessera.core.fusion cimport floats
from tessera.core.fusion.floats cimport py_max

cdef extern from *:
    """
    static const double TESSERA_EARTH_RADIUS = 6371008.8;
    static const int TESSERA_MANOEUVRING = 1;
    static const signed char TESSERA_UNPINNED = -1;
    """
    const double _EARTH_RADIUS "TESSERA_EARTH_RADIUS"
    const int _MANOEUVRING "TESSERA_MANOEUVRING"
    const signed char _UNPINNED "TESSERA_UNPINNED"

# The shortest chord between points a degree of latitude apart (2/pi of the arc, a bound).
cdef inline double chord_per_degree() noexcept nogil:
    return _EARTH_RADIUS * floats.DEGREES_TO_RADIANS * 2.0 / M_PI


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
    return chord_per_degree() * predicted_cos * dlon > reach


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
