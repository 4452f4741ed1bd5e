"""Benchmarks: ``python -m bench <scenario>``; results go to bench/results/ as JSON + markdown."""
