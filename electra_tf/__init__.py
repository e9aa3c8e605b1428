"""electra_tf: ELECTRA pre-training and fine-tuning on TensorFlow 2 and Keras 3.

The package is laid out by architecture:

- `electra_tf.tokenization`: WordPiece vocabularies (learned with HF `tokenizers`) and the one tokenizer used
  everywhere (tf_text `FastBertTokenizer`).
- `electra_tf.data`: pre-training TFRecords (corpus reading, packing, writing) and the tf.data input pipeline with
  on-the-fly masking.
- `electra_tf.cli`: the absl programs behind `bin/` and the `electra-*` console scripts.
- `electra_tf.benchmarks`: throughput measurements behind `bin/benchmark`.
"""

__version__ = "0.1.0"
