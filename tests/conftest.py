"""Shared fixtures: the real data (through ELECTRA_DATA_DIR), a learned vocabulary, and a built data folder."""

import os
import pathlib
import sys

import pytest

from electra_tf import settings

# A slice of the corpus, cut at a document boundary: big enough for real statistics, small enough for CI.
_SLICE_BYTES = 1_500_000


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    path = settings.data_dir()
    if not (path / "corpus").is_dir():
        pytest.fail(
            f"The shared data is not at {path}. Set {settings.DATA_DIR_ENV} to the folder holding corpus/ and glue/."
        )
    return path


@pytest.fixture(scope="session")
def corpus_10mb(data_dir) -> str:
    return str(data_dir / "corpus" / "gutenberg_10MB.txt")


@pytest.fixture(scope="session")
def glue_dir(data_dir) -> pathlib.Path:
    return data_dir / "glue"


@pytest.fixture(scope="session")
def corpus_slice(corpus_10mb, tmp_path_factory) -> str:
    """The first ~1.5 MB of gutenberg_10MB.txt, ending at a document boundary (several books)."""
    raw = pathlib.Path(corpus_10mb).read_bytes()
    end = raw.find(b"\n\n", _SLICE_BYTES)
    path = tmp_path_factory.mktemp("corpus") / "slice.txt"
    path.write_bytes(raw[: end + 2])
    return str(path)


@pytest.fixture(scope="session")
def vocab_file(corpus_10mb, tmp_path_factory) -> str:
    """A lower-cased 30522-token vocabulary learned from gutenberg_10MB.txt (about 2 s)."""
    from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    learn_wordpiece_vocab([corpus_10mb]).save(str(path))
    return str(path)


@pytest.fixture(scope="session")
def vocabulary(vocab_file):
    from electra_tf.tokenization.vocabulary import Vocabulary

    return Vocabulary.load(vocab_file)


@pytest.fixture(scope="session")
def pretraining_data(corpus_slice, vocab_file, tmp_path_factory) -> str:
    """Pre-training TFRecords built from the corpus slice with default settings."""
    from electra_tf.data.pretraining_data_builder import build_pretraining_data

    output = tmp_path_factory.mktemp("pretraining") / "data"
    build_pretraining_data([corpus_slice], vocab_file, str(output), num_workers=1, show_progress=False)
    return str(output)


@pytest.fixture(scope="session")
def micro_config(tmp_path_factory) -> str:
    """configs/pretraining/tiny.json shrunk to a micro encoder and 40 steps of batch 8: a pre-training run in
    seconds."""
    import dataclasses

    from electra_tf import config_io
    from electra_tf.training.pretraining_config import PretrainingConfig
    from tests.models.conftest import MICRO_ENCODER

    base = config_io.load(PretrainingConfig, str(repo_root() / "configs" / "pretraining" / "tiny.json"))
    config = dataclasses.replace(
        base,
        encoder=dataclasses.replace(base.encoder, **MICRO_ENCODER),
        optimizer=dataclasses.replace(base.optimizer, learning_rate=1e-3, warmup_steps=5),
        train_batch_size=8,
        eval_batch_size=8,
        eval_steps=2,
        num_train_steps=40,
        checkpoint_every=10,
        log_every=5,
    )
    path = tmp_path_factory.mktemp("config") / "micro.json"
    config_io.save(config, str(path))
    return str(path)


def pretrain_command(config, data, model_dir) -> list:
    """The bin/pretrain command line for a config, data folder and model_dir."""
    return [
        sys.executable,
        str(repo_root() / "bin" / "pretrain"),
        f"--config={config}",
        f"--train_data={data}",
        f"--model_dir={model_dir}",
    ]


def repo_root() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parent.parent


def subprocess_env() -> dict:
    """The environment for running bin/ programs from tests."""
    env = dict(os.environ)
    env.setdefault(settings.DATA_DIR_ENV, str(settings.data_dir()))
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


@pytest.fixture(scope="session")
def saved_encoder(vocabulary, tmp_path_factory) -> str:
    """A randomly initialised micro encoder saved the way bin/pretrain saves its discriminator."""
    import keras

    from electra_tf.models import saving
    from electra_tf.networks.electra_encoder import ElectraEncoder
    from electra_tf.tokenization.tokenizer import tokenizer_settings

    keras.utils.set_random_seed(3)
    encoder = ElectraEncoder(
        vocab_size=vocabulary.size,
        hidden_size=64,
        num_layers=2,
        num_heads=2,
        intermediate_size=128,
        embedding_size=32,
        dropout=0.0,
    )
    directory = tmp_path_factory.mktemp("encoder") / "discriminator"
    saving.save(saving.SavedEncoder(encoder, vocabulary, tokenizer_settings(vocabulary, True, None)), str(directory))
    return str(directory)


@pytest.fixture(scope="session")
def mrpc_export(saved_encoder, tmp_path_factory):
    """An MRPC-style (pair) classifier on `saved_encoder` and its TF Serving export: (classifier, version folder)."""
    from electra_tf.export import serving
    from electra_tf.models.electra_classifier import ElectraClassifier

    classifier = ElectraClassifier.from_pretrained(
        saved_encoder, num_outputs=2, labels=["not_equivalent", "equivalent"], pair=True, sequence_length=64
    )
    path = serving.export_classifier(classifier, str(tmp_path_factory.mktemp("export") / "mrpc"), model_name="mrpc")
    return classifier, path
