# Kalman algebra on C doubles for one track (a 4 x 4 state: east, north and their
# velocities), shared by the compiled kernels: ``kalman.predict_floats`` and the helpers of
# ``imm_one``, the same operations in the same order (so the same bits).

from libc.math cimport fabs


cdef inline void predict(double[4][4] cov, double dt, double q, double[4][4] out) noexcept nogil:
    cdef double span = fabs(dt)
    cdef double velocity = q * span
    cdef double cross = velocity * span / 2.0
    cdef double position = cross * span * (2.0 / 3.0)
    cdef int i, j
    cdef double vv, grown
    for i in range(2):
        for j in range(2):
            vv = cov[i + 2][j + 2]
            out[i][j] = cov[i][j] + dt * (cov[i][j + 2] + cov[i + 2][j]) + dt * dt * vv
            grown = dt * vv
            out[i][j + 2] = cov[i][j + 2] + grown
            out[i + 2][j] = cov[i + 2][j] + grown
            out[i + 2][j + 2] = vv
    for i in range(2):
        out[i][i] += position
        out[i][i + 2] += cross
        out[i + 2][i] += cross
        out[i + 2][i + 2] += velocity


cdef inline void retrodicted(double[4][4] cov, double lag, double[2][2] out) noexcept nogil:
    cdef int i, j
    for i in range(2):
        for j in range(2):
            out[i][j] = (
                cov[i][j] - lag * (cov[i][j + 2] + cov[i + 2][j]) + lag * lag * cov[i + 2][j + 2]
            )


cdef inline double mahalanobis2(double east, double north, double[2][2] spread) noexcept nogil:
    cdef double a = spread[0][0], b = spread[0][1], d = spread[1][1]
    return (d * east * east - 2.0 * b * east * north + a * north * north) / (a * d - b * b)


cdef inline void inverse2(double a, double b, double c, double d, double[2][2] out) noexcept nogil:
    cdef double det = a * d - b * c
    out[0][0] = d / det
    out[0][1] = -b / det
    out[1][0] = -c / det
    out[1][1] = a / det


cdef inline void product2(double[2][2] left, double[2][2] right, double[2][2] out) noexcept nogil:
    cdef int i, j
    for i in range(2):
        for j in range(2):
            out[i][j] = left[i][0] * right[0][j] + left[i][1] * right[1][j]


cdef inline void symmetric(double[4][4] matrix, double[4][4] out) noexcept nogil:
    cdef int r, c
    for r in range(4):
        for c in range(4):
            out[r][c] = 0.5 * (matrix[r][c] + matrix[c][r])


cdef inline void inverse4(double[4][4] m, double[4][4] out) noexcept nogil:
    cdef double[2][2] a, b, c, a_inv_b, c_a_inv_b, schur, c_a_inv, upper_right, lower_left
    cdef double[2][2] correction
    inverse2(m[0][0], m[0][1], m[1][0], m[1][1], a)
    b[0][0] = m[0][2]
    b[0][1] = m[0][3]
    b[1][0] = m[1][2]
    b[1][1] = m[1][3]
    product2(a, b, a_inv_b)
    c[0][0] = m[2][0]
    c[0][1] = m[2][1]
    c[1][0] = m[3][0]
    c[1][1] = m[3][1]
    product2(c, a_inv_b, c_a_inv_b)
    inverse2(
        m[2][2] - c_a_inv_b[0][0],
        m[2][3] - c_a_inv_b[0][1],
        m[3][2] - c_a_inv_b[1][0],
        m[3][3] - c_a_inv_b[1][1],
        schur,
    )
    product2(c, a, c_a_inv)
    product2(a_inv_b, schur, upper_right)
    product2(schur, c_a_inv, lower_left)
    product2(upper_right, c_a_inv, correction)
    cdef int i, j
    for i in range(2):
        for j in range(2):
            out[i][j] = a[i][j] + correction[i][j]
            out[i][j + 2] = -upper_right[i][j]
            out[i + 2][j] = -lower_left[i][j]
            out[i + 2][j + 2] = schur[i][j]


cdef inline void update_late(
    double[4][4] cov, double in0, double in1, double own, double lag,
    double[4] correction, double[4][4] out,
) noexcept nogil:
    cdef double[4][2] cross
    cdef double[4][2] gain
    cdef double[2][2] inverse
    cdef double[4][4] updated
    cdef int r, s, k
    for r in range(4):
        for k in range(2):
            cross[r][k] = cov[r][k] - lag * cov[r][k + 2]
    inverse2(
        cross[0][0] - lag * cross[2][0] + own,
        cross[0][1] - lag * cross[2][1],
        cross[1][0] - lag * cross[3][0],
        cross[1][1] - lag * cross[3][1] + own,
        inverse,
    )
    for r in range(4):
        for k in range(2):
            gain[r][k] = cross[r][0] * inverse[0][k] + cross[r][1] * inverse[1][k]
    for r in range(4):
        correction[r] = gain[r][0] * in0 + gain[r][1] * in1
    for r in range(4):
        for s in range(4):
            updated[r][s] = cov[r][s] - (gain[r][0] * cross[s][0] + gain[r][1] * cross[s][1])
    symmetric(updated, out)


cdef inline void times(double[4] row, double[4][4] m, double[4] out) noexcept nogil:
    cdef int k
    for k in range(4):
        out[k] = row[0] * m[0][k] + row[1] * m[1][k] + row[2] * m[2][k] + row[3] * m[3][k]


cdef inline void update_full(
    double[4][4] cov, double[4] innovation, double[4] noise,
    double[4] correction, double[4][4] out,
) noexcept nogil:
    cdef double[4][4] spread, inverse, gain, updated
    cdef double[4] change
    cdef int r, c
    for r in range(4):
        for c in range(4):
            spread[r][c] = cov[r][c] + (noise[r] if r == c else 0.0)
    inverse4(spread, inverse)
    for r in range(4):
        times(cov[r], inverse, gain[r])
    for r in range(4):
        # (Python's sum() starts from 0.)
        correction[r] = (
            0.0 + gain[r][0] * innovation[0] + gain[r][1] * innovation[1]
            + gain[r][2] * innovation[2] + gain[r][3] * innovation[3]
        )
    for r in range(4):
        times(gain[r], cov, change)
        for c in range(4):
            updated[r][c] = cov[r][c] - change[c]
    symmetric(updated, out)
