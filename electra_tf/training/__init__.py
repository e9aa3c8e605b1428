"""Training: `PretrainingConfig`, the pre-training and fine-tuning drivers, and their callbacks."""
