"""What an objective is: the networks it needs, and a loss computed from a batch."""

import dataclasses
from typing import Optional

import tensorflow as tf

from electra_tf.ops import losses, sampling


@dataclasses.dataclass
class ObjectiveOutput:
    """What one step of an objective produces.

    Args:
        loss: float32 scalar. This replica's share of the global loss (what gradients are taken of).
        generator_loss: float32 scalar or None. Global mean generator (MLM) loss, for reporting.
        main_loss: float32 scalar or None. Global mean loss of the main model (discriminator or MLM model).
        mlm: (correct, weights) or None. Per-position MLM correctness of the generator (or the MLM model).
        rtd: (labels, logits, weights) or None. Replaced-token labels and discriminator logits `(batch, seq_len)`.
        replaced: (is_replaced, weights) or None. Which real tokens the corruption changed.
        mask_token_loss: (loss, count) or None. Global mean MLM loss of the network that reads the masked input (the
            generator, or the MLM model) over the slots holding `[MASK]` only, and their global count: the kept
            slots' targets can be copied from the input, so only this loss shows whether context is being used.
    """

    loss: tf.Tensor
    generator_loss: Optional[tf.Tensor] = None
    main_loss: Optional[tf.Tensor] = None
    mlm: Optional[tuple] = None
    rtd: Optional[tuple] = None
    replaced: Optional[tuple] = None
    mask_token_loss: Optional[tuple] = None


class Objective:
    """Base class. Subclasses set the class attributes and implement `__call__`.

    Attributes:
        uses_generator: whether a generator and its MLM head are built.
        main_head: "rtd" (discriminator head), "mlm" (MLM head on the main model at masked positions) or
            "mlm_copy" (MLM head on every token plus a copy head).
        mlm_metric: name of the accuracy reported for `ObjectiveOutput.mlm`.

    Args:
        generator_weight: float. Weight of the generator's MLM loss. Defaults to 1.0.
        discriminator_weight: float. Weight of the main model's loss. Defaults to 50.0.
        temperature: float. Sampling temperature. Defaults to 1.0.
        disallow_correct: bool. Forbid sampling the original token. Defaults to False.
        seed: int. Seed of the sampling noise. Defaults to 0.
    """

    uses_generator = True
    main_head = "rtd"
    mlm_metric = "mlm_accuracy"

    def __init__(self, generator_weight=1.0, discriminator_weight=50.0, temperature=1.0, disallow_correct=False, seed=0):
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, but received temperature={temperature}.")
        self.generator_weight = generator_weight
        self.discriminator_weight = discriminator_weight
        self.temperature = temperature
        self.disallow_correct = disallow_correct
        self.seed = seed

    def __call__(self, model, batch: dict, training: bool, step: tf.Tensor) -> ObjectiveOutput:
        raise NotImplementedError


def encoder_inputs(token_ids: tf.Tensor, batch: dict) -> dict:
    return {"token_ids": token_ids, "segment_ids": batch["segment_ids"], "padding_mask": batch["padding_mask"]}


def gather_positions(sequence: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """`(batch, seq_len, d)` gathered at `(batch, positions)` -> `(batch, positions, d)`."""
    return tf.gather(sequence, positions, batch_dims=1)


def generator_logits(model, batch: dict, training: bool) -> tf.Tensor:
    """Runs the generator on the masked input; returns float32 logits `(batch, positions, vocab)` at the masked
    positions only."""
    hidden = model.generator(encoder_inputs(batch["token_ids"], batch), training=training)["sequence_output"]
    return model.generator_head(gather_positions(hidden, batch["mask_positions"]))


def corrupt(objective: Objective, batch: dict, logits: tf.Tensor, step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Replaces every masked position with a generator sample.

    Returns:
        The corrupted ids, int32 `(batch, seq_len)`, and the labels, bool `(batch, seq_len)`: true exactly where the
        corrupted token differs from the original on a real token (a sample equal to the original is *original*).
    """
    batch_size, positions, _ = logits.shape
    if batch_size is None:  # A multi-worker input can lose the static batch size.
        batch_size = tf.shape(logits, out_type=tf.int64)[0]
    uniforms = sampling.uniform_noise((batch_size, positions, 2), objective.seed, step, sampling.first_example_index(batch_size))
    disallow = batch["mask_ids"] if objective.disallow_correct else None
    sampled = sampling.inverse_cdf_sample(logits, uniforms, objective.temperature, disallow)
    corrupted = sampling.scatter_positions(batch["token_ids"], batch["mask_positions"], sampled, batch["mask_weights"])
    labels = tf.logical_and(tf.not_equal(corrupted, batch["original_token_ids"]), tf.cast(batch["padding_mask"], tf.bool))
    return corrupted, labels


def generator_loss(objective: Objective, batch: dict, logits: tf.Tensor):
    """Returns (this replica's MLM loss share, global MLM loss, (correct, weights), (global loss at the `[MASK]`
    slots, their global count)); the last is None for a batch without `mask_token_weights` (one not built by
    `pretraining_dataset`)."""
    mask_token_weights = batch.get("mask_token_weights")
    report_weights = batch["mask_weights"] if mask_token_weights is None else mask_token_weights
    loss, at_mask, correct = losses.masked_lm_loss(logits, batch["mask_ids"], batch["mask_weights"], report_weights)
    at_mask_report = None
    if mask_token_weights is not None:
        at_mask_report = (losses.global_sum(at_mask), losses.global_sum(tf.reduce_sum(mask_token_weights)))
    return loss, losses.global_sum(loss), (correct, batch["mask_weights"]), at_mask_report


@dataclasses.dataclass
class CorruptedPass:
    """The generator half of every objective that has a generator, and the main model's pass over its output."""

    generator_loss: tf.Tensor  # This replica's share.
    generator_report: tf.Tensor  # Global mean, for reporting.
    generator_mlm: tuple  # (correct, weights) at the masked positions.
    generator_mask_token_loss: Optional[tuple]  # (global loss, count) at the `[MASK]` slots, if the batch marks them.
    corrupted: tf.Tensor  # int32 (batch, seq_len).
    labels: tf.Tensor  # bool (batch, seq_len): replaced real tokens.
    hidden: tf.Tensor  # The main model's sequence output on `corrupted`.


def corrupted_pass(objective: Objective, model, batch: dict, training: bool, step: tf.Tensor) -> CorruptedPass:
    """Runs the generator, samples replacements, and runs the main model (`model.discriminator`) on the result."""
    logits = generator_logits(model, batch, training)
    loss, report, mlm, at_mask = generator_loss(objective, batch, logits)
    corrupted, labels = corrupt(objective, batch, logits, step)
    hidden = model.discriminator(encoder_inputs(corrupted, batch), training=training)["sequence_output"]
    return CorruptedPass(loss, report, mlm, at_mask, corrupted, labels, hidden)
