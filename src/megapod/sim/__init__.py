"""Sim layer of megapod."""
