"""Checkpoint interop: HF transformers and Google's original TF1 checkpoints, through one name-mapping table."""
