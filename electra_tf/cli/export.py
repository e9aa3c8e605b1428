"""bin/export: writes a fine-tuned classifier, question answerer or tagger as a TF Serving SavedModel that takes raw
text.

bin/export --finetuned=data/finetune/sst-2/trial_0/model --export_dir=exports/sst2
"""

import json
import os

from absl import flags

from electra_tf import io_utils
from electra_tf.cli import common
from electra_tf.export import qa_serving, serving, tagging_serving
from electra_tf.models import electra_question_answerer, electra_tagger
from electra_tf.models.electra_classifier import ElectraClassifier

_FINETUNED = flags.DEFINE_string("finetuned", None, "A fine-tuned model folder (bin/finetune's trial_<k>/model).")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "The model base path TF Serving watches; a version folder is added."
)
_VERSION = flags.DEFINE_integer("version", None, "Version number; defaults to one more than the largest present.")
_MODEL_NAME = flags.DEFINE_string(
    "model_name", "electra", "Model name in the warmup requests (TF Serving's --model_name)."
)
_WARMUP = flags.DEFINE_bool("warmup", True, "Write TF Serving warmup requests (needs tensorflow-serving-api).")
_COMPUTE_DTYPE = flags.DEFINE_enum(
    "compute_dtype",
    "float32",
    ["float32", "bfloat16"],
    "Serving precision. bfloat16 runs the matmuls and attention in bfloat16 (CPUs with AVX512-BF16 or AMX); outputs "
    "move by about 1e-3.",
)


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    if not _FINETUNED.value or not _EXPORT_DIR.value:
        raise ValueError("--finetuned and --export_dir are required.")
    io_utils.check_output_dir(_EXPORT_DIR.value, "--export_dir")
    if os.path.exists(os.path.join(_FINETUNED.value, electra_tagger.MODEL_FILE)):
        tagger = electra_tagger.ElectraTagger.from_finetuned(_FINETUNED.value)
        path = tagging_serving.export_tagger(
            tagger, _EXPORT_DIR.value, _VERSION.value, _MODEL_NAME.value, _WARMUP.value, _COMPUTE_DTYPE.value
        )
    elif os.path.exists(os.path.join(_FINETUNED.value, electra_question_answerer.MODEL_FILE)):
        model = electra_question_answerer.ElectraQuestionAnswerer.from_finetuned(_FINETUNED.value)
        path = qa_serving.export_question_answerer(
            model, _EXPORT_DIR.value, _VERSION.value, _MODEL_NAME.value, _WARMUP.value, _COMPUTE_DTYPE.value
        )
    else:
        classifier = ElectraClassifier.from_finetuned(_FINETUNED.value)
        path = serving.export_classifier(
            classifier, _EXPORT_DIR.value, _VERSION.value, _MODEL_NAME.value, _WARMUP.value, _COMPUTE_DTYPE.value
        )
    print(json.dumps({"export": path}))


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
