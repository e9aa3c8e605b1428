"""Tiny model configurations for fast tests on real text."""

import pytest

from electra_tf.data.pretraining_dataset import pretraining_dataset

MICRO_ENCODER = dict(
    vocab_size=30522,
    hidden_size=64,
    num_layers=2,
    num_heads=2,
    intermediate_size=128,
    embedding_size=32,
    dropout=0.0,
)


@pytest.fixture(scope="session")
def batches(pretraining_data):
    """Eight real masked batches of 8 x 128."""
    dataset = pretraining_dataset(pretraining_data, batch_size=8, seed=11)
    return [batch for batch in dataset.take(8)]
