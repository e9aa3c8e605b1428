"""The saved-encoder format: what pre-training hands to fine-tuning, conversion and `--init_from`.

This module alone reads and writes it. A saved encoder is a folder:

    encoder.keras          the `ElectraEncoder` (architecture and weights)
    encoder_config.json    its `EncoderConfig`
    vocab.txt              its vocabulary
    tokenizer.json         lower_case, strip_accents, and the vocabulary's size and SHA-256
    head.json, head.npz    optional: the pre-training head ({"kind": "discriminator" | "generator", "hidden_act"} and
                           its tensors under our variable paths)

`save` writes the whole folder through a staging folder, so it appears complete or not at all; `load` checks that
the parts agree (vocabulary size and fingerprint, architecture) before returning. Fine-tuning reads only the
encoder; `bin/pretrain --init_from` and `bin/convert` read the head too.
"""

import dataclasses
import io
import json
import os
import zipfile
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from electra_tf import config_io, io_utils
from electra_tf.layers.masked_lm_head import MaskedLMHead
from electra_tf.layers.replaced_token_detection_head import ReplacedTokenDetectionHead
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.tokenization.vocabulary import VOCAB_FILE, Vocabulary

ENCODER_FILE = "encoder.keras"
CONFIG_FILE = "encoder_config.json"
TOKENIZER_FILE = "tokenizer.json"
HEAD_CONFIG = "head.json"
HEAD_WEIGHTS = "head.npz"
DISCRIMINATOR = "discriminator"
GENERATOR = "generator"
HEAD_KINDS = (DISCRIMINATOR, GENERATOR)


@dataclasses.dataclass
class SavedEncoder:
    """An encoder, its pre-training head (or None) and what turns text into its ids.

    Attributes:
        encoder: `ElectraEncoder`.
        head: `ReplacedTokenDetectionHead`, `MaskedLMHead` or None.
        kind: "discriminator", "generator" or None (no head).
        head_act: str or None. The head's activation.
        vocabulary: `Vocabulary`.
        tokenizer_settings: dict with `lower_case` and `strip_accents`.
    """

    encoder: ElectraEncoder
    vocabulary: Vocabulary
    tokenizer_settings: dict
    head: Optional[object] = None
    kind: Optional[str] = None
    head_act: Optional[str] = None


def build_head(kind: str, encoder: ElectraEncoder, hidden_act: str):
    """A fresh head of `kind` on `encoder` (the generator's output layer is tied to the encoder's token table)."""
    config = encoder.encoder_config
    if kind == DISCRIMINATOR:
        head = ReplacedTokenDetectionHead(config.hidden_size, hidden_act=hidden_act, name="discriminator_predictions")
    elif kind == GENERATOR:
        head = MaskedLMHead(
            encoder.embeddings.token_embedding,
            hidden_act=hidden_act,
            layer_norm_epsilon=config.layer_norm_epsilon,
            name="generator_predictions",
        )
    else:
        raise ValueError(f"Unknown head kind {kind!r}; expected one of {HEAD_KINDS}.")
    head.build((None, None, config.hidden_size))
    return head


def variables_by_path(layer, prefix: str = "") -> dict:
    """{path relative to `layer`: variable} (keras-hub and Keras name variables by their layer path)."""
    return {prefix + v.path: v for v in layer.weights}


def head_weights(head) -> dict:
    """The head's own variables by path (a generator head also tracks the tied token table; that is not its own)."""
    return {v.path: v for v in head.weights if v.path.startswith(head.name + "/")}


def save(saved: SavedEncoder, directory: str) -> None:
    """Writes `saved` into `directory` through a staging folder: all of it appears, or nothing. A folder already at
    `directory` is replaced."""
    encoder, vocabulary = saved.encoder, saved.vocabulary
    if vocabulary.size != encoder.encoder_config.vocab_size:
        raise ValueError(
            f"The vocabulary has {vocabulary.size} tokens but the encoder's vocab_size is "
            f"{encoder.encoder_config.vocab_size}."
        )
    with io_utils.staged_directory(directory) as staging:
        encoder.save(os.path.join(staging, ENCODER_FILE))
        config_io.save(encoder.encoder_config, os.path.join(staging, CONFIG_FILE))
        vocabulary.save(os.path.join(staging, VOCAB_FILE))
        settings = {k: saved.tokenizer_settings[k] for k in ("lower_case", "strip_accents")}
        settings.update(vocab_sha256=vocabulary.fingerprint(), vocab_size=vocabulary.size)
        io_utils.write_text_atomic(
            os.path.join(staging, TOKENIZER_FILE), json.dumps(settings, indent=2, sort_keys=True) + "\n"
        )
        if saved.head is not None:
            io_utils.write_text_atomic(
                os.path.join(staging, HEAD_CONFIG),
                json.dumps({"kind": saved.kind, "hidden_act": saved.head_act}, indent=2) + "\n",
            )
            buffer = io.BytesIO()
            np.savez(buffer, **{path: v.numpy() for path, v in head_weights(saved.head).items()})
            with tf.io.gfile.GFile(os.path.join(staging, HEAD_WEIGHTS), "wb") as f:
                f.write(buffer.getvalue())


def load(directory: str) -> SavedEncoder:
    """Reads a saved encoder folder, with its head if `head.json` is there, and checks its parts agree."""
    encoder, vocabulary, settings = load_encoder(directory)
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
    return SavedEncoder(encoder, vocabulary, settings, head, kind, head_act)


def load_encoder(directory: str) -> tuple[ElectraEncoder, Vocabulary, dict]:
    """Loads the encoder part of a saved encoder folder and checks its parts agree.

    Returns:
        The encoder, its vocabulary and its tokenizer settings.
    """
    for name in (ENCODER_FILE, CONFIG_FILE, VOCAB_FILE, TOKENIZER_FILE):
        if not tf.io.gfile.exists(os.path.join(directory, name)):
            raise FileNotFoundError(
                f"{directory} lacks {name}: it is not a saved electra_tf encoder (bin/pretrain writes them under "
                "<model_dir>/discriminator and <model_dir>/generator)."
            )
    config = config_io.load(EncoderConfig, os.path.join(directory, CONFIG_FILE))
    vocabulary = Vocabulary.load(os.path.join(directory, VOCAB_FILE))
    with tf.io.gfile.GFile(os.path.join(directory, TOKENIZER_FILE)) as f:
        settings = json.load(f)
    if vocabulary.size != config.vocab_size or settings.get("vocab_sha256") != vocabulary.fingerprint():
        raise ValueError(
            f"{directory}: {VOCAB_FILE} ({vocabulary.size} tokens) does not match {CONFIG_FILE} "
            f"(vocab_size={config.vocab_size}) or {TOKENIZER_FILE}. Re-export the encoder."
        )
    encoder = load_keras_file(os.path.join(directory, ENCODER_FILE), "Re-export the encoder.")
    if dataclasses.asdict(encoder.encoder_config) != dataclasses.asdict(config):
        raise ValueError(f"{directory}: {ENCODER_FILE} and {CONFIG_FILE} describe different architectures.")
    return encoder, vocabulary, settings


def check_sequence_length(encoder: ElectraEncoder, sequence_length: int, directory: str) -> None:
    """Refuses windows longer than the encoder's position embeddings."""
    if sequence_length > encoder.encoder_config.max_position_embeddings:
        raise ValueError(
            f"sequence_length={sequence_length} exceeds the encoder's max_position_embeddings="
            f"{encoder.encoder_config.max_position_embeddings} ({directory})."
        )


def load_keras_file(path: str, fix: str) -> keras.Model:
    """Loads a `.keras` file in Keras's safe mode, which refuses to deserialize code (Lambda layers, pickled functions).

    Args:
        path: str. The `.keras` file.
        fix: str. What the user should do when the file is damaged, for the error message.

    Raises:
        ValueError: naming the file, if it is not a `.keras` archive (a truncated copy, say).
    """
    with tf.io.gfile.GFile(path, "rb") as f:
        is_archive = zipfile.is_zipfile(f)
    if not is_archive:
        raise ValueError(f"{path} is not a .keras archive (a zip file): it is truncated or was overwritten. {fix}")
    return keras.saving.load_model(path, safe_mode=True)
