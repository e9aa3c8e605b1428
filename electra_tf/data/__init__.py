"""Pre-training data: corpus reading, packing, TFRecord writing, and the masked tf.data input pipeline."""
