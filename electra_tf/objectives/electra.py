"""ELECTRA: the generator's MLM loss plus 50 x replaced token detection on every real token."""

import tensorflow as tf

from electra_tf.objectives import base
from electra_tf.ops import losses


class Electra(base.Objective):
    uses_generator = True
    main_head = "rtd"
    mlm_metric = "generator_accuracy"

    def detection_weights(self, batch: dict) -> tf.Tensor:
        """Where the discriminator loss counts: every real token."""
        return tf.cast(batch["padding_mask"], tf.float32)

    def __call__(self, model, batch, training, step):
        passed = base.corrupted_pass(self, model, batch, training, step)
        detection_logits = model.discriminator_head(passed.hidden)
        weights = self.detection_weights(batch)
        detection_loss = losses.replaced_token_detection_loss(detection_logits, passed.labels, weights)
        return base.ObjectiveOutput(
            loss=self.generator_weight * passed.generator_loss + self.discriminator_weight * detection_loss,
            generator_loss=passed.generator_report,
            main_loss=losses.global_sum(detection_loss),
            mlm=passed.generator_mlm,
            rtd=(passed.labels, detection_logits, weights),
            replaced=(passed.labels, tf.cast(batch["padding_mask"], tf.float32)),
            mask_token_loss=passed.generator_mask_token_loss,
        )
