"""Export for serving: a SavedModel that TF Serving loads and feeds with raw text."""
