"""Replace MLM (Table 5 ablation): MLM where the masked positions hold generator samples instead of `[MASK]`."""

import tensorflow as tf

from electra_tf.objectives import base


class ReplaceMLM(base.Objective):
    uses_generator = True
    main_head = "mlm"

    def build_heads(self, parts):
        return {
            "generator_head": base.mlm_head(parts, parts.generator_hidden_size, "generator_predictions"),
            "main_mlm_head": base.mlm_head(parts, parts.hidden_size, "main_predictions"),
        }

    def build_metrics(self):
        return base.means("generator_loss", "mlm_loss", "mlm_accuracy", "generator_loss_at_mask", "replace_rate")

    def forward(self, model, batch, training, step):
        passed = base.corrupted_pass(self, model, batch, training, step)
        logits = self.heads["main_mlm_head"](base.gather_positions(passed.hidden, batch["mask_positions"]))
        # The main model's input holds generator samples, not [MASK]: the [MASK]-only loss reported is the generator's.
        main = base.masked_lm(batch, logits)
        reports = main.reports("mlm_loss", "mlm_accuracy", None, batch["mask_weights"])
        reports.update(
            generator_loss=(passed.generator.report, None),
            replace_rate=(tf.cast(passed.labels, tf.float32), base.real_tokens(batch)),
        )
        if passed.generator.at_mask is not None:
            reports["generator_loss_at_mask"] = (passed.generator.at_mask, passed.generator.mask_count)
        return dict(
            passed.outputs(),
            loss=self.config.generator_weight * passed.generator.loss + main.loss,
            mlm_logits=logits,
            reports=reports,
        )
