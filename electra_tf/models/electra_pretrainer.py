"""`ElectraPretrainer`: generator + discriminator (or the objective's networks), trained with a custom `train_step`.

The step function does not depend on the distribution strategy: it computes this replica's share of a loss whose
denominators are global, all-reduces the gradients, clips them on the *global* norm, and applies them. The same
`train_step` serves `fit` (default, Mirrored, TPU strategies) and a custom `strategy.run` loop (multi-worker).
"""

import keras
import tensorflow as tf

from electra_tf import objectives
from electra_tf.layers.electra_embeddings import ElectraEmbeddings, truncated_normal
from electra_tf.layers.masked_lm_head import MaskedLMHead
from electra_tf.layers.replaced_token_detection_head import ReplacedTokenDetectionHead
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
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
        generator_weight: float. Weight of the generator's MLM loss. Defaults to 1.0.
        discriminator_weight: float. Weight of the discriminator's loss. Defaults to 50.0.
        temperature: float. Sampling temperature. Defaults to 1.0.
        disallow_correct: bool. Forbid sampling the original token. Defaults to False.
        seed: int. Seed of the sampling noise. Defaults to 0.
        clip_norm: float. Global-norm gradient clipping after the all-reduce; 0 disables it. Defaults to 1.0.
    """

    def __init__(
        self,
        encoder=None,
        generator_fraction=0.25,
        objective="electra",
        generator_weight=1.0,
        discriminator_weight=50.0,
        temperature=1.0,
        disallow_correct=False,
        seed=0,
        clip_norm=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder_config = EncoderConfig(**(encoder or {}))
        self.generator_fraction = generator_fraction
        self.objective_name = objective
        self.generator_weight = generator_weight
        self.discriminator_weight = discriminator_weight
        self.temperature = temperature
        self.disallow_correct = disallow_correct
        self.seed = seed
        self.clip_norm = clip_norm
        self.objective = objectives.get(objective)(
            generator_weight, discriminator_weight, temperature, disallow_correct, seed
        )
        config = self.encoder_config
        self.embeddings = ElectraEmbeddings.from_encoder_config(config, dtype=self.dtype_policy, name="embeddings")
        token_embedding = self.embeddings.token_embedding
        self.discriminator = ElectraEncoder.from_encoder_config(
            config, embeddings=self.embeddings, dtype=self.dtype_policy, name="discriminator"
        )
        head_args = dict(hidden_act=config.hidden_act, initializer_range=config.initializer_range, dtype=self.dtype_policy)
        self.generator = self.generator_head = None
        self.discriminator_head = self.main_mlm_head = self.copy_head = None
        if self.objective.uses_generator:
            generator_config = config.generator(generator_fraction)
            self.generator = ElectraEncoder.from_encoder_config(
                generator_config, embeddings=self.embeddings, dtype=self.dtype_policy, name="generator"
            )
            self.generator_head = MaskedLMHead(token_embedding, name="generator_predictions", **head_args)
            self.generator_head.build((None, None, generator_config.hidden_size))
        if self.objective.main_head == "rtd":
            self.discriminator_head = ReplacedTokenDetectionHead(
                config.hidden_size, name="discriminator_predictions", **head_args
            )
            self.discriminator_head.build((None, None, config.hidden_size))
        else:
            self.main_mlm_head = MaskedLMHead(token_embedding, name="main_predictions", **head_args)
            self.main_mlm_head.build((None, None, config.hidden_size))
        if self.objective.main_head == "mlm_copy":
            self.copy_head = keras.layers.Dense(
                1, kernel_initializer=truncated_normal(config.initializer_range), dtype=self.dtype_policy, name="copy_head"
            )
            self.copy_head.build((None, None, config.hidden_size))
        self._make_trackers()
        self.built = True

    # ------------------------------------------------------------------ metrics
    def _make_trackers(self):
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.trackers = [self.loss_tracker]
        # Steps whose loss or gradient was not finite (training only): read by `training.nonfinite`'s guard.
        self.nonfinite_tracker = keras.metrics.Sum(name=NONFINITE_METRIC)
        if self.objective.uses_generator:
            self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
            self.trackers.append(self.generator_loss_tracker)
        self.main_loss_tracker = keras.metrics.Mean(
            name="discriminator_loss" if self.objective.main_head == "rtd" else "mlm_loss"
        )
        self.mlm_accuracy = keras.metrics.Mean(name=self.objective.mlm_metric)
        # The MLM loss at the [MASK] slots only (kept slots can be copied), weighted by their count: the figure that
        # shows whether the generator or MLM model has left the unigram plateau.
        self.mask_token_loss_tracker = keras.metrics.Mean(
            name="generator_loss_at_mask" if self.objective.uses_generator else "mlm_loss_at_mask"
        )
        self.trackers += [self.main_loss_tracker, self.mlm_accuracy, self.mask_token_loss_tracker]
        self.rtd_trackers = []
        if self.objective.main_head == "rtd":
            self.rtd_trackers = [
                keras.metrics.Mean(name="discriminator_accuracy"),
                keras.metrics.Precision(name="replaced_precision"),
                keras.metrics.Recall(name="replaced_recall"),
            ]
            self.auc = keras.metrics.AUC(name="discriminator_auc", num_thresholds=200)
            self.trackers += self.rtd_trackers
        if self.objective.uses_generator:
            self.replace_rate = keras.metrics.Mean(name="replace_rate")
            self.trackers.append(self.replace_rate)

    @property
    def metrics(self):
        extra = [self.auc] if self.objective.main_head == "rtd" else []
        return self.trackers + extra + [self.nonfinite_tracker]

    @property
    def evaluation_metrics(self):
        return [m for m in self.metrics if m is not self.nonfinite_tracker]

    def _update_metrics(self, output, evaluation: bool, global_loss=None):
        self.loss_tracker.update_state(global_sum(output.loss) if global_loss is None else global_loss)
        if output.generator_loss is not None:
            self.generator_loss_tracker.update_state(output.generator_loss)
        self.main_loss_tracker.update_state(output.main_loss)
        correct, weights = output.mlm
        self.mlm_accuracy.update_state(correct, sample_weight=weights)
        if output.mask_token_loss is not None:
            loss_at_mask, count = output.mask_token_loss
            self.mask_token_loss_tracker.update_state(loss_at_mask, sample_weight=count)
        if output.rtd is not None:
            labels, logits, weights = output.rtd
            labels = tf.cast(labels, tf.float32)
            probabilities = tf.sigmoid(logits)
            accuracy, precision, recall = self.rtd_trackers
            accuracy.update_state(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), labels), tf.float32), sample_weight=weights)
            precision.update_state(labels, probabilities, sample_weight=weights)
            recall.update_state(labels, probabilities, sample_weight=weights)
            if evaluation:
                self.auc.update_state(labels, probabilities, sample_weight=weights)
        if output.replaced is not None:
            replaced, weights = output.replaced
            self.replace_rate.update_state(tf.cast(replaced, tf.float32), sample_weight=weights)

    # ------------------------------------------------------------------ steps
    def call(self, inputs, training=False):
        """Runs the objective on a batch and returns its loss (this replica's share)."""
        return self.objective(self, inputs, training, self._step()).loss

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
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, self.trainable_variables)]
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
            output = self.objective(self, data, True, self._step())
            scaled_loss = self.optimizer.scale_loss(output.loss)
        grads = tape.gradient(scaled_loss, self.trainable_variables)
        global_loss = global_sum(output.loss)
        grads, finite = self._all_reduce_and_clip(grads, global_loss)
        self.optimizer.apply(grads, self.trainable_variables)
        self._update_metrics(output, evaluation=False, global_loss=global_loss)
        self.nonfinite_tracker.update_state(1.0 - tf.cast(finite, tf.float32))
        return {m.name: m.result() for m in self.trackers + [self.nonfinite_tracker]}

    def test_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        output = self.objective(self, data, False, self._step())
        self._update_metrics(output, evaluation=True)
        return {m.name: m.result() for m in self.evaluation_metrics}

    # ------------------------------------------------------------------ serialization
    def get_config(self):
        return {
            "name": self.name,
            "encoder": dict(vars(self.encoder_config)),
            "generator_fraction": self.generator_fraction,
            "objective": self.objective_name,
            "generator_weight": self.generator_weight,
            "discriminator_weight": self.discriminator_weight,
            "temperature": self.temperature,
            "disallow_correct": self.disallow_correct,
            "seed": self.seed,
            "clip_norm": self.clip_norm,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
