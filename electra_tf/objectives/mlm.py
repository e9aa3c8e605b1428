"""The BERT baseline: MLM only, with the same encoder, data and optimizer as ELECTRA, for fair comparisons."""

from electra_tf.objectives import base


class MaskedLM(base.Objective):
    uses_generator = False
    main_head = "mlm"

    def build_heads(self, parts):
        return {"main_mlm_head": base.mlm_head(parts, parts.hidden_size, "main_predictions")}

    def build_metrics(self):
        return base.means("mlm_loss", "mlm_accuracy", "mlm_loss_at_mask")

    def forward(self, model, batch, training, step):
        hidden = model.discriminator(base.encoder_inputs(batch["token_ids"], batch), training=training)[
            "sequence_output"
        ]
        logits = self.heads["main_mlm_head"](base.gather_positions(hidden, batch["mask_positions"]))
        mlm = base.masked_lm(batch, logits)
        return {
            "loss": mlm.loss,
            "mlm_logits": logits,
            "reports": mlm.reports("mlm_loss", "mlm_accuracy", "mlm_loss_at_mask", batch["mask_weights"]),
        }
