"""Honest statistics: re-test the search's hypotheses on the held-out split (DESIGN §5)."""
