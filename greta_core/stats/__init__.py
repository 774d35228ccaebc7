"""Sufficient statistics and the tests computed from them."""
