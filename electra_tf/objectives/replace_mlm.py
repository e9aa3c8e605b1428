"""Replace MLM (Table 5 ablation): MLM where the masked positions hold generator samples instead of `[MASK]`."""

from electra_tf.objectives import base


class ReplaceMLM(base.Objective):
    uses_generator = True
    main_head = "mlm"

    def __call__(self, model, batch, training, step):
        logits = base.generator_logits(model, batch, training)
        generator_loss, generator_report, _ = base.generator_loss(self, batch, logits)
        corrupted, labels = base.corrupt(self, batch, logits, step)
        hidden = model.discriminator(base.encoder_inputs(corrupted, batch), training=training)["sequence_output"]
        main_logits = model.main_mlm_head(base.gather_positions(hidden, batch["mask_positions"]))
        main_loss, main_report, mlm = base.generator_loss(self, batch, main_logits)
        return base.ObjectiveOutput(
            loss=self.generator_weight * generator_loss + main_loss,
            generator_loss=generator_report,
            main_loss=main_report,
            mlm=mlm,
            replaced=(labels, batch["padding_mask"]),
        )
