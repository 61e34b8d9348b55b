"""Unit tests of the benchmark runner, its plots and the state-memory benchmark (no broker)."""
