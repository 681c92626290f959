"""Types of the compiled ``gate_kernel`` (see ``gate_kernel.pyx``)."""

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
CodeArray = npt.NDArray[np.int8]

def gated_pairs(
    lat: FloatArray,
    lon: FloatArray,
    t: FloatArray,
    vel: FloatArray,
    cov: FloatArray,
    model_means: FloatArray,
    model_covs: FloatArray,
    motion: CodeArray,
    side: CodeArray,
    history: FloatArray,
    belief: FloatArray,
    declared: CodeArray,
    q_by_motion: FloatArray,
    rows: IntArray,
    report_lat: FloatArray,
    report_lon: FloatArray,
    report_t: FloatArray,
    report_variance: FloatArray,
    report_side: CodeArray,
    report_statement: FloatArray,
    report_unbelieved: FloatArray,
    radius: FloatArray,
    batch_time: float,
    late: bool,
    gate_chi2: float,
    out_report: IntArray,
    out_row: IntArray,
    out_cost: FloatArray,
    out_distance2: FloatArray,
) -> int: ...
def largest_variance(cov: FloatArray, model_covs: FloatArray, rows: IntArray) -> float: ...
def fine_pairs(
    lat: FloatArray,
    lon: FloatArray,
    t: FloatArray,
    vel: FloatArray,
    cov: FloatArray,
    model_means: FloatArray,
    model_covs: FloatArray,
    motion: CodeArray,
    side: CodeArray,
    history: FloatArray,
    belief: FloatArray,
    declared: CodeArray,
    q_by_motion: FloatArray,
    pair_report: IntArray,
    pair_row: IntArray,
    report_lat: FloatArray,
    report_lon: FloatArray,
    report_t: FloatArray,
    report_variance: FloatArray,
    report_side: CodeArray,
    report_statement: FloatArray,
    report_unbelieved: FloatArray,
    late: bool,
    gate_chi2: float,
    out_report: IntArray,
    out_row: IntArray,
    out_cost: FloatArray,
    out_distance2: FloatArray,
) -> int: ...
