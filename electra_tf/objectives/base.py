"""What an objective is: the heads and metrics it needs, its forward pass over the pretrainer's networks, its loss.

An objective is one file and one registry line in `objectives/__init__.py`. It subclasses `Objective` and gives:

- `uses_generator`: whether the pretrainer builds a generator network (at `generator_fraction` of the main width);
- `main_head`: the kind of head on the main model, "rtd", "mlm" or "mlm_copy", for the FLOPs counts;
- `build_heads(parts)`: its heads, an ordered dict {name: layer}. The pretrainer owns and tracks them under these
  names, so they are in its weights and checkpoints; the objective reads them from `self.heads`;
- `build_metrics()`: its metrics in the order they are logged (`build_evaluation_metrics()` for evaluation-only ones);
- `forward(model, batch, training, step)`: a dict of outputs. "loss" is this replica's share of the global loss (what
  gradients are taken of); "reports" maps metric names to `(value, weight)` pairs that `update_metrics` feeds to
  the metrics of those names (weight None counts the value once); any other key is a tensor for the caller.

The pretrainer is a plain owner of networks (`embeddings`, `discriminator`, `generator`) and of the heads the
objective built; `ElectraPretrainer.call` returns the objective's outputs.
"""

import dataclasses
from typing import Optional

import keras
import tensorflow as tf

from electra_tf.layers.electra_embeddings import truncated_normal
from electra_tf.layers.masked_lm_head import MaskedLMHead
from electra_tf.layers.replaced_token_detection_head import ReplacedTokenDetectionHead
from electra_tf.ops import losses, sampling


@dataclasses.dataclass(frozen=True)
class HeadParts:
    """What an objective's heads are built from.

    Attributes:
        token_embedding: the shared `ReversibleEmbedding` (an MLM head's output layer is tied to it).
        hidden_size: int. Width of the main model.
        generator_hidden_size: int or None. Width of the generator, if the objective uses one.
        hidden_act: str. The encoder's activation; the heads follow it.
        initializer_range: float.
        dtype: the pretrainer's dtype policy.
    """

    token_embedding: object
    hidden_size: int
    generator_hidden_size: Optional[int]
    hidden_act: str
    initializer_range: float
    dtype: object


def mlm_head(parts: HeadParts, width: int, name: str) -> MaskedLMHead:
    """A masked-LM head on a `width`-wide network, tied to the shared token table."""
    head = MaskedLMHead(
        parts.token_embedding,
        hidden_act=parts.hidden_act,
        initializer_range=parts.initializer_range,
        dtype=parts.dtype,
        name=name,
    )
    head.build((None, None, width))
    return head


def detection_head(parts: HeadParts) -> ReplacedTokenDetectionHead:
    """The discriminator's replaced-token-detection head on the main model."""
    head = ReplacedTokenDetectionHead(
        parts.hidden_size,
        hidden_act=parts.hidden_act,
        initializer_range=parts.initializer_range,
        dtype=parts.dtype,
        name="discriminator_predictions",
    )
    head.build((None, None, parts.hidden_size))
    return head


def scalar_head(parts: HeadParts, name: str) -> keras.layers.Dense:
    """A dense(1) on the main model's hidden states (truncated-normal initialized)."""
    head = keras.layers.Dense(
        1, kernel_initializer=truncated_normal(parts.initializer_range), dtype=parts.dtype, name=name
    )
    head.build((None, None, parts.hidden_size))
    return head


@dataclasses.dataclass(frozen=True)
class ObjectiveConfig:
    """An objective's hyper-parameters: the one definition of their names and defaults (`PretrainingConfig` holds
    them at its top level, and `ElectraPretrainer` takes them as keyword arguments).

    Args:
        generator_weight: float. Weight of the generator's MLM loss. Defaults to 1.0.
        discriminator_weight: float. Weight of the main model's loss. Defaults to 50.0.
        temperature: float. Sampling temperature. Defaults to 1.0.
        disallow_correct: bool. Forbid sampling the original token. Defaults to False.
        seed: int. Seed of the sampling noise. Defaults to 0.
    """

    generator_weight: float = 1.0
    discriminator_weight: float = 50.0
    temperature: float = 1.0
    disallow_correct: bool = False
    seed: int = 0

    def __post_init__(self):
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, but received temperature={self.temperature}.")

    @classmethod
    def field_names(cls) -> tuple:
        return tuple(field.name for field in dataclasses.fields(cls))


class Objective:
    """Base class; see the module docstring for what a subclass gives.

    Args:
        config: `ObjectiveConfig`. Defaults to its defaults (the paper's).
    """

    uses_generator = True
    main_head = "rtd"

    def __init__(self, config: ObjectiveConfig = ObjectiveConfig()):
        self.config = config
        self.heads = {}
        self.metrics = []
        self.evaluation_metrics = []

    def build(self, parts: HeadParts) -> dict:
        """Builds the heads and metrics (once, under the pretrainer's distribution scope); returns the heads."""
        self.heads = self.build_heads(parts)
        self.metrics = self.build_metrics()
        self.evaluation_metrics = self.build_evaluation_metrics()
        self._by_name = {m.name: m for m in self.metrics + self.evaluation_metrics}
        return self.heads

    def build_heads(self, parts: HeadParts) -> dict:
        raise NotImplementedError

    def build_metrics(self) -> list:
        raise NotImplementedError

    def build_evaluation_metrics(self) -> list:
        """Metrics updated in evaluation only (expensive ones). Defaults to none."""
        return []

    def forward(self, model, batch: dict, training: bool, step: tf.Tensor) -> dict:
        raise NotImplementedError

    def update_metrics(self, outputs: dict, evaluation: bool) -> None:
        """Feeds `outputs["reports"]` to the metrics of those names."""
        for name, (value, weight) in outputs["reports"].items():
            self._by_name[name].update_state(value, sample_weight=weight)


def means(*names: str) -> list:
    """`keras.metrics.Mean`s of these names."""
    return [keras.metrics.Mean(name=name) for name in names]


def encoder_inputs(token_ids: tf.Tensor, batch: dict) -> dict:
    return {"token_ids": token_ids, "segment_ids": batch["segment_ids"], "padding_mask": batch["padding_mask"]}


def gather_positions(sequence: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """`(batch, seq_len, d)` gathered at `(batch, positions)` -> `(batch, positions, d)`."""
    return tf.gather(sequence, positions, batch_dims=1)


def real_tokens(batch: dict) -> tf.Tensor:
    """float32 `(batch, seq_len)`: 1.0 on real tokens."""
    return tf.cast(batch["padding_mask"], tf.float32)


def corrupt(objective: Objective, batch: dict, logits: tf.Tensor, step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Replaces every masked position with a generator sample.

    Returns:
        The corrupted ids, int32 `(batch, seq_len)`, and the labels, bool `(batch, seq_len)`: true exactly where the
        corrupted token differs from the original on a real token (a sample equal to the original is *original*).
    """
    batch_size, positions, _ = logits.shape
    if batch_size is None:  # A multi-worker input can lose the static batch size.
        batch_size = tf.shape(logits, out_type=tf.int64)[0]
    config = objective.config
    with tf.name_scope("sampling"):  # The step profile (benchmarks/step_profile.py) counts these ops by this scope.
        uniforms = sampling.uniform_noise(
            (batch_size, positions, 2), config.seed, step, sampling.first_example_index(batch_size)
        )
        disallow = batch["mask_ids"] if config.disallow_correct else None
        sampled = sampling.inverse_cdf_sample(logits, uniforms, config.temperature, disallow)
        corrupted = sampling.scatter_positions(
            batch["token_ids"], batch["mask_positions"], sampled, batch["mask_weights"]
        )
    labels = tf.logical_and(
        tf.not_equal(corrupted, batch["original_token_ids"]), tf.cast(batch["padding_mask"], tf.bool)
    )
    return corrupted, labels


@dataclasses.dataclass
class MaskedLM:
    """An MLM loss at the masked positions, and what is reported of it."""

    loss: tf.Tensor  # This replica's share of the global mean.
    report: tf.Tensor  # The global mean.
    correct: tf.Tensor  # float32 (batch, positions): 1.0 where the argmax is the label.
    at_mask: Optional[
        tf.Tensor
    ]  # The global mean over the `[MASK]` slots, or None for a batch that does not mark them.
    mask_count: Optional[tf.Tensor]  # The global count of `[MASK]` slots, or None.

    def reports(self, loss_name: str, accuracy_name: str, at_mask_name: Optional[str], weights: tf.Tensor) -> dict:
        """The `(value, weight)` reports of this loss under the given metric names (`at_mask_name` None: not
        reported)."""
        reports = {loss_name: (self.report, None), accuracy_name: (self.correct, weights)}
        if at_mask_name is not None and self.at_mask is not None:
            reports[at_mask_name] = (self.at_mask, self.mask_count)
        return reports


def masked_lm(batch: dict, logits: tf.Tensor) -> MaskedLM:
    """The MLM loss of `logits` (float32 `(batch, positions, vocab)`) at the batch's masked positions.

    The `[MASK]`-only mean is what shows whether context is used: a kept slot's target can be copied from the input.
    A batch without `mask_token_weights` (one not built by `pretraining_dataset`) trains the same without it.
    """
    mask_token_weights = batch.get("mask_token_weights")
    report_weights = batch["mask_weights"] if mask_token_weights is None else mask_token_weights
    loss, at_mask, correct = losses.masked_lm_loss(logits, batch["mask_ids"], batch["mask_weights"], report_weights)
    if mask_token_weights is None:
        return MaskedLM(loss, losses.global_sum(loss), correct, None, None)
    count = losses.global_sum(tf.reduce_sum(tf.cast(mask_token_weights, tf.float32)))
    return MaskedLM(loss, losses.global_sum(loss), correct, losses.global_sum(at_mask), count)


@dataclasses.dataclass
class CorruptedPass:
    """The generator half of every objective that has a generator, and the main model's pass over its output."""

    generator_logits: tf.Tensor  # float32 (batch, positions, vocab) at the masked positions.
    generator: MaskedLM
    corrupted: tf.Tensor  # int32 (batch, seq_len).
    labels: tf.Tensor  # bool (batch, seq_len): replaced real tokens.
    hidden: tf.Tensor  # The main model's sequence output on `corrupted`.

    def outputs(self) -> dict:
        return {"generator_logits": self.generator_logits, "corrupted_ids": self.corrupted, "replaced": self.labels}


def corrupted_pass(objective: Objective, model, batch: dict, training: bool, step: tf.Tensor) -> CorruptedPass:
    """Runs the generator (with the objective's `generator_head`) on the masked input, samples replacements at the
    masked positions, and runs the main model (`model.discriminator`) on the result."""
    hidden = model.generator(encoder_inputs(batch["token_ids"], batch), training=training)["sequence_output"]
    logits = objective.heads["generator_head"](gather_positions(hidden, batch["mask_positions"]))
    generator = masked_lm(batch, logits)
    corrupted, labels = corrupt(objective, batch, logits, step)
    hidden = model.discriminator(encoder_inputs(corrupted, batch), training=training)["sequence_output"]
    return CorruptedPass(logits, generator, corrupted, labels, hidden)
