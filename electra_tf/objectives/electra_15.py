"""ELECTRA 15% (Table 5 ablation): the discriminator loss counts only at the masked positions."""

import tensorflow as tf

from electra_tf.objectives.electra import Electra
from electra_tf.ops import sampling


class Electra15(Electra):
    def detection_weights(self, batch: dict) -> tf.Tensor:
        ones = tf.ones_like(batch["mask_positions"])
        masked = sampling.scatter_positions(
            tf.zeros_like(batch["token_ids"]), batch["mask_positions"], ones, batch["mask_weights"]
        )
        return tf.cast(masked, tf.float32)
