"""bin/convert: moves ELECTRA checkpoints between HF transformers, Google's TF1 format and electra_tf.

    bin/convert --from=hf --to=electra_tf --src=electra-small-discriminator/ --dst=converted/discriminator
    bin/convert --from=google --to=electra_tf --src=electra_small/ --vocab_file=electra_small/vocab.txt \\
        --num_heads=4 --dst=converted            # writes converted/discriminator and converted/generator
    bin/convert --from=electra_tf --to=hf --src=data/models/tiny/discriminator --dst=hf/tiny-discriminator
    bin/convert --from=hf --src=electra-small-squad2/ --dst=converted/squad   # a fine-tuned question answerer
    bin/convert --from=hf --src=electra-small-ner/ --dst=converted/ner        # a fine-tuned tagger

The electra_tf form is a saved encoder folder with its head, which `bin/finetune --pretrained` and
`bin/pretrain --init_from` (the parent folder) read; or, for an HF `ElectraForQuestionAnswering` or
`ElectraForTokenClassification`, a fine-tuned `ElectraQuestionAnswerer` or `ElectraTagger` folder (`from_finetuned`),
which `bin/export --finetuned` serves. Nothing is written to --dst unless the conversion succeeds.
"""

import json
import os

from absl import flags

from electra_tf import io_utils
from electra_tf.cli import common
from electra_tf.interop import google, hf
from electra_tf.models import saving
from electra_tf.tokenization.vocabulary import VOCAB_FILE

_FROM = flags.DEFINE_enum("from", None, ["hf", "google", "electra_tf"], "Source format.")
_TO = flags.DEFINE_enum("to", "electra_tf", ["electra_tf", "hf"], "Target format.")
_SRC = flags.DEFINE_string(
    "src", None, "Source: an HF model folder, a TF1 checkpoint (prefix or folder), or an electra_tf folder."
)
_DST = flags.DEFINE_string("dst", None, "Destination folder.")
_VOCAB_FILE = flags.DEFINE_string(
    "vocab_file", None, "--from=google: the checkpoint's vocab.txt (default: <src folder>/vocab.txt)."
)
_NUM_HEADS = flags.DEFINE_integer(
    "num_heads", None, "--from=google: the discriminator's attention heads (Small 4, Base 12, Large 16)."
)
_KIND = flags.DEFINE_enum(
    "kind",
    "both",
    ["both", "discriminator", "generator"],
    "--from=google: which model to convert; 'both' writes <dst>/discriminator and <dst>/generator.",
)
_LOWER_CASE = flags.DEFINE_bool("lower_case", True, "--from=google: whether the vocabulary is lower-cased.")
_HUB_DOWNLOAD = flags.DEFINE_bool(
    "hub_download",
    False,
    "--from=hf: treat --src as a hub id (e.g. google/electra-small-discriminator) and download it (internet).",
)
_ALLOW_PICKLE = flags.DEFINE_bool(
    "allow_pickle", False, "--from=hf: allow a pickle-based pytorch_model.bin (it can run code)."
)


def _write(converted, destination: str) -> str:
    if _TO.value == "hf":
        hf.save_hf(converted, destination)
    else:
        saving.save(converted, destination)
    return destination


def _write_finetuned(src: str, architecture: str) -> str:
    """An HF ElectraForQuestionAnswering or ElectraForTokenClassification as a fine-tuned electra_tf model, written
    whole or not at all."""
    if _TO.value != "electra_tf":
        raise ValueError(f"{src} is an {architecture}: it converts to electra_tf only.")
    load = hf.load_hf_question_answerer if architecture == hf.QUESTION_ANSWERING else hf.load_hf_tagger
    model = load(src, _ALLOW_PICKLE.value)
    with io_utils.staged_directory(_DST.value) as staging:
        model.save_finetuned(staging)
    return _DST.value


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    if not _FROM.value or not _SRC.value or not _DST.value:
        raise ValueError("--from, --src and --dst are required.")
    written = []
    if _FROM.value == "google":
        src_dir = _SRC.value if os.path.isdir(_SRC.value) else os.path.dirname(_SRC.value)
        vocab_file = _VOCAB_FILE.value or os.path.join(src_dir, VOCAB_FILE)
        kinds = ["discriminator", "generator"] if _KIND.value == "both" else [_KIND.value]
        converted = [
            google.load_google(_SRC.value, vocab_file, kind, _NUM_HEADS.value, _LOWER_CASE.value) for kind in kinds
        ]
        for kind, model in zip(kinds, converted):  # Convert all first: nothing is written if one fails.
            written.append(_write(model, os.path.join(_DST.value, kind) if _KIND.value == "both" else _DST.value))
    else:
        if _FROM.value == "hf":
            src = hf.download(_SRC.value) if _HUB_DOWNLOAD.value else _SRC.value
            if hf.architecture(src) in hf.FINETUNED:
                print(json.dumps({"written": [_write_finetuned(src, hf.architecture(src))]}))
                return
            model = hf.load_hf(src, _ALLOW_PICKLE.value)
        else:
            model = saving.load(_SRC.value)
        written.append(_write(model, _DST.value))
    print(json.dumps({"written": written}))


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
