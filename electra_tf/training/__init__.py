"""Training: optimizer and schedule, configuration, and the pre-training driver."""
