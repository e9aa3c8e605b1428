"""All-Tokens MLM (Table 5 ablation): predict every token of the corrupted input, with the paper's copy mechanism.

p(x_t) = D_t * 1[x_t == corrupted_t] + (1 - D_t) * softmax(MLM logits)_t(x_t), with D_t = sigmoid(copy logit):
the model learns when to copy its input token and when to predict a new one. The loss is -log p(original) over
every real token.
"""

import tensorflow as tf

from electra_tf.objectives import base
from electra_tf.ops import losses


class AllTokensMLM(base.Objective):
    uses_generator = True
    main_head = "mlm_copy"

    def build_heads(self, parts):
        return {
            "generator_head": base.mlm_head(parts, parts.generator_hidden_size, "generator_predictions"),
            "main_mlm_head": base.mlm_head(parts, parts.hidden_size, "main_predictions"),
            "copy_head": base.scalar_head(parts, "copy_head"),
        }

    def build_metrics(self):
        return base.means("generator_loss", "mlm_loss", "mlm_accuracy", "generator_loss_at_mask", "replace_rate")

    def forward(self, model, batch, training, step):
        passed = base.corrupted_pass(self, model, batch, training, step)
        corrupted, hidden = passed.corrupted, passed.hidden
        token_logits = self.heads["main_mlm_head"](hidden)  # (B, L, V): every token, by definition of this objective.
        copy_logits = tf.cast(tf.squeeze(self.heads["copy_head"](hidden), -1), tf.float32)  # (B, L)
        original = batch["original_token_ids"]
        log_softmax_original = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=original, logits=token_logits)
        log_copy = tf.math.log_sigmoid(copy_logits)
        log_generate = tf.math.log_sigmoid(-copy_logits) + log_softmax_original
        log_p = tf.where(
            tf.equal(corrupted, original), tf.experimental.numpy.logaddexp(log_copy, log_generate), log_generate
        )
        real = base.real_tokens(batch)
        main_loss = losses.weighted_mean(-log_p, real)
        correct = tf.cast(
            tf.equal(tf.where(copy_logits > 0, corrupted, tf.argmax(token_logits, -1, output_type=tf.int32)), original),
            tf.float32,
        )
        reports = {
            "generator_loss": (passed.generator.report, None),
            "mlm_loss": (losses.global_sum(main_loss), None),
            "mlm_accuracy": (correct, real),
            "replace_rate": (tf.cast(passed.labels, tf.float32), real),
        }
        if passed.generator.at_mask is not None:
            reports["generator_loss_at_mask"] = (passed.generator.at_mask, passed.generator.mask_count)
        return dict(
            passed.outputs(),
            loss=self.config.generator_weight * passed.generator.loss + main_loss,
            mlm_logits=token_logits,
            copy_logits=copy_logits,
            reports=reports,
        )
