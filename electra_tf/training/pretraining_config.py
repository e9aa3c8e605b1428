"""The whole configuration of a pre-training run, as typed dataclasses loaded from `configs/pretraining/*.json`."""

import dataclasses

from electra_tf import objectives
from electra_tf.data.masking import MaskingConfig
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.optimizers.config import OptimizerConfig


@dataclasses.dataclass(frozen=True)
class PretrainingConfig:
    """What to train and how.

    Args:
        description: str. What the configuration is for (JSON has no comments). Defaults to "".
        encoder: `EncoderConfig`. The discriminator (main model).
        generator_fraction: float. Generator hidden size / discriminator hidden size. Defaults to 0.25.
        objective: str. "electra", "mlm", "electra_15", "replace_mlm" or "all_tokens_mlm". Defaults to "electra".
        generator_weight: float. Defaults to 1.0.
        discriminator_weight: float. Defaults to 50.0.
        temperature: float. Generator sampling temperature. Defaults to 1.0.
        disallow_correct: bool. Forbid sampling the original token. Defaults to False.
        masking: `MaskingConfig`.
        optimizer: `OptimizerConfig`.
        max_seq_length: int. Must match the data. Defaults to 128.
        train_batch_size: int. Global batch size. Defaults to 128.
        num_train_steps: int. Defaults to 1000000.
        seed: int. Seed of data order, masking and sampling. Defaults to 0.
        eval_holdout_shards: int. Data shards held out for evaluation (0: none). Defaults to 1.
        eval_batch_size: int. Defaults to 128.
        eval_steps: int. Batches per evaluation. Defaults to 50.
        eval_every: int. Evaluate every this many steps (rounded to checkpoints); 0 only at the end. Defaults to 0.
        checkpoint_every: int. Defaults to 1000.
        keep_checkpoints: int. Defaults to 5.
        keep_checkpoint_steps: list of int. Steps whose checkpoint is also written to
            `<model_dir>/checkpoints/kept/ckpt-<step>/` and never deleted (what an export at that step reads, e.g. an
            experiment's compute-matched points). Each must lie in [1, num_train_steps]. Defaults to none.
        log_every: int. Progress line and TensorBoard scalars. Defaults to 100.
    """

    description: str = ""
    encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
    generator_fraction: float = 0.25
    objective: str = "electra"
    generator_weight: float = 1.0
    discriminator_weight: float = 50.0
    temperature: float = 1.0
    disallow_correct: bool = False
    masking: MaskingConfig = dataclasses.field(default_factory=MaskingConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    max_seq_length: int = 128
    train_batch_size: int = 128
    num_train_steps: int = 1_000_000
    seed: int = 0
    eval_holdout_shards: int = 1
    eval_batch_size: int = 128
    eval_steps: int = 50
    eval_every: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 5
    keep_checkpoint_steps: tuple = ()
    log_every: int = 100

    def __post_init__(self):
        objectives.get(self.objective)
        self.objective_config()  # Validates the objective's hyper-parameters.
        self.encoder.generator(self.generator_fraction)
        positive = (
            "train_batch_size",
            "eval_batch_size",
            "num_train_steps",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
            "eval_steps",
            "max_seq_length",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, but received {name}={getattr(self, name)}.")
        for name in ("eval_holdout_shards", "eval_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, but received {name}={getattr(self, name)}.")
        outside = [step for step in self.keep_checkpoint_steps if not 1 <= step <= self.num_train_steps]
        if outside:
            raise ValueError(
                f"keep_checkpoint_steps must lie in [1, num_train_steps={self.num_train_steps}], but {outside} do not."
            )
        # The data pipeline takes seeds in [0, 2**31), and evaluation uses seed + 1.
        if not 0 <= self.seed < 2**31 - 1:
            raise ValueError(f"seed must be in [0, 2**31 - 1), but received seed={self.seed}.")
        if self.max_seq_length > self.encoder.max_position_embeddings:
            raise ValueError(
                f"max_seq_length={self.max_seq_length} exceeds max_position_embeddings="
                f"{self.encoder.max_position_embeddings}."
            )

    def step_shape(self) -> tuple:
        """What the FLOPs counts (`models.flops`, `models.flops_gr`) take for one batch: encoder, generator fraction,
        objective, batch size, sequence length and prediction slots per sequence."""
        return (
            self.encoder,
            self.generator_fraction,
            self.objective,
            self.train_batch_size,
            self.max_seq_length,
            self.masking.num_predictions(self.max_seq_length),
        )

    def pretrainer_kwargs(self) -> dict:
        """Constructor arguments of `ElectraPretrainer`."""
        return {
            "encoder": dataclasses.asdict(self.encoder),
            "generator_fraction": self.generator_fraction,
            "objective": self.objective,
            **dataclasses.asdict(self.objective_config()),
            "clip_norm": self.optimizer.clip_norm,
        }

    def objective_config(self) -> objectives.ObjectiveConfig:
        """The objective's hyper-parameters, from this config's top-level fields of the same names."""
        return objectives.ObjectiveConfig(
            **{name: getattr(self, name) for name in objectives.ObjectiveConfig.field_names()}
        )
