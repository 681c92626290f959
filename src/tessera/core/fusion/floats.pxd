# Local geometry on C doubles (``geo.py``), shared by the compiled kernels. Python's own
# rules are kept where C's differ: ``%`` takes the divisor's sign, and ``max(a, b)`` keeps
# ``a`` unless ``b`` is greater.

from libc.math cimport copysign, cos, fmod

cdef extern from *:
    """
    static const double TESSERA_PER_LAT = 110574.0;
    static const double TESSERA_PER_LON_EQUATOR = 111320.0;
    static const double TESSERA_DEGREES_TO_RADIANS = 3.14159265358979323846 / 180.0;
    """
    const double PER_LAT "TESSERA_PER_LAT"
    const double PER_LON_EQUATOR "TESSERA_PER_LON_EQUATOR"
    const double DEGREES_TO_RADIANS "TESSERA_DEGREES_TO_RADIANS"


cdef inline double py_max(double a, double b) noexcept nogil:
    return b if b > a else a


cdef inline double py_mod(double a, double b) noexcept nogil:
    cdef double mod = fmod(a, b)
    if mod:
        if (b < 0) != (mod < 0):
            mod += b
    else:
        mod = copysign(0.0, b)
    return mod


cdef inline double per_degree_lon(double lat) noexcept nogil:
    return py_max(PER_LON_EQUATOR * cos(lat * DEGREES_TO_RADIANS), 1.0)


cdef inline double moved_lat(double lat, double north) noexcept nogil:
    """``moved``'s latitude alone (no trigonometry)."""
    cdef double new_lat = py_max(lat + north / PER_LAT, -90.0)
    return 90.0 if 90.0 < new_lat else new_lat


cdef inline void moved(
    double lat, double lon, double east, double north, double* out
) noexcept nogil:
    """``geo.moved``: (lat, lon) written to ``out``."""
    cdef double new_lat = moved_lat(lat, north)
    cdef double new_lon = lon + east / per_degree_lon(lat)
    if not (-180.0 <= new_lon <= 180.0):
        new_lon = py_mod(new_lon + 540.0, 360.0) - 180.0
    out[0] = new_lat
    out[1] = new_lon


cdef inline void offset_metres(
    double lat0, double lon0, double lat, double lon, double* out
) noexcept nogil:
    """``geo.offset_metres``: (east, north) written to ``out``."""
    cdef double dlon = py_mod(lon - lon0 + 540.0, 360.0) - 180.0
    out[0] = dlon * per_degree_lon(lat0)
    out[1] = (lat - lat0) * PER_LAT
