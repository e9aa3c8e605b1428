"""Tensor helpers for the pre-training objectives: module-level functions whose docstrings give shapes."""
