"""ELECTRA: the generator's MLM loss plus 50 x replaced token detection on every real token."""

import keras
import tensorflow as tf

from electra_tf.objectives import base
from electra_tf.ops import losses


class Electra(base.Objective):
    uses_generator = True
    main_head = "rtd"

    def build_heads(self, parts):
        return {
            "generator_head": base.mlm_head(parts, parts.generator_hidden_size, "generator_predictions"),
            "discriminator_head": base.detection_head(parts),
        }

    def build_metrics(self):
        return base.means(
            "generator_loss",
            "discriminator_loss",
            "generator_accuracy",
            "generator_loss_at_mask",
            "discriminator_accuracy",
        ) + [
            keras.metrics.Precision(name="replaced_precision"),
            keras.metrics.Recall(name="replaced_recall"),
            keras.metrics.Mean(name="replace_rate"),
        ]

    def build_evaluation_metrics(self):
        return [keras.metrics.AUC(name="discriminator_auc", num_thresholds=200)]

    def detection_weights(self, batch: dict) -> tf.Tensor:
        """Where the discriminator loss counts: every real token."""
        return base.real_tokens(batch)

    def forward(self, model, batch, training, step):
        passed = base.corrupted_pass(self, model, batch, training, step)
        logits = self.heads["discriminator_head"](passed.hidden)
        weights = self.detection_weights(batch)
        detection_loss = losses.replaced_token_detection_loss(logits, passed.labels, weights)
        generator = passed.generator
        reports = generator.reports(
            "generator_loss", "generator_accuracy", "generator_loss_at_mask", batch["mask_weights"]
        )
        labels = tf.cast(passed.labels, tf.float32)
        reports.update(
            discriminator_loss=(losses.global_sum(detection_loss), None),
            discriminator_accuracy=(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), labels), tf.float32), weights),
            replace_rate=(labels, base.real_tokens(batch)),
        )
        return dict(
            passed.outputs(),
            loss=self.config.generator_weight * generator.loss + self.config.discriminator_weight * detection_loss,
            discriminator_logits=logits,
            detection_weights=weights,
            reports=reports,
        )

    def update_metrics(self, outputs, evaluation):
        super().update_metrics(outputs, evaluation)
        labels = tf.cast(outputs["replaced"], tf.float32)
        probabilities = tf.sigmoid(outputs["discriminator_logits"])
        weights = outputs["detection_weights"]
        for name in ("replaced_precision", "replaced_recall") + (("discriminator_auc",) if evaluation else ()):
            self._by_name[name].update_state(labels, probabilities, sample_weight=weights)
