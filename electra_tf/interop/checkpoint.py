"""A converted checkpoint in electra_tf's form: a saved encoder folder plus the weights of its pre-training head.

    <dir>/encoder.keras, encoder_config.json, vocab.txt, tokenizer.json   (as `models.saving` writes them)
    <dir>/head.json     {"kind": "discriminator" | "generator", "hidden_act": ...}
    <dir>/head.npz      the head's tensors under our names (see `name_mapping`)

Fine-tuning reads only the encoder; `bin/pretrain --init_from` reads the heads too.
"""

import dataclasses
import io
import json
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from electra_tf import io_utils
from electra_tf.interop import name_mapping
from electra_tf.layers.masked_lm_head import MaskedLMHead
from electra_tf.layers.replaced_token_detection_head import ReplacedTokenDetectionHead
from electra_tf.models import saving

HEAD_CONFIG = "head.json"
HEAD_WEIGHTS = "head.npz"
DISCRIMINATOR = "discriminator"
GENERATOR = "generator"


@dataclasses.dataclass
class Converted:
    """An encoder, its head (or None) and what turns text into its ids."""

    encoder: object
    head: Optional[object]
    kind: str
    head_act: str
    vocabulary: object
    tokenizer_settings: dict


def build_head(kind: str, encoder, hidden_act: str):
    """A fresh head of `kind` on `encoder` (the generator's output layer is tied to the encoder's token table)."""
    config = encoder.encoder_config
    if kind == DISCRIMINATOR:
        head = ReplacedTokenDetectionHead(config.hidden_size, hidden_act=hidden_act, name="discriminator_predictions")
        head.build((None, None, config.hidden_size))
    elif kind == GENERATOR:
        head = MaskedLMHead(encoder.embeddings.token_embedding, hidden_act=hidden_act,
                            layer_norm_epsilon=config.layer_norm_epsilon, name="generator_predictions")
        head.build((None, None, config.hidden_size))
    else:
        raise ValueError(f"Unknown head kind {kind!r}; expected 'discriminator' or 'generator'.")
    return head


def head_rows(kind: str) -> list:
    return name_mapping.DISCRIMINATOR_HEAD_ROWS if kind == DISCRIMINATOR else name_mapping.GENERATOR_HEAD_ROWS


def variables_by_path(layer, prefix: str = "") -> dict:
    """{path relative to `layer`: variable} (keras-hub and Keras name variables by their layer path)."""
    return {prefix + v.path: v for v in layer.weights}


def head_weights(head) -> dict:
    """The head's own variables by path (a generator head also tracks the tied token table; that is not its own)."""
    return {v.path: v for v in head.weights if v.path.startswith(head.name + "/")}


def save_head(head, kind: str, hidden_act: str, directory: str) -> None:
    """Writes `head.json` and `head.npz` beside a saved encoder."""
    io_utils.write_text_atomic(
        os.path.join(directory, HEAD_CONFIG), json.dumps({"kind": kind, "hidden_act": hidden_act}, indent=2) + "\n"
    )
    buffer = io.BytesIO()
    np.savez(buffer, **{path: v.numpy() for path, v in head_weights(head).items()})
    with io_utils.atomic_output(os.path.join(directory, HEAD_WEIGHTS), "wb") as f:
        f.write(buffer.getvalue())


def save(converted: Converted, directory: str) -> None:
    """Writes a converted checkpoint into `directory` through a staging folder: all of it appears, or nothing."""
    with io_utils.staged_directory(directory) as staging:
        saving.save_encoder(converted.encoder, staging, converted.vocabulary, converted.tokenizer_settings)
        if converted.head is not None:
            save_head(converted.head, converted.kind, converted.head_act, staging)


def load(directory: str) -> Converted:
    """Reads a saved encoder folder, with its head if `head.json` is there."""
    encoder, vocabulary, settings = saving.load_encoder(directory)
    head, kind, head_act = None, None, encoder.encoder_config.hidden_act
    config_path = os.path.join(directory, HEAD_CONFIG)
    if tf.io.gfile.exists(config_path):
        head_config = io_utils.read_json(config_path)
        kind, head_act = head_config["kind"], head_config["hidden_act"]
        head = build_head(kind, encoder, head_act)
        with tf.io.gfile.GFile(os.path.join(directory, HEAD_WEIGHTS), "rb") as f:
            arrays = np.load(io.BytesIO(f.read()), allow_pickle=False)
            weights = head_weights(head)
            missing = sorted(set(weights) - set(arrays.files))
            if missing:
                raise ValueError(f"{directory}/{HEAD_WEIGHTS} lacks {missing}.")
            for path, variable in weights.items():
                variable.assign(arrays[path])
    return Converted(encoder, head, kind, head_act, vocabulary, settings)
