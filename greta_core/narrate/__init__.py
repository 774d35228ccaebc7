"""Plain-English narratives from confirmed results, by templates (DESIGN §6)."""
