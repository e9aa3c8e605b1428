"""Encoder networks: not trained alone, combined into models (see `electra_tf.models`)."""
