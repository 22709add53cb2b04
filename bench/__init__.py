"""The benchmark: `make bench` (bench/run). Not part of the test suite."""
