"""Greta's command-line interface: parses input, calls greta_core and renders the output."""
