"""Benchmarks of the Qt widgets, run by `legseg bench` in their own parser so the core never imports Qt."""
