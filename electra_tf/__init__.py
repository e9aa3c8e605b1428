"""electra_tf: ELECTRA pre-training and fine-tuning on TensorFlow 2 and Keras 3.

The package is laid out by architecture, on floors: a subpackage imports only from the floors below it
(`tests/test_layering.py` checks this).

0. Top-level modules: `io_utils` (atomic writes), `config_io` (dataclass configs as JSON), `errors`, `settings`
   (the shared data folder), `corpus` (reading and sharding text files), `run_lock` (one writer per run folder) and
   `onednn` (TensorFlow's oneDNN kernels on where TensorFlow leaves them off; this import runs it).
1. `ops` (tensor helpers for the objectives), `layers` (embeddings, heads, GELUs), `tokenization` (vocabularies and
   the one tokenizer), `tasks` (fine-tuning tasks, readers, metrics), `optimizers` (AdamW, layer-wise decay,
   schedules).
2. `networks` (`ElectraEncoder`, `EncoderConfig`) and `data` (pre-training TFRecords and the masked tf.data input).
3. `objectives`: ELECTRA, MLM and the paper's ablations.
4. `models`: `ElectraPretrainer`, `ElectraClassifier`, `ElectraQuestionAnswerer`, saved encoders, FLOPs, the fine-tuning
   recipe.
5. `interop`: HF and Google checkpoints (to and from the saved-encoder format of `models.saving`), `--init_from`.
6. `export`: the TF Serving SavedModels (classifier, question answerer).
7. `training`: the pre-training and fine-tuning drivers.
8. `benchmarks`, then 9. `experiments`, then 10. `cli` (the absl programs behind `bin/`).
"""

from electra_tf import onednn as _onednn

_onednn.use_onednn_by_default()

__version__ = "0.1.0"
