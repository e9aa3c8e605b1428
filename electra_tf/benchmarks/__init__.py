"""Throughput benchmarks behind `bin/benchmark`: medians over repeated timed windows, after warm-up, in one process."""
