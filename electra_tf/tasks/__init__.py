"""Fine-tuning tasks: task descriptions, file readers, GLUE's definitions and metrics, and the registry."""
