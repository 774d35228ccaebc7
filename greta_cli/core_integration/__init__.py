"""The bridge from the CLI's configuration to the engine."""
