"""Benchmarks at national scale: a synthetic installation on PostgreSQL and measurements of the
app against floors measured in the same run. ``python -m bench --help`` (or ``make bench``)."""
