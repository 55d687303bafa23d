"""Report layer of megapod."""
