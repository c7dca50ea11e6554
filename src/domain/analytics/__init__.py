"""Statistics for A/B tests on per-user values: pure functions, no I/O."""
