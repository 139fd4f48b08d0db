"""Benchmarks: each prints ratios against a bound measured in the same run."""
