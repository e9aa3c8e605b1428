"""Adding an objective takes one file and one registry line: a toy one, written here, builds and trains.

The toy is the paper's uniform-generator baseline without a generator network: masked positions get tokens drawn
uniformly from the vocabulary, and the main model learns to detect them with the usual detection head.
"""

import keras
import numpy as np
import tensorflow as tf

from electra_tf import objectives
from electra_tf.data.pretraining_dataset import pretraining_dataset
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.objectives import base
from electra_tf.ops import losses, sampling
from tests.models.conftest import MICRO_ENCODER


class UniformReplacementDetection(base.Objective):
    uses_generator = False
    main_head = "rtd"

    def build_heads(self, parts):
        return {"discriminator_head": base.detection_head(parts)}

    def build_metrics(self):
        return base.means("detection_loss", "replace_rate")

    def forward(self, model, batch, training, step):
        vocab_size = model.encoder_config.vocab_size
        seed = tf.stack([tf.constant(self.config.seed, tf.int64), tf.cast(step, tf.int64)])
        random_ids = tf.random.stateless_uniform(
            tf.shape(batch["mask_positions"]), seed=seed, minval=0, maxval=vocab_size, dtype=tf.int32
        )
        corrupted = sampling.scatter_positions(
            batch["original_token_ids"], batch["mask_positions"], random_ids, batch["mask_weights"]
        )
        real = base.real_tokens(batch)
        replaced = tf.cast(tf.not_equal(corrupted, batch["original_token_ids"]), tf.float32) * real
        hidden = model.discriminator(base.encoder_inputs(corrupted, batch), training=training)["sequence_output"]
        logits = self.heads["discriminator_head"](hidden)
        loss = losses.replaced_token_detection_loss(logits, replaced, real)
        return {
            "loss": loss,
            "discriminator_logits": logits,
            "reports": {"detection_loss": (losses.global_sum(loss), None), "replace_rate": (replaced, real)},
        }


def test_a_one_file_objective_registers_builds_and_trains(monkeypatch, pretraining_data):
    monkeypatch.setitem(objectives.OBJECTIVES, "uniform_rtd", UniformReplacementDetection)  # The registry line.
    keras.utils.set_random_seed(0)
    model = ElectraPretrainer(encoder=MICRO_ENCODER, objective="uniform_rtd")
    assert model.generator is None and set(model.heads) == {"discriminator_head"}
    model.compile(optimizer=keras.optimizers.AdamW(2e-3))
    dataset = pretraining_dataset(pretraining_data, batch_size=8, seed=5).take(40).cache().repeat()
    logs = [model.train_on_batch(batch, return_dict=True) for batch in dataset.take(40)]
    losses_seen = [log["detection_loss"] for log in logs]
    assert set(logs[0]) == {"loss", "detection_loss", "replace_rate", "nonfinite_steps"}
    assert np.isfinite(losses_seen).all()
    assert np.mean(losses_seen[-5:]) < 0.8 * np.mean(losses_seen[:5]), losses_seen
    assert 0.1 < logs[-1]["replace_rate"] < 0.2
