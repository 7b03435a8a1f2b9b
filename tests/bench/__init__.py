"""Benchmarks: `make bench` prints numbers and ratios measured side by side in one run."""
