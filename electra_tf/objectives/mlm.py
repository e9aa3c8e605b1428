"""The BERT baseline: MLM only, with the same encoder, data and optimizer as ELECTRA, for fair comparisons."""

from electra_tf.objectives import base


class MaskedLM(base.Objective):
    uses_generator = False
    main_head = "mlm"

    def __call__(self, model, batch, training, step):
        hidden = model.discriminator(base.encoder_inputs(batch["token_ids"], batch), training=training)["sequence_output"]
        logits = model.main_mlm_head(base.gather_positions(hidden, batch["mask_positions"]))
        loss, report, mlm, at_mask = base.generator_loss(self, batch, logits)
        return base.ObjectiveOutput(loss=loss, main_loss=report, mlm=mlm, mask_token_loss=at_mask)
