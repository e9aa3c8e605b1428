"""bin/finetune: fine-tunes a pre-trained discriminator on a GLUE (or user) task, SQuAD or CoNLL tagging, N seeds,
median and spread.

    bin/finetune --task=rte --pretrained=data/models/tiny/discriminator --num_trials=3
    bin/finetune --task=squad_v1.1 --pretrained=data/models/tiny/discriminator --sequence_length=256
    bin/finetune --task=conll2003 --pretrained=data/models/tiny/discriminator --sequence_length=128

SQuAD (`--task=squad_v1.1` or `squad_v2.0`) reads `--squad_file` (the shared dev file by default), trains on all but
its last articles and scores those (`training/finetune_squad.py`), or trains on `--squad_train_file` and scores all
of `--squad_file`. Its windows default to google-research/electra's: 512 tokens, stride 128.

CoNLL tagging (`--task=conll2000` chunking or `conll2003` NER) reads `<--data_dir>/conll2000/` or `conll2003/` (the
shared data root by default), trains on the train file and scores the test file (and CoNLL-2003's dev file) with
conlleval's chunk F1 (`training/finetune_tagging.py`). Windows default to GR's 256 word-pieces.

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
from electra_tf.tasks import conll
from electra_tf.training import finetune, finetune_squad, finetune_tagging

SQUAD_FILES = {"squad_v1.1": "dev-v1.1.json", "squad_v2.0": "dev-v2.0-half.json"}

_TASK = flags.DEFINE_string(
    "task",
    None,
    "A GLUE task (cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte, wnli), a task JSON file, squad_v1.1 / squad_v2.0, "
    "or conll2000 / conll2003.",
)
_DATA_DIR = flags.DEFINE_string(
    "data_dir",
    str(settings.data_dir() / "glue"),
    "The GLUE root: one folder per task. For CoNLL tasks, the root holding conll2000/ and conll2003/ (default: the "
    "shared data root).",
)
_SOURCE = flags.DEFINE_enum(
    "source",
    "tsv",
    list(finetune.SOURCES),
    "Read GLUE TSV files (SQuAD: its JSON file), or TFDS's glue/* and squad/* builders.",
)
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
_SQUAD_FILE = flags.DEFINE_string(
    "squad_file", None, "SQuAD: the file to score (and split by article); defaults to the shared dev file."
)
_SQUAD_TRAIN_FILE = flags.DEFINE_string("squad_train_file", None, "SQuAD: a separate training file (train-v1.1.json).")
_SQUAD = {
    "doc_stride": flags.DEFINE_integer("doc_stride", None, "SQuAD: tokens between window starts (default 128)."),
    "max_query_length": flags.DEFINE_integer("max_query_length", None, "SQuAD: question tokens kept (default 64)."),
    "max_answer_length": flags.DEFINE_integer("max_answer_length", None, "SQuAD: longest answer (default 30)."),
    "held_out_articles": flags.DEFINE_integer(
        "held_out_articles", None, "SQuAD: articles held out for scoring (default: 10 for v1.1, 4 for v2.0)."
    ),
    "no_answer_threshold": flags.DEFINE_float(
        "no_answer_threshold", None, "SQuAD 2.0: no answer above this no-answer logit (default -2.75, GR's)."
    ),
    "on_bad_example": flags.DEFINE_enum(
        "on_bad_example", None, ["error", "skip"], "SQuAD: stop at, or skip and count, bad questions."
    ),
}
_TAGGING = {
    "stride": flags.DEFINE_integer(
        "stride", None, "CoNLL: word-pieces between a long sentence's windows (default: half a window)."
    ),
    "scheme": flags.DEFINE_enum(
        "tag_scheme", None, ["BIOES", "IOB2"], "CoNLL: the labels the tagger learns (default BIOES, GR's)."
    ),
}
_FORCE_UNLOCK = flags.DEFINE_bool(
    "force_unlock", False, "Take --model_dir's lock even if a run on another host holds it (only if that run is over)."
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
    "epochs": flags.DEFINE_integer(
        "epochs", None, "Training epochs (recipe: 10 for RTE and STS-B, 2 for SQuAD, 3 otherwise)."
    ),
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
        "max_train_examples",
        None,
        "Train on a seeded subsample of N examples (SQuAD: the first N questions; CoNLL: the first N sentences).",
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
        raise ValueError(
            "--task is required: a GLUE task name, a task JSON file, squad_v1.1 / squad_v2.0, or conll2000 / conll2003."
        )
    if _TASK.value in SQUAD_FILES:
        return _squad()
    _reject_other_families("SQuAD", {**_SQUAD, "squad_file": _SQUAD_FILE, "squad_train_file": _SQUAD_TRAIN_FILE})
    if _TASK.value in conll.FORMATS:
        return _tagging()
    _reject_other_families("CoNLL tagging", _TAGGING)
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
        force_unlock=_FORCE_UNLOCK.value,
    )
    _print_summary(results, model_dir)


def _reject_other_families(family: str, family_flags: dict) -> None:
    present = sorted(flag.name for flag in family_flags.values() if flag.present)
    if present:
        raise ValueError(f"--{', --'.join(present)} apply to {family} only, not to --task={_TASK.value}.")


def _family_config(config_class, family_flags: dict, extra_glue_only: tuple = ()):
    """The SQuAD or tagging config from the flags; GLUE-only flags that were set are refused."""
    fields = {field.name for field in dataclasses.fields(config_class)}
    glue_only = sorted(name for name, flag in _OVERRIDES.items() if flag.present and name not in fields)
    glue_only += [name for name, flag in (("do_predict", _DO_PREDICT), ("export_dir", _EXPORT_DIR)) if flag.present]
    glue_only += [flag.name for flag in extra_glue_only if flag.present]
    if glue_only or _CONFIG.present:
        named = glue_only + ["config"] * _CONFIG.present
        raise ValueError(f"--{', --'.join(named)} do not apply to --task={_TASK.value} (yet).")
    values = {name: flag.value for name, flag in {**_OVERRIDES, **family_flags}.items() if flag.value is not None}
    return config_class(**{name: value for name, value in values.items() if name in fields})


def _print_summary(results: dict, model_dir: str) -> None:
    print(
        json.dumps(
            {"task": results["task"], "model_dir": model_dir, "recipe": results["recipe"], "dev": results["dev"]}
        )
    )


def _tagging() -> None:
    config = _family_config(finetune_tagging.TaggingConfig, _TAGGING, (_SOURCE, _TFDS_DATA_DIR, _TFDS_DOWNLOAD))
    model_dir = _MODEL_DIR.value or str(settings.output_dir() / "finetune" / _TASK.value)
    results = finetune_tagging.run_tagging_finetuning(
        _TASK.value,
        _DATA_DIR.value if _DATA_DIR.present else str(settings.data_dir()),
        _PRETRAINED.value,
        model_dir,
        config,
        num_trials=_NUM_TRIALS.value,
        verbose=_VERBOSE.value,
        force_unlock=_FORCE_UNLOCK.value,
    )
    _print_summary(results, model_dir)


def _squad() -> None:
    _reject_other_families("CoNLL tagging", _TAGGING)
    config = _family_config(finetune_squad.SquadConfig, _SQUAD)
    tfds = _SOURCE.value == "tfds"
    file_flags = [flag.name for flag in (_SQUAD_FILE, _SQUAD_TRAIN_FILE, _SQUAD["held_out_articles"]) if flag.present]
    if tfds and file_flags:
        raise ValueError(f"--{', --'.join(file_flags)} do not apply with --source=tfds (TFDS's train and validation).")
    squad_file = None if tfds else _SQUAD_FILE.value or str(settings.data_dir() / "squad" / SQUAD_FILES[_TASK.value])
    model_dir = _MODEL_DIR.value or str(settings.output_dir() / "finetune" / _TASK.value)
    results = finetune_squad.run_squad_finetuning(
        squad_file,
        _PRETRAINED.value,
        model_dir,
        config,
        num_trials=_NUM_TRIALS.value,
        train_file=_SQUAD_TRAIN_FILE.value,
        verbose=_VERBOSE.value,
        force_unlock=_FORCE_UNLOCK.value,
        expected_version=_TASK.value.removeprefix("squad_v"),
        source="tfds" if tfds else "file",
        tfds_data_dir=_TFDS_DATA_DIR.value,
        tfds_download=_TFDS_DOWNLOAD.value,
    )
    _print_summary(results, model_dir)


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
