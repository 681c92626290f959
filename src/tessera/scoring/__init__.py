"""Score fused pictures against ground truth: GOSPA, purity, identity, timeliness."""
