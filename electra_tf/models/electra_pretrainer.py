"""`ElectraPretrainer`: generator + discriminator (or the objective's networks), trained with a custom `train_step`.

The step function does not depend on the distribution strategy: it computes this replica's share of a loss whose
denominators are global, all-reduces the gradients, clips them on the *global* norm, and applies them. The same
`train_step` serves `fit` (default, Mirrored, TPU strategies) and a custom `strategy.run` loop (multi-worker).
"""

import dataclasses

import keras
import tensorflow as tf

from electra_tf import objectives
from electra_tf.layers.electra_embeddings import ElectraEmbeddings
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.objectives.base import HeadParts, ObjectiveConfig
from electra_tf.ops.losses import global_sum

NONFINITE_METRIC = "nonfinite_steps"


@keras.saving.register_keras_serializable(package="electra_tf")
class ElectraPretrainer(keras.Model):
    """Pre-trains an ELECTRA discriminator (or an MLM baseline) with a pluggable objective.

    The token, position and segment embeddings and their LayerNorm are one `ElectraEmbeddings` layer handed to both
    encoders, so they are one set of variables; `get_config` holds only plain values and the constructor rebuilds
    the tie, so it survives `from_config` and `.keras` loading.

    Args:
        encoder: dict. `EncoderConfig` fields of the discriminator (the main model).
        generator_fraction: float. Generator hidden size as a fraction of the discriminator's. Defaults to 0.25.
        objective: str. One of `electra_tf.objectives.OBJECTIVES`. Defaults to "electra".
        clip_norm: float. Global-norm gradient clipping after the all-reduce; 0 disables it. Defaults to 1.0.
        **kwargs: the objective's hyper-parameters (`ObjectiveConfig` fields: `generator_weight`,
            `discriminator_weight`, `temperature`, `disallow_correct`, `seed`) and `keras.Model` arguments.
    """

    def __init__(self, encoder=None, generator_fraction=0.25, objective="electra", clip_norm=1.0, **kwargs):
        objective_args = {name: kwargs.pop(name) for name in ObjectiveConfig.field_names() if name in kwargs}
        # The batch's float tensors (mask weights) stay float32 under mixed precision: each layer casts its own inputs.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.encoder_config = EncoderConfig(**(encoder or {}))
        self.generator_fraction = generator_fraction
        self.objective_name = objective
        self.clip_norm = clip_norm
        self.objective = objectives.get(objective)(ObjectiveConfig(**objective_args))
        config = self.encoder_config
        self.embeddings = ElectraEmbeddings.from_encoder_config(config, dtype=self.dtype_policy, name="embeddings")
        self.discriminator = ElectraEncoder.from_encoder_config(
            config, embeddings=self.embeddings, dtype=self.dtype_policy, name="discriminator"
        )
        self.generator = None
        generator_hidden_size = None
        if self.objective.uses_generator:
            generator_config = config.generator(generator_fraction)
            generator_hidden_size = generator_config.hidden_size
            self.generator = ElectraEncoder.from_encoder_config(
                generator_config, embeddings=self.embeddings, dtype=self.dtype_policy, name="generator"
            )
        parts = HeadParts(
            self.embeddings.token_embedding,
            config.hidden_size,
            generator_hidden_size,
            config.hidden_act,
            config.initializer_range,
            self.dtype_policy,
        )
        heads = self.objective.build(parts)
        # Tracked as attributes, in the objective's order, so that the weights (and checkpoints) hold the heads.
        for name, head in heads.items():
            if hasattr(self, name):
                raise ValueError(f"The objective's head name {name!r} is taken by an ElectraPretrainer attribute.")
            setattr(self, name, head)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        # Steps whose loss or gradient was not finite (training only): read by `training.nonfinite`'s guard.
        self.nonfinite_tracker = keras.metrics.Sum(name=NONFINITE_METRIC)
        self.built = True

    @property
    def heads(self) -> dict:
        """The objective's heads by name (e.g. "generator_head", "discriminator_head", "main_mlm_head")."""
        return dict(self.objective.heads)

    # ------------------------------------------------------------------ metrics
    @property
    def training_metrics(self):
        return [self.loss_tracker] + self.objective.metrics

    @property
    def metrics(self):
        return self.training_metrics + self.objective.evaluation_metrics + [self.nonfinite_tracker]

    @property
    def evaluation_metrics(self):
        return [m for m in self.metrics if m is not self.nonfinite_tracker]

    # ------------------------------------------------------------------ steps
    def call(self, inputs, training=False):
        """Runs the objective on a batch and returns its outputs, a dict: "loss" (this replica's share of the global
        loss), "reports" (what the metrics are fed) and the objective's tensors (logits, corrupted ids, labels)."""
        return self.objective.forward(self, inputs, training, self._step())

    def _step(self):
        optimizer = getattr(self, "optimizer", None)
        return optimizer.iterations if optimizer is not None else tf.constant(0, tf.int64)

    def _all_reduce_and_clip(self, grads, global_loss):
        """All-reduces gradients, clips them on the global norm, and rescales them for the optimizer's own sum.

        Returns the gradients and whether the step is finite; a non-finite step's gradients are zeros (except under
        loss scaling, whose optimizer skips overflowing steps itself).
        """
        # Dense gradients: the norm of an IndexedSlices counts a repeated token's rows separately, which is not the
        # norm of the gradient actually applied.
        grads = [
            tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, self.trainable_variables)
        ]
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas > 1:
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        scale = getattr(self.optimizer, "dynamic_scale", None)
        norm = tf.linalg.global_norm(grads)
        finite = tf.math.is_finite(tf.cast(global_loss, tf.float32))
        if scale is None:  # Under loss scaling an overflowing gradient is routine: the optimizer skips the step.
            finite = tf.logical_and(finite, tf.math.is_finite(norm))
        if self.clip_norm:
            # Under loss scaling the gradients are scaled too; clipping commutes with the scale.
            threshold = self.clip_norm * (tf.cast(scale, tf.float32) if scale is not None else 1.0)
            grads, _ = tf.clip_by_global_norm(grads, threshold, use_norm=norm)
        if scale is None:
            # One cond for all gradients: a finite step passes them through without the copy a select would make.
            grads = tf.cond(finite, lambda: list(grads), lambda: [tf.zeros_like(g) for g in grads])
        if replicas > 1:
            # Keras's optimizer sums gradients across replicas again: hand each replica 1/N of the global gradient.
            grads = [g / replicas for g in grads]
        return grads, finite

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            outputs = self(data, training=True)
            scaled_loss = self.optimizer.scale_loss(outputs["loss"])
        grads = tape.gradient(scaled_loss, self.trainable_variables)
        global_loss = global_sum(outputs["loss"])
        grads, finite = self._all_reduce_and_clip(grads, global_loss)
        self.optimizer.apply(grads, self.trainable_variables)
        self.loss_tracker.update_state(global_loss)
        self.objective.update_metrics(outputs, evaluation=False)
        self.nonfinite_tracker.update_state(1.0 - tf.cast(finite, tf.float32))
        return {m.name: m.result() for m in self.training_metrics + [self.nonfinite_tracker]}

    def test_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        outputs = self(data, training=False)
        self.loss_tracker.update_state(global_sum(outputs["loss"]))
        self.objective.update_metrics(outputs, evaluation=True)
        return {m.name: m.result() for m in self.evaluation_metrics}

    # ------------------------------------------------------------------ serialization
    def get_config(self):
        return {
            "name": self.name,
            "encoder": dict(vars(self.encoder_config)),
            "generator_fraction": self.generator_fraction,
            "objective": self.objective_name,
            **dataclasses.asdict(self.objective.config),
            "clip_norm": self.clip_norm,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
