"""Trainable combinations of networks and heads."""
