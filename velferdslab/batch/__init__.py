"""Batch work on a real task queue (RQ on Redis): the quarterly progress reports of a lab."""
