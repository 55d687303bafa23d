"""Planner layer of megapod."""
