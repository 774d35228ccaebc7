"""The genetic search for hypotheses on the discovery statistics (DESIGN §4)."""
