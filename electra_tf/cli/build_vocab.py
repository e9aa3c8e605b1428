"""Learns a BERT-style WordPiece `vocab.txt` from text files (HF `tokenizers` learner).

electra-build-vocab --input='corpus/*.txt' --output=data/vocab.txt --vocab_size=30522
"""

import os
import time

from absl import flags, logging

from electra_tf import io_utils, settings
from electra_tf.cli import common
from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab

_INPUT = flags.DEFINE_list(
    "input", [str(settings.corpus_file())], "Text files or globs, comma-separated. Defaults to the shared corpus."
)
_OUTPUT = flags.DEFINE_string("output", str(settings.output_dir() / "vocab.txt"), "Where to write vocab.txt.")
_VOCAB_SIZE = flags.DEFINE_integer("vocab_size", 30522, "Tokens wanted, [PAD] [UNK] [CLS] [SEP] [MASK] included.")
_LOWER_CASE = flags.DEFINE_bool("lower_case", True, "Lower-case the text (--nolower_case for a cased vocabulary).")
_STRIP_ACCENTS = flags.DEFINE_enum(
    "strip_accents", "auto", ["auto", "true", "false"], "Strip accents; auto follows --lower_case, as BERT does."
)
_MIN_FREQUENCY = flags.DEFINE_integer("min_frequency", 0, "Minimum count for a merge to be kept.")
_ON_DECODE_ERROR = flags.DEFINE_enum(
    "on_decode_error", "replace", ["replace", "strict"], "Invalid UTF-8: replace with U+FFFD and count, or fail."
)


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    io_utils.check_output_file(_OUTPUT.value, "--output")
    start = time.time()
    vocabulary = learn_wordpiece_vocab(
        _INPUT.value,
        vocab_size=_VOCAB_SIZE.value,
        lower_case=_LOWER_CASE.value,
        strip_accents=common.strip_accents_flag(_STRIP_ACCENTS.value),
        min_frequency=_MIN_FREQUENCY.value,
        on_decode_error=_ON_DECODE_ERROR.value,
    )
    os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
    vocabulary.save(_OUTPUT.value)
    logging.info("Wrote %d tokens to %s in %.1f s.", vocabulary.size, _OUTPUT.value, time.time() - start)
    print(f"Wrote {vocabulary.size} tokens to {_OUTPUT.value} in {time.time() - start:.1f} s.")


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
