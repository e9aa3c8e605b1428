"""Optimizers and schedules: google-research/electra's AdamW, layer-wise decay for fine-tuning, the warmup-times-
linear-decay schedule, and the `OptimizerConfig` that builds them. Below `models/`, which compiles with them."""
