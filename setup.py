"""The project's metadata is in pyproject.toml; this builds its one compiled module.

``tessera.core.fusion.step_kernel`` (Cython) is one track's Kalman step on C doubles.
Without it the same step runs in Python (``update_one.step_floats``) to the same bits,
so a source tree that was never built still works, only slower. Floating-point
contraction is off so that C computes each operation as Python does.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "tessera.core.fusion.step_kernel",
                ["src/tessera/core/fusion/step_kernel.pyx"],
                extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
                # Without a C compiler the install still succeeds, the step in Python.
                optional=True,
            )
        ],
        language_level=3,
    )
)
