"""Physics layer of megapod."""
