"""The input pipeline: fixed shapes, determinism, fresh masks per epoch, exact resume, and input sharding."""

import json
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.data.pretraining_dataset import check_batch_size, pretraining_dataset
from electra_tf.tokenization.vocabulary import Vocabulary


def take(dataset, n):
    return [{k: v.numpy() for k, v in b.items()} for b in dataset.take(n)]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


def test_batches_have_fixed_shapes_and_keras_hub_keys(pretraining_data):
    dataset = pretraining_dataset(pretraining_data, batch_size=16)
    spec = dataset.element_spec
    assert spec["token_ids"].shape == (16, 128) and spec["token_ids"].dtype == tf.int32
    assert spec["padding_mask"].dtype == tf.int32
    assert spec["segment_ids"].shape == (16, 128)
    assert spec["mask_positions"].shape == (16, 19)
    assert spec["mask_weights"].dtype == tf.float32
    assert set(spec) == {
        "token_ids",
        "original_token_ids",
        "segment_ids",
        "padding_mask",
        "mask_positions",
        "mask_ids",
        "mask_weights",
        "mask_token_weights",
    }


def test_same_seed_gives_same_batches_and_other_seed_differs(pretraining_data):
    first = take(pretraining_dataset(pretraining_data, batch_size=32, seed=5), 4)
    again = take(pretraining_dataset(pretraining_data, batch_size=32, seed=5), 4)
    other = take(pretraining_dataset(pretraining_data, batch_size=32, seed=6), 4)
    assert_same(first, again)
    assert not np.array_equal(first[0]["original_token_ids"], other[0]["original_token_ids"])


def test_second_epoch_masks_each_example_anew(pretraining_data):
    metadata = PretrainingDataMetadata.load(pretraining_data)
    dataset = pretraining_dataset(pretraining_data, batch_size=metadata.num_examples // 2, seed=1, num_epochs=2)
    masks_by_example = {}
    same = total = 0
    for batch in dataset:
        for original, positions, weights in zip(
            batch["original_token_ids"].numpy(), batch["mask_positions"].numpy(), batch["mask_weights"].numpy()
        ):
            key = original.tobytes()
            mask = positions[weights > 0].tobytes()
            if key in masks_by_example:
                total += 1
                same += masks_by_example[key] == mask
            else:
                masks_by_example[key] = mask
    assert total > 0.9 * metadata.num_examples - metadata.num_examples // 2
    assert same / total < 0.05, "each epoch must draw a new mask"


def test_start_step_resumes_exactly(pretraining_data):
    metadata = PretrainingDataMetadata.load(pretraining_data)
    batch_size = 64
    steps_per_epoch = metadata.num_examples // batch_size
    uninterrupted = take(pretraining_dataset(pretraining_data, batch_size=batch_size, seed=2), steps_per_epoch + 3)
    for start in (3, steps_per_epoch - 1, steps_per_epoch + 1):
        resumed = take(pretraining_dataset(pretraining_data, batch_size=batch_size, seed=2, start_step=start), 2)
        assert_same(resumed, uninterrupted[start : start + 2])


def test_input_pipelines_split_the_global_batch(pretraining_data):
    batch_size = 32
    whole = take(pretraining_dataset(pretraining_data, batch_size=batch_size, seed=4), 3)
    parts = [
        take(
            pretraining_dataset(
                pretraining_data,
                batch_size=batch_size,
                seed=4,
                input_context=tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=i),
            ),
            3,
        )
        for i in range(2)
    ]
    for step in range(3):
        for key in whole[step]:
            merged = np.concatenate([parts[0][step][key], parts[1][step][key]])
            np.testing.assert_array_equal(merged, whole[step][key], err_msg=key)


def test_mismatched_vocabulary_or_length_is_refused(pretraining_data, vocabulary):
    other = Vocabulary(vocabulary.tokens[:-1] + ("[zzz]",))
    with pytest.raises(ValueError, match="different vocabulary"):
        pretraining_dataset(pretraining_data, batch_size=8, vocabulary=other)
    with pytest.raises(ValueError, match="max_seq_length=256"):
        pretraining_dataset(pretraining_data, batch_size=8, max_seq_length=256)
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        pretraining_dataset(pretraining_data + "_missing", batch_size=8)
    with pytest.raises(ValueError, match="does not divide"):
        pretraining_dataset(
            pretraining_data, batch_size=9, input_context=tf.distribute.InputContext(num_input_pipelines=2)
        )


def test_a_global_tensorflow_seed_changes_nothing(pretraining_data):
    expected = take(pretraining_dataset(pretraining_data, batch_size=16, seed=3), 2)
    tf.random.set_seed(1234)
    try:
        assert_same(take(pretraining_dataset(pretraining_data, batch_size=16, seed=3), 2), expected)
    finally:
        tf.random.set_seed(None)


def test_shuffling_mixes_shards_and_covers_every_example_once_per_epoch(pretraining_data):
    metadata = PretrainingDataMetadata.load(pretraining_data)
    batch_size = 50
    steps = metadata.num_examples // batch_size
    dataset = pretraining_dataset(
        pretraining_data, batch_size=batch_size, seed=9, num_epochs=1, shuffle_buffer_size=1000
    )
    batches = [batch["original_token_ids"].numpy() for batch in dataset]
    assert len(batches) == steps
    rows = {row.tobytes() for batch in batches for row in batch}
    # Identical texts (e.g. repeated headers) may collide; anything more means an example was read twice.
    assert len(rows) >= steps * batch_size - 5, "examples repeated within one epoch"


def test_truncated_or_missing_shard_is_refused_by_name(pretraining_data, tmp_path):
    data = shutil.copytree(pretraining_data, tmp_path / "data")
    metadata = PretrainingDataMetadata.load(str(data))
    first, last = (data / shard.file for shard in (metadata.shards[0], metadata.shards[-1]))
    assert metadata.shards[0].num_bytes == first.stat().st_size > 0
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    with pytest.raises(ValueError, match=rf"{first.name} has \d+ bytes, but metadata.json records .*Rebuild the data"):
        pretraining_dataset(str(data), batch_size=8)
    last.unlink()
    shutil.copy(pathlib.Path(pretraining_data) / first.name, first)
    with pytest.raises(FileNotFoundError, match=rf"{last.name} is missing"):
        PretrainingDataMetadata.load(str(data))
    # Data written before sizes were recorded still loads; only the existence of its shards is checked.
    shutil.copy(pathlib.Path(pretraining_data) / last.name, last)
    raw = json.loads((data / "metadata.json").read_text())
    for shard in raw["shards"]:
        del shard["num_bytes"]
    (data / "metadata.json").write_text(json.dumps(raw))
    assert PretrainingDataMetadata.load(str(data)).shards[0].num_bytes is None


def test_batch_size_the_split_cannot_fill_is_refused(pretraining_data):
    metadata = PretrainingDataMetadata.load(pretraining_data)
    eval_examples = metadata.shards[-1].num_examples
    check_batch_size(metadata, pretraining_data, eval_examples, "eval", holdout_shards=1)
    with pytest.raises(ValueError, match=rf"batch_size={eval_examples + 1} exceeds the {eval_examples} examples"):
        check_batch_size(metadata, pretraining_data, eval_examples + 1, "eval", holdout_shards=1)
    with pytest.raises(ValueError, match="batch_size must be positive, but received batch_size=0"):
        check_batch_size(metadata, pretraining_data, 0)
