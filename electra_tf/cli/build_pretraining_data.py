"""Turns text (files, or a TFDS text dataset) into sharded pre-training TFRecords plus metadata.json.

electra-build-pretraining-data --input='corpus/*.txt' --vocab_file=data/vocab.txt --output_dir=data/pretrain
electra-build-pretraining-data --tfds=wiki40b/en:text --tfds_download  # needs internet
"""

import dataclasses
import json

from absl import flags

from electra_tf import config_io, settings
from electra_tf.cli import common
from electra_tf.data import tfds_source
from electra_tf.data.pretraining_data_builder import PretrainingDataConfig, build_pretraining_data

_INPUT = flags.DEFINE_list(
    "input", [str(settings.corpus_file())], "Text files or globs, comma-separated. Defaults to the shared corpus."
)
_TFDS = flags.DEFINE_string(
    "tfds", None, "A TFDS text dataset as NAME:FEATURE (e.g. wiki40b/en:text); replaces --input."
)
_TFDS_SPLIT = flags.DEFINE_string("tfds_split", "train", "The TFDS split to read.")
_TFDS_DATA_DIR = flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir (TFDS's default when unset).")
_TFDS_DOWNLOAD = flags.DEFINE_bool(
    "tfds_download", False, "Download and prepare the TFDS dataset if needed (internet)."
)
_VOCAB_FILE = flags.DEFINE_string("vocab_file", str(settings.output_dir() / "vocab.txt"), "The vocab.txt to use.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", str(settings.output_dir() / "pretraining_data"), "Folder for shards and metadata.json."
)
_CONFIG = flags.DEFINE_string(
    "config", None, "A PretrainingDataConfig JSON (e.g. configs/pretraining_data/seq512.json); flags given override it."
)
_MAX_SEQ_LENGTH = flags.DEFINE_integer("max_seq_length", 128, "Length of every example, special tokens included.")
_SHORT_SEQ_PROB = flags.DEFINE_float("short_seq_prob", 0.05, "Share of examples aiming for a random shorter length.")
_SINGLE_SEGMENT_PROB = flags.DEFINE_float("single_segment_prob", 0.1, "Share of examples with one segment.")
_LOWER_CASE = flags.DEFINE_bool("lower_case", True, "Lower-case the text; must match the vocabulary.")
_STRIP_ACCENTS = flags.DEFINE_enum(
    "strip_accents", "auto", ["auto", "true", "false"], "Strip accents; auto follows --lower_case."
)
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 0, "Output shards; 0 picks max(16, one per 128 MiB of text).")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 0, "Worker processes; 0 uses every core.")
_SEED = flags.DEFINE_integer("seed", 12345, "Seed of the packing randomness.")
_ON_DECODE_ERROR = flags.DEFINE_enum(
    "on_decode_error", "replace", ["replace", "strict"], "Invalid UTF-8: replace with U+FFFD and count, or fail."
)
_PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")


# Flags that override fields of the configuration when given: (flag, field of PackingConfig or None).
_OVERRIDES = {
    "max_seq_length": "packing",
    "short_seq_prob": "packing",
    "single_segment_prob": "packing",
    "lower_case": None,
    "strip_accents": None,
    "num_shards": None,
    "seed": None,
    "on_decode_error": None,
}


def resolve_config() -> PretrainingDataConfig:
    """Returns the --config file (or the defaults) with every flag given on the command line applied on top."""
    config = config_io.load(PretrainingDataConfig, _CONFIG.value) if _CONFIG.value else PretrainingDataConfig()
    given = {name: flags.FLAGS[name].value for name in _OVERRIDES if flags.FLAGS[name].present}
    if "strip_accents" in given:
        given["strip_accents"] = common.strip_accents_flag(given["strip_accents"])
    packing_overrides = {k: v for k, v in given.items() if _OVERRIDES[k] == "packing"}
    top_overrides = {k: v for k, v in given.items() if _OVERRIDES[k] is None}
    return dataclasses.replace(
        config, packing=dataclasses.replace(config.packing, **packing_overrides), **top_overrides
    )


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    config = resolve_config()
    kwargs = dict(
        vocab_file=_VOCAB_FILE.value,
        output_dir=_OUTPUT_DIR.value,
        config=config,
        num_workers=_NUM_WORKERS.value or None,
        show_progress=_PROGRESS.value,
    )
    if _TFDS.value:
        metadata = tfds_source.build_pretraining_data_from_tfds(
            _TFDS.value, split=_TFDS_SPLIT.value, data_dir=_TFDS_DATA_DIR.value, download=_TFDS_DOWNLOAD.value, **kwargs
        )
    else:
        metadata = build_pretraining_data(_INPUT.value, **kwargs)
    stats = metadata.statistics
    summary = {
        "output_dir": _OUTPUT_DIR.value,
        "num_examples": metadata.num_examples,
        "num_shards": len(metadata.shards),
        "token_keep_share": round(stats["token_keep_share"], 5),
        "single_segment_share": round(stats["single_segment_share"], 4),
        "num_decode_errors": stats["num_decode_errors"],
        "build_seconds": stats["build_seconds"],
    }
    print(json.dumps(summary))


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
