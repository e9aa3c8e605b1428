"""Pre-training data: packing, TFRecord writing, metadata, and the masked tf.data input pipeline (corpus reading is
the top-level `electra_tf.corpus`)."""
