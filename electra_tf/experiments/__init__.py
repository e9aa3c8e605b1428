"""Experiments built from the library: objectives compared at equal compute."""
