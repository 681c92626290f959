"""The project's metadata is in pyproject.toml; this builds its compiled modules.

Fusion's inner loops on C doubles (Cython): ``step_kernel``, one track's Kalman step,
``gate_kernel``, the gates over candidate pairs, and ``sweep_kernel``, the sweep's tests. Without them the same steps run in
Python and NumPy, so a source tree that was never built still works, only slower.
Floating-point contraction is off so that C computes each operation as Python does.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                f"tessera.core.fusion.{name}",
                [f"src/tessera/core/fusion/{name}.pyx"],
                extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
                # Without a C compiler the install still succeeds, fusion in Python.
                optional=True,
            )
            for name in ("step_kernel", "gate_kernel", "sweep_kernel")
        ],
        language_level=3,
        include_path=["src"],
    )
)
