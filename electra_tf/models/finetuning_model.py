"""What every fine-tuning model shares: `compile` with the recipe for the encoder's size, and a schedule `fit` sizes.

`ElectraClassifier` and `ElectraQuestionAnswerer` mix in `FinetuningModel` before `keras.Model`. A model sets
`self.encoder` and says what `loss="auto"` and `metrics="auto"` mean for its task (`default_loss`,
`default_metrics`).

It is a mixin, not a `keras.Model` subclass, because Keras turns a functional model's class into a `Functional`
subclass by rewriting the `__bases__` of every class above it: a shared base under the functional
`ElectraClassifier` would become `Functional` for the subclassed `ElectraQuestionAnswerer` too.
"""

import os
from typing import Optional

import tensorflow as tf

from electra_tf.models import finetuning_recipe, saving
from electra_tf.optimizers import layerwise_decay
from electra_tf.optimizers.schedules import WarmupLinearDecay


class FinetuningModel:
    """Mixed into a `keras.Model` on an `ElectraEncoder` (`self.encoder`): ELECTRA's fine-tuning recipe built in."""

    _auto_schedule = None
    recipe = None  # The `FinetuningRecipe` that `compile` resolved.
    # Set by each model: its `.keras` file, its preprocessor's class, and what it is called in messages.
    MODEL_FILE = ""
    PREPROCESSOR_CLASS = None
    KIND = ""

    def save_finetuned(self, directory: str) -> None:
        """Writes `MODEL_FILE` and the preprocessor (its settings and `vocab.txt`) into `directory`."""
        tf.io.gfile.makedirs(directory)
        path = os.path.join(directory, self.MODEL_FILE)
        tmp = path + ".tmp.keras"
        self.save(tmp)
        tf.io.gfile.rename(tmp, path, overwrite=True)
        if self.preprocessor is not None:
            self.preprocessor.save(directory)

    @classmethod
    def from_finetuned(cls, directory: str):
        """Loads what `save_finetuned` wrote."""
        path = os.path.join(directory, cls.MODEL_FILE)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(
                f"{directory} lacks {cls.MODEL_FILE}: it is not a fine-tuned electra_tf {cls.KIND}."
            )
        model = saving.load_keras_file(path, "Fine-tune the model again.")
        model.preprocessor = cls.PREPROCESSOR_CLASS.load(directory)
        return model

    def default_loss(self):
        """The loss `compile(loss="auto")` uses, or None when the model computes its own (`compute_loss`)."""
        raise NotImplementedError

    def default_metrics(self) -> list:
        """The metrics `compile(metrics="auto")` uses."""
        raise NotImplementedError

    def head_variables(self) -> list:
        encoder_ids = {id(v) for v in self.encoder.trainable_weights}
        return [v for v in self.trainable_weights if id(v) not in encoder_ids]

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        learning_rate: Optional[float] = None,
        layerwise_decay_rate: Optional[float] = None,
        weight_decay: Optional[float] = None,
        warmup_fraction: Optional[float] = None,
        num_train_steps: Optional[int] = None,
        *,
        layerwise_rule: Optional[str] = None,
        clip_norm: Optional[float] = None,
        bias_correction: Optional[bool] = None,
        model_size: Optional[str] = None,
        **kwargs,
    ):
        """Compiles with the fine-tuning recipe for the encoder's size (`finetuning_recipe`); set arguments override it.

        `optimizer="auto"` builds `LayerwiseAdamW` (β 0.9/0.999, ε 1e-6) with the recipe's settings: for a small
        encoder, learning rate 3e-4, layer-wise decay 0.8 by the "released" rule, weight decay 0.01, no bias
        correction, global-norm clipping at 1.0, and a linear warmup factor over the first 10% of the steps times a
        linear decay to 0. The step count is `num_train_steps`, or, if None, worked out by the next `fit` from its
        epochs and data (the recipe's epoch count is `finetuning_recipe.epochs_for_task`; pass it to `fit`).
        `loss="auto"` and `metrics="auto"` are the task's (`default_loss`, `default_metrics`); losses are summed
        over the batch as in google-research/electra, so the reported loss is the batch's sum and clipping at
        global norm 1 binds as there.

        Args:
            learning_rate: float or None. Peak rate of the head. None: 3e-4 small, 1e-4 base, 5e-5 large.
            layerwise_decay_rate: float or None. None: 0.8 small and base, 0.9 large.
            weight_decay: float or None. Decoupled weight decay. None: 0.01.
            warmup_fraction: float or None. None: 0.1.
            layerwise_rule: str or None. "released" or "corrected". None: "released".
            clip_norm: float or None. Global-norm clipping; 0 disables it. None: 1.0.
            bias_correction: bool or None. None: False.
            model_size: str or None. "small", "base" or "large"; None infers it from the encoder's hidden_size.
            num_train_steps: int or None. Length of the schedule; None lets `fit` work it out.
        """
        self.recipe = None
        if optimizer == "auto":
            overrides = dict(
                learning_rate=learning_rate,
                layerwise_decay=layerwise_decay_rate,
                weight_decay=weight_decay,
                warmup_fraction=warmup_fraction,
                layerwise_rule=layerwise_rule,
                clip_norm=clip_norm,
                bias_correction=bias_correction,
                model_size=model_size,
            )
            optimizer = self._recipe_optimizer(overrides, num_train_steps)
        if loss == "auto":
            loss = self.default_loss()
        if metrics == "auto":
            metrics = self.default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def _recipe_optimizer(self, overrides: dict, num_train_steps: Optional[int]):
        recipe, _ = finetuning_recipe.resolve(overrides, self.encoder.encoder_config)
        if not 0 <= recipe.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), but received {recipe.warmup_fraction}.")
        if recipe.clip_norm < 0:
            raise ValueError(f"clip_norm must be non-negative (0 disables clipping), but received {recipe.clip_norm}.")
        self.recipe = recipe
        self._auto_schedule = WarmupLinearDecay(recipe.learning_rate, 0, num_train_steps)
        self._auto_schedule.warmup_fraction = recipe.warmup_fraction
        if num_train_steps is not None:
            self._set_schedule_steps(num_train_steps)
        multipliers = layerwise_decay.layerwise_multipliers(
            self.encoder, self.head_variables(), recipe.layerwise_decay, recipe.layerwise_rule
        )
        return layerwise_decay.LayerwiseAdamW(
            lr_multipliers=multipliers,
            weight_decay=recipe.weight_decay,
            bias_correction=recipe.bias_correction,
            learning_rate=self._auto_schedule,
            beta_1=0.9,
            beta_2=0.999,
            epsilon=1e-6,
            global_clipnorm=recipe.clip_norm or None,
        )

    def _set_schedule_steps(self, total_steps: int) -> None:
        schedule = self._auto_schedule
        schedule.total_steps = int(total_steps)
        schedule.warmup_steps = schedule.warmup_fraction * total_steps  # Unrounded, as google-research/electra.

    def size_schedule(self, dataset, epochs: int, steps_per_epoch: Optional[int] = None) -> None:
        """Sets the recipe schedule's length from the data `fit` is about to read, if `compile` left it open."""
        if self._auto_schedule is None or self._auto_schedule.total_steps is not None:
            return
        steps_per_epoch = steps_per_epoch or int(dataset.cardinality())
        if steps_per_epoch <= 0:
            raise ValueError(
                "Cannot tell the number of training steps for the learning-rate schedule from this dataset; "
                "pass compile(num_train_steps=...) or fit(steps_per_epoch=...)."
            )
        self._set_schedule_steps(steps_per_epoch * epochs)

    def get_compile_config(self):
        return None  # A loaded model is compiled again by its user; `compile()` has ELECTRA's defaults.
