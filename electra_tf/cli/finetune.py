"""bin/finetune: fine-tunes a pre-trained discriminator on a GLUE (or user) task, N seeds, median and spread.

    bin/finetune --task=rte --pretrained=data/models/tiny/discriminator --num_trials=3

With only --task and --pretrained, the settings come from the fine-tuning recipe for the encoder's size and the task
(google-research/electra's settings with the paper's learning rates: for a small encoder on RTE, learning rate
3e-4, layer-wise decay 0.8, 10 epochs); a
--config file or a flag overrides any of them. The run prints the resolved recipe and where each value came from.
Results go to <model_dir>/results.json and TensorBoard (<model_dir>/trial_<k>/logs).
"""

import dataclasses
import json
import os

from absl import flags

from electra_tf import config_io, settings
from electra_tf.cli import common
from electra_tf.models import finetuning_recipe
from electra_tf.optimizers import layerwise_decay
from electra_tf.training import finetune

_TASK = flags.DEFINE_string(
    "task", None, "A GLUE task (cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte, wnli) or a task JSON file."
)
_DATA_DIR = flags.DEFINE_string("data_dir", str(settings.data_dir() / "glue"), "The GLUE root: one folder per task.")
_SOURCE = flags.DEFINE_enum("source", "tsv", list(finetune.SOURCES), "Read GLUE TSV files, or TFDS's glue/* builders.")
_TFDS_DATA_DIR = flags.DEFINE_string(
    "tfds_data_dir", None, "With --source=tfds: TFDS's data_dir (its default when unset)."
)
_TFDS_DOWNLOAD = flags.DEFINE_bool("tfds_download", False, "With --source=tfds: download and prepare missing datasets.")
_PRETRAINED = flags.DEFINE_string(
    "pretrained",
    str(settings.output_dir() / "models" / "tiny" / "discriminator"),
    "A saved encoder (bin/pretrain's discriminator).",
)
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Outputs; defaults to data/finetune/<task>.")
_CONFIG = flags.DEFINE_string("config", None, "A FinetuningConfig JSON file; the flags below override it.")
_NUM_TRIALS = flags.DEFINE_integer(
    "num_trials", 1, "Fine-tuning runs with consecutive seeds; reports median and spread."
)
_DO_PREDICT = flags.DEFINE_bool("do_predict", False, "Write GLUE submission files for the test splits.")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Also export the first trial for TF Serving here (<export_dir>/<version>/)."
)
_VERBOSE = flags.DEFINE_integer("keras_verbose", 1, "Keras progress: 0 silent, 1 progress bar, 2 a line per epoch.")

_OVERRIDES = {
    "learning_rate": flags.DEFINE_float(
        "learning_rate", None, "Peak learning rate of the head (recipe: 3e-4 small, 1e-4 base, 5e-5 large)."
    ),
    "layerwise_decay": flags.DEFINE_float(
        "layerwise_decay", None, "Layer-wise learning-rate decay (recipe: 0.8, 0.9 large)."
    ),
    "layerwise_rule": flags.DEFINE_enum(
        "layerwise_rule",
        None,
        list(layerwise_decay.LAYERWISE_RULES),
        "Layer-wise decay powers: google-research/electra's released code, or its issue #51 correction "
        "(recipe: released).",
    ),
    "weight_decay": flags.DEFINE_float("weight_decay", None, "Decoupled weight decay (recipe: 0.01)."),
    "warmup_fraction": flags.DEFINE_float("warmup_fraction", None, "Share of steps in linear warmup (recipe: 0.1)."),
    "epochs": flags.DEFINE_integer("epochs", None, "Training epochs (recipe: 10 for RTE and STS-B, 3 otherwise)."),
    "batch_size": flags.DEFINE_integer("batch_size", None, "Training batch size (recipe: 32)."),
    "clip_norm": flags.DEFINE_float("clip_norm", None, "Global-norm gradient clipping; 0 disables it (recipe: 1.0)."),
    "bias_correction": flags.DEFINE_bool(
        "bias_correction", None, "Bias-correct Adam's moments (recipe: false, as google-research/electra)."
    ),
    "double_unordered": flags.DEFINE_bool(
        "double_unordered", None, "Train on both orders of each pair, for MRPC and STS-B (recipe: true for them)."
    ),
    "model_size": flags.DEFINE_enum(
        "model_size",
        None,
        list(finetuning_recipe.MODEL_SIZES),
        "The size whose recipe applies (recipe: from the encoder's hidden_size: < 512 small, < 1024 base, else large).",
    ),
    "sequence_length": flags.DEFINE_integer("sequence_length", None, "Packed sequence length."),
    "seed": flags.DEFINE_integer("seed", None, "Seed of the first trial."),
    "max_train_examples": flags.DEFINE_integer(
        "max_train_examples", None, "Train on a seeded subsample of N examples."
    ),
    "on_bad_row": flags.DEFINE_enum(
        "on_bad_row", None, ["raise", "skip"], "Stop at, or skip and count, malformed rows."
    ),
    "jit_compile": flags.DEFINE_bool("jit_compile", None, "Compile the steps with XLA."),
    "freeze_encoder": flags.DEFINE_bool("freeze_encoder", None, "Train only the head (a linear probe)."),
    "random_encoder": flags.DEFINE_bool(
        "random_encoder", None, "Re-initialise the encoder: the no-pre-training control."
    ),
    "validate_every_epoch": flags.DEFINE_bool(
        "validate_every_epoch", None, "Report dev loss and accuracy every epoch."
    ),
}


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    if not _TASK.value:
        raise ValueError("--task is required: a GLUE task name or a task JSON file.")
    config = config_io.load(finetune.FinetuningConfig, _CONFIG.value) if _CONFIG.value else finetune.FinetuningConfig()
    config = dataclasses.replace(config, **{k: f.value for k, f in _OVERRIDES.items() if f.value is not None})
    model_dir = _MODEL_DIR.value or str(
        settings.output_dir() / "finetune" / os.path.basename(_TASK.value).removesuffix(".json")
    )
    data_dir = _TFDS_DATA_DIR.value if _SOURCE.value == "tfds" else _DATA_DIR.value
    results = finetune.run_finetuning(
        _TASK.value,
        data_dir,
        _PRETRAINED.value,
        model_dir,
        config,
        num_trials=_NUM_TRIALS.value,
        do_predict=_DO_PREDICT.value,
        export_dir=_EXPORT_DIR.value,
        source=_SOURCE.value,
        tfds_download=_TFDS_DOWNLOAD.value,
        verbose=_VERBOSE.value,
    )
    print(
        json.dumps(
            {"task": results["task"], "model_dir": model_dir, "recipe": results["recipe"], "dev": results["dev"]}
        )
    )


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
