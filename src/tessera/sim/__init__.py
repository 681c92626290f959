"""Exercise scenarios with ground truth, for the demo, tests and benchmarks."""
