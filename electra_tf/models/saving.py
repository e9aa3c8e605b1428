"""Saved encoders: what pre-training hands to fine-tuning.

A saved encoder is a folder:

- `encoder.keras`: the `ElectraEncoder` (architecture and weights);
- `encoder_config.json`: its `EncoderConfig`;
- `vocab.txt` and `tokenizer.json` (lower_case, strip_accents): what turns text into its ids.

`load_encoder` checks that the three agree (vocabulary size and fingerprint) before returning.
"""

import dataclasses
import json
import os
import zipfile

import keras
import tensorflow as tf

from electra_tf import config_io, io_utils
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.tokenization.vocabulary import Vocabulary

ENCODER_FILE = "encoder.keras"
CONFIG_FILE = "encoder_config.json"
VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"


def save_encoder(encoder: ElectraEncoder, directory: str, vocabulary: Vocabulary, tokenizer_settings: dict) -> None:
    """Writes `encoder` with its vocabulary and tokenizer settings; each file is written atomically."""
    if vocabulary.size != encoder.encoder_config.vocab_size:
        raise ValueError(
            f"The vocabulary has {vocabulary.size} tokens but the encoder's vocab_size is "
            f"{encoder.encoder_config.vocab_size}."
        )
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, ENCODER_FILE)
    tmp = io_utils.temporary_path(path) + ".keras"
    encoder.save(tmp)
    tf.io.gfile.rename(tmp, path, overwrite=True)
    config_io.save(encoder.encoder_config, os.path.join(directory, CONFIG_FILE))
    vocabulary.save(os.path.join(directory, VOCAB_FILE))
    settings = dict(tokenizer_settings, vocab_sha256=vocabulary.fingerprint(), vocab_size=vocabulary.size)
    io_utils.write_text_atomic(os.path.join(directory, TOKENIZER_FILE), json.dumps(settings, indent=2, sort_keys=True) + "\n")


def load_encoder(directory: str) -> tuple[ElectraEncoder, Vocabulary, dict]:
    """Loads a saved encoder folder and checks its parts agree.

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
            f"{directory}: vocab.txt ({vocabulary.size} tokens) does not match encoder_config.json "
            f"(vocab_size={config.vocab_size}) or tokenizer.json. Re-export the encoder."
        )
    encoder = load_keras_file(os.path.join(directory, ENCODER_FILE), "Re-export the encoder.")
    if dataclasses.asdict(encoder.encoder_config) != dataclasses.asdict(config):
        raise ValueError(f"{directory}: encoder.keras and encoder_config.json describe different architectures.")
    return encoder, vocabulary, settings


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
