"""Pre-trains ELECTRA (or an ablation) from TFRecords; resumes automatically from the latest checkpoint.

electra-pretrain --config=configs/pretraining/tiny.json --train_data=data/pretraining_data --model_dir=data/tiny
"""

import dataclasses
import json

from absl import flags

from electra_tf import config_io, io_utils, settings
from electra_tf.cli import common
from electra_tf.training import pretrain
from electra_tf.training.pretraining_config import PretrainingConfig

_CONFIG = flags.DEFINE_string(
    "config", str(settings.repo_root() / "configs" / "pretraining" / "tiny.json"), "A PretrainingConfig JSON."
)
_TRAIN_DATA = flags.DEFINE_string(
    "train_data", str(settings.output_dir() / "pretraining_data"), "Folder written by build_pretraining_data."
)
_MODEL_DIR = flags.DEFINE_string(
    "model_dir", str(settings.output_dir() / "models" / "tiny"), "Checkpoints and outputs."
)
_STRATEGY = flags.DEFINE_enum("strategy", "default", list(pretrain.STRATEGIES), "Distribution strategy.")
_TPU = flags.DEFINE_string("tpu", None, "Cloud TPU name or address, with --strategy=tpu.")
_MIXED_PRECISION = flags.DEFINE_enum("mixed_precision", "float32", list(pretrain.PRECISIONS), "Keras dtype policy.")
_JIT_COMPILE = flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")
_STEPS_PER_EXECUTION = flags.DEFINE_integer("steps_per_execution", 1, "Training steps per compiled call.")
_INIT_FROM = flags.DEFINE_string(
    "init_from",
    None,
    "Start a fresh run from converted weights: a folder with discriminator/ and generator/ (bin/convert).",
)
_FORCE_UNLOCK = flags.DEFINE_bool(
    "force_unlock",
    False,
    "Take --model_dir's lock even if a run on another host holds it (only if that run is over).",
)
# Overrides of the config file; unset means "as in the file".
_NUM_TRAIN_STEPS = flags.DEFINE_integer("num_train_steps", None, "Override: total steps.")
_BATCH_SIZE = flags.DEFINE_integer("train_batch_size", None, "Override: global batch size.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", None, "Override: peak learning rate.")
_OBJECTIVE = flags.DEFINE_string("objective", None, "Override: electra, mlm, electra_15, replace_mlm, all_tokens_mlm.")
_SEED = flags.DEFINE_integer("seed", None, "Override: seed of data order, masks and sampling.")
_CHECKPOINT_EVERY = flags.DEFINE_integer("checkpoint_every", None, "Override: steps between checkpoints.")
_LOG_EVERY = flags.DEFINE_integer("log_every", None, "Override: steps between progress lines.")


def resolve_config() -> PretrainingConfig:
    config = config_io.load(PretrainingConfig, _CONFIG.value)
    top = {
        "num_train_steps": _NUM_TRAIN_STEPS.value,
        "train_batch_size": _BATCH_SIZE.value,
        "objective": _OBJECTIVE.value,
        "seed": _SEED.value,
        "checkpoint_every": _CHECKPOINT_EVERY.value,
        "log_every": _LOG_EVERY.value,
    }
    config = dataclasses.replace(config, **{k: v for k, v in top.items() if v is not None})
    if _LEARNING_RATE.value is not None:
        config = dataclasses.replace(
            config, optimizer=dataclasses.replace(config.optimizer, learning_rate=_LEARNING_RATE.value)
        )
    return config


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    io_utils.check_output_dir(_MODEL_DIR.value, "--model_dir")
    options = pretrain.RunOptions(
        strategy=_STRATEGY.value,
        tpu=_TPU.value,
        mixed_precision=_MIXED_PRECISION.value,
        jit_compile=_JIT_COMPILE.value,
        steps_per_execution=_STEPS_PER_EXECUTION.value,
        init_from=_INIT_FROM.value,
        force_unlock=_FORCE_UNLOCK.value,
    )
    results = pretrain.run_pretraining(resolve_config(), _TRAIN_DATA.value, _MODEL_DIR.value, options)
    print(json.dumps({k: v for k, v in results.items() if k != "history"}))


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
