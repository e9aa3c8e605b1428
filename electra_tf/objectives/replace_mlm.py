"""Replace MLM (Table 5 ablation): MLM where the masked positions hold generator samples instead of `[MASK]`."""

from electra_tf.objectives import base


class ReplaceMLM(base.Objective):
    uses_generator = True
    main_head = "mlm"

    def __call__(self, model, batch, training, step):
        passed = base.corrupted_pass(self, model, batch, training, step)
        main_logits = model.main_mlm_head(base.gather_positions(passed.hidden, batch["mask_positions"]))
        # The main model's input holds generator samples, not [MASK]: the [MASK]-only loss reported is the generator's.
        main_loss, main_report, mlm, _ = base.generator_loss(self, batch, main_logits)
        return base.ObjectiveOutput(
            loss=self.generator_weight * passed.generator_loss + main_loss,
            generator_loss=passed.generator_report,
            main_loss=main_report,
            mlm=mlm,
            replaced=(passed.labels, batch["padding_mask"]),
            mask_token_loss=passed.generator_mask_token_loss,
        )
