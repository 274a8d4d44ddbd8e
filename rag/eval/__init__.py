"""Evaluation helpers shared by the benchmarks and `docqa eval`: datasets with gold spans, and metrics."""
