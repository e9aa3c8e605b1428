"""SavedModel export of a tagger for TF Serving: raw text in, its chunks (entities, phrases) out.

    electra_tf.export.tagging_serving.export_tagger(model, "exports/ner")   # -> exports/ner/1/

`serving_default` takes `text`, string `(batch,)`, and returns per text, padded to the batch's most chunks:
`type` (string, "" as padding), `start_char` and `end_char` (int32 character offsets, end exclusive, -1 as padding),
`text` (the chunk's text) and `num_chunks` (int32 `(batch,)`): what `ElectraTagger.extract` returns. Words are the
text's whitespace-separated tokens. Word splitting, tokenization and windowing (`TaggingPreprocessor`), the forward
pass (`InferenceEncoder` and the dense head) and chunk reading (`tagging_decoding`) all run in the graph.

A text is tagged from at most `max_windows` windows (64 by default: about 8,000 word-pieces at 256 tokens): the words
beyond them get `O`, with the model's time and memory bounded, where `extract` tags every window.

The export is held to the classifier's bar before it is published: only ops stock TF Serving runs, none that touch
files, and chunks identical to `extract`'s on the warmup texts, written through a staging folder into
`<export_dir>/<version>/`.
"""

from typing import Optional

import tensorflow as tf

from electra_tf.export import serving
from electra_tf.export.inference_graph import InferenceEncoder, plain_variable
from electra_tf.models import tagging_decoding
from electra_tf.models.electra_tagger import TEXT

MAX_WINDOWS = 64
WARMUP_TEXTS = (
    "",
    "EU rejects German call to boycott British lamb .",
    "Zoë Müller of Siemens AG flew from São Paulo to Kraków on Tuesday .",
    "Peter Blackburn , speaking in Brussels for the European Commission , said the ban stands . " * 30,
)
OUTPUTS = {"type": tf.string, "start_char": tf.int32, "end_char": tf.int32, "text": tf.string}
_PADDING = {"type": "", "start_char": -1, "end_char": -1, "text": ""}


class TaggingServingModule(tf.Module):
    """Preprocessor, forward pass and chunk reading, as one tf.Module with a text-in, chunks-out signature."""

    def __init__(self, model, compute_dtype: str = "float32", max_windows: int = MAX_WINDOWS):
        super().__init__(name="electra_tagging_serving")
        if model.preprocessor is None:
            raise ValueError("The model has no preprocessor; export needs one to put the tokenizer in the graph.")
        if max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, but received {max_windows}.")
        self.preprocessor = model.preprocessor
        self.encoder = InferenceEncoder(model.encoder, compute_dtype)
        self.kernel = plain_variable(model.head.kernel.numpy(), "tagging_kernel")
        self.bias = plain_variable(model.head.bias.numpy(), "tagging_bias")
        self.prefix_codes, self.type_codes, self.types = model.label_tables
        self.outside = model.outside
        self.max_windows = int(max_windows)
        self.serve = tf.function(self._serve, input_signature=[tf.TensorSpec([None], tf.string, name=TEXT)])

    def chunks(self, text) -> dict:
        """One text's chunks (scalar string in)."""
        words, begins, ends = tagging_decoding.split_words(text)
        windows = self.preprocessor.windows(words, max_windows=self.max_windows)
        sequence = self.encoder(windows["token_ids"], windows["segment_ids"], windows["padding_mask"])
        logits = tf.matmul(sequence, self.kernel) + self.bias  # (N, length, C): cut to the longest window.
        word_index = windows["word_index"][:, : tf.shape(sequence)[1]]
        labels = tagging_decoding.word_labels(logits, word_index, tf.size(words), self.outside)
        kinds, first, last = tagging_decoding.chunk_spans(labels, self.prefix_codes, self.type_codes)
        return tagging_decoding.span_outputs(text, begins, ends, kinds, first, last, self.types)

    def _serve(self, text):
        signature = {key: tf.RaggedTensorSpec([None], dtype, ragged_rank=0) for key, dtype in OUTPUTS.items()}
        chunks = tf.map_fn(self.chunks, text, fn_output_signature=signature)
        outputs = {key: chunks[key].to_tensor(_PADDING[key]) for key in OUTPUTS}
        outputs["num_chunks"] = tf.cast(chunks["type"].row_lengths(), tf.int32)
        return outputs


def export_tagger(
    model,
    export_dir: str,
    version: Optional[int] = None,
    model_name: str = "electra_tagger",
    warmup: bool = True,
    compute_dtype: str = "float32",
    max_windows: int = MAX_WINDOWS,
) -> str:
    """Writes `model` (an `ElectraTagger` with a preprocessor) as `<export_dir>/<version>/`; returns it."""
    if compute_dtype != "float32" or model.compute_dtype != "float32":
        raise ValueError(
            f"A tagger exports in float32 only (compute_dtype={compute_dtype!r}, the model computes in "
            f"{model.compute_dtype}): its chunks must equal extract's."
        )
    module = TaggingServingModule(model, compute_dtype, max_windows)
    return serving.publish(
        module, export_dir, version, lambda staging: check_against_extract(staging, model), (TEXT,), model_name, warmup
    )


def served_chunks(outputs: dict) -> list:
    """The serving signature's padded outputs as `extract`'s lists of dicts."""
    results = []
    for i, count in enumerate(outputs["num_chunks"].numpy()):
        results.append(
            [
                {
                    "type": outputs["type"][i, j].numpy().decode("utf-8"),
                    "start_char": int(outputs["start_char"][i, j]),
                    "end_char": int(outputs["end_char"][i, j]),
                    "text": outputs["text"][i, j].numpy().decode("utf-8", errors="replace"),
                }
                for j in range(count)
            ]
        )
    return results


def check_against_extract(saved_model_dir: str, model, texts=WARMUP_TEXTS) -> None:
    """Raises `ValueError` (so nothing is published) unless the saved signature finds in `texts` exactly the chunks
    `extract` finds."""
    served = served_chunks(tf.saved_model.load(saved_model_dir).signatures["serving_default"](text=tf.constant(texts)))
    expected = model.extract(list(texts))
    for text, got, want in zip(texts, served, expected):
        if got != want:
            raise ValueError(
                f"The exported graph finds {got} in {text[:80]!r} where extract finds {want}, so it was not "
                "published. The serving forward pass (electra_tf/export/inference_graph.py) no longer matches the "
                "model: please report it."
            )
