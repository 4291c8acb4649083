"""Measuring marsad against labelled data, shared by the test suite and the benchmarks.

Tests and benchmarks both need the corpora, the held-out sets, the quality metrics and the
helpers that drive a real broker or browser; keeping them in one installed package lets each
import them normally, without reaching into the other's folder or editing ``sys.path``.
"""
