"""Fusion's compiled kernels (setup.py builds them), if this tree was built.

``step_kernel`` steps one track (``update_one``), ``gate_kernel`` gates candidate pairs
(``gating``), ``sweep_kernel`` tests every track at a sweep (``lifecycle``); each says in
Python what it computes. Without them the same steps run in
Python and NumPy, only slower: tests switch ``COMPILED`` off to hold the two alike.
"""

from __future__ import annotations

try:
    from tessera.core.fusion import gate_kernel, step_kernel, sweep_kernel

    COMPILED = True
except ImportError:  # a source tree never built
    COMPILED = False

__all__ = ["COMPILED", "gate_kernel", "step_kernel", "sweep_kernel"]
