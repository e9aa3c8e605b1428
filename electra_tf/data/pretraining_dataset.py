"""The pre-training input pipeline: shards -> shuffled examples -> batches -> on-the-fly masking.

Every example has a stable id (shard index << 32 | record index). The stream is a fixed function of the seed:
epoch e reads the shards in an order drawn from (seed, e), interleaves them, and shuffles windows of
`shuffle_buffer_size` examples with permutations drawn from (seed, e, window). Masks are drawn with stateless ops keyed
on (seed, epoch, example id). So:

- `start_step=s` gives exactly the batches (and masks) that steps s, s+1, ... of an uninterrupted run would see;
- with `input_context`, input pipeline i of n takes the i-th contiguous slice of each global batch, so the per-worker
  batches at step s concatenate to the single-process batch at step s, and no example is used twice in an epoch.
  Contiguous slices are also what MirroredStrategy gives each replica, so an example's index in the global batch
  (which keys the generator's sampling noise) does not depend on the number of workers.

Batches are fixed-shape (`drop_remainder=True`), ready for TPUs and XLA.
"""

from typing import Optional

import tensorflow as tf

from electra_tf.data import example_codec, masking
from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.tokenization.vocabulary import CLS, MASK, PAD, SEP, Vocabulary

_ID_SHIFT = 1 << 32
_MAX_SEED = 1 << 31


def _epoch_examples(
    files: tf.Tensor, seed: int, epoch: tf.Tensor, shuffle_buffer_size: int, cycle_length: int
) -> tf.data.Dataset:
    """Returns (epoch, example id, serialized example) for one pass over the data, in a seeded order."""
    epoch_seed = tf.stack([tf.constant(seed, tf.int64), epoch])
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.size(files, out_type=tf.int64)), seed=epoch_seed)
    shards = tf.data.Dataset.from_tensor_slices((tf.gather(files, order), order))

    def read_shard(path, shard_index):
        records = tf.data.TFRecordDataset(path).enumerate()
        return records.map(lambda i, record: (shard_index * _ID_SHIFT + i, record))

    examples = shards.interleave(
        read_shard, cycle_length=cycle_length, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    if shuffle_buffer_size > 1:
        # A stateless shuffle of consecutive windows. `Dataset.shuffle` cannot take this per-epoch tensor seed when
        # the user has set a global seed (tf.random.set_seed), and its order could not be recomputed on resume.
        def permute(window_index, window):
            ids, records = window
            key = tf.stack([tf.constant(seed, tf.int64) * _ID_SHIFT + epoch, window_index])
            order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(ids)[0]), seed=key)
            return tf.gather(ids, order), tf.gather(records, order)

        examples = examples.batch(shuffle_buffer_size).enumerate().map(permute).unbatch()
    return examples.map(lambda example_id, record: (epoch, example_id, record))


def select_shards(
    metadata: PretrainingDataMetadata, data_dir: str, split: str, holdout_shards: int
) -> tuple[list[str], int]:
    """Returns the shard paths and example count of a split ("all", "train" or "eval")."""
    shards = list(zip(metadata.shard_paths(data_dir), (s.num_examples for s in metadata.shards)))
    if split == "all":
        chosen = shards
    elif split in ("train", "eval"):
        if not 0 < holdout_shards < len(shards):
            raise ValueError(
                f"A {split!r} split needs 0 < holdout_shards < {len(shards)} (the shards in {data_dir}), but received "
                f"holdout_shards={holdout_shards}. Rebuild the data with more shards or hold out none."
            )
        chosen = shards[:-holdout_shards] if split == "train" else shards[-holdout_shards:]
    else:
        raise ValueError(f"split must be 'all', 'train' or 'eval', but received split={split!r}.")
    return [path for path, _ in chosen], sum(count for _, count in chosen)


def usable_holdout_shards(metadata: PretrainingDataMetadata, requested: int) -> int:
    """The shards a run holds out for evaluation: `requested`, or 0 when the data has too few shards to spare them
    (training then reads every shard, and there is no evaluation split)."""
    return requested if len(metadata.shards) > requested > 0 else 0


def check_batch_size(
    metadata: PretrainingDataMetadata, data_dir: str, batch_size: int, split: str = "all", holdout_shards: int = 0
) -> None:
    """Raises `ValueError` unless `batch_size` is positive and no larger than the examples of `split`.

    `pretraining_dataset` checks this itself; a run calls it for every split it will read (training and evaluation)
    before it writes anything, so that a batch the data cannot fill fails at once rather than at the final evaluation.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, but received batch_size={batch_size}.")
    _, num_examples = select_shards(metadata, data_dir, split, holdout_shards)
    if batch_size > num_examples:
        raise ValueError(
            f"batch_size={batch_size} exceeds the {num_examples} examples of the {split!r} split of {data_dir}; with "
            "drop_remainder every batch would be dropped. Use a smaller batch or more data."
        )


def pretraining_dataset(
    data_dir: str,
    batch_size: int,
    masking_config: masking.MaskingConfig = masking.MaskingConfig(),
    seed: int = 0,
    start_step: int = 0,
    num_epochs: Optional[int] = None,
    shuffle_buffer_size: int = 10_000,
    cycle_length: int = 8,
    vocabulary: Optional[Vocabulary] = None,
    max_seq_length: Optional[int] = None,
    input_context: Optional[tf.distribute.InputContext] = None,
    split: str = "all",
    holdout_shards: int = 0,
) -> tf.data.Dataset:
    """Reads pre-training TFRecords and yields masked batches.

    Args:
        data_dir: str. A folder written by `build_pretraining_data` (shards plus `metadata.json`).
        batch_size: int. The global batch size.
        masking_config: `MaskingConfig`.
        seed: int. Seed of shuffling and masking, in [0, 2**31). Defaults to 0.
        start_step: int. Global step to start at; earlier batches are skipped without being masked. Defaults to 0.
        num_epochs: int or None. Passes over the data; None repeats forever. Defaults to None.
        shuffle_buffer_size: int. Examples per shuffled window; 1 or 0 disables shuffling. Defaults to 10000.
        cycle_length: int. Shards read in parallel. Defaults to 8.
        vocabulary: `Vocabulary` or None. If given, must be the one the data was built with. Defaults to None.
        max_seq_length: int or None. If given, must match the data. Defaults to None.
        input_context: `tf.distribute.InputContext` or None. Splits the global batch between input pipelines.
            Defaults to None.
        split: str. "all" shards, "train" (all but the last `holdout_shards`) or "eval" (the last `holdout_shards`).
            Defaults to "all".
        holdout_shards: int. Shards held out for evaluation by the "train" and "eval" splits. Defaults to 0.

    Returns:
        A `tf.data.Dataset` of dicts, each tensor with a fixed leading dimension of the per-pipeline batch size:
        `token_ids` (masked), `original_token_ids`, `segment_ids`, `padding_mask` (int32 `(batch, seq_len)`,
        1 on real tokens), `mask_positions`, `mask_ids` (int32 `(batch, num_predictions)`), `mask_weights` and
        `mask_token_weights` (float32 `(batch, num_predictions)`: the used slots, and those holding `[MASK]`).
    """
    metadata = PretrainingDataMetadata.load(data_dir)
    metadata.check_compatible(vocabulary, max_seq_length, source=data_dir)
    if not 0 <= seed < _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**31), but received seed={seed}.")
    check_batch_size(metadata, data_dir, batch_size, split, holdout_shards)
    if start_step < 0:
        raise ValueError(f"start_step must be non-negative, but received start_step={start_step}.")
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    if batch_size % num_pipelines:
        raise ValueError(f"batch_size={batch_size} does not divide evenly between {num_pipelines} input pipelines.")

    shard_paths, num_examples = select_shards(metadata, data_dir, split, holdout_shards)
    examples = _examples_from(
        shard_paths, num_examples, start_step * batch_size, seed, num_epochs, shuffle_buffer_size, cycle_length
    )
    seq_len = metadata.max_seq_length

    def with_noise(epoch, example_id, record):
        key = tf.stack([tf.constant(seed, tf.int64) * _ID_SHIFT + epoch, example_id])
        return record, tf.random.stateless_uniform([masking.NOISE_ROWS, seq_len], seed=key)

    batches = examples.map(with_noise, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    batches = batches.batch(batch_size, drop_remainder=True)
    if num_pipelines > 1:
        per_pipeline = batch_size // num_pipelines
        begin = pipeline_id * per_pipeline
        batches = batches.map(
            lambda records, noise: (records[begin : begin + per_pipeline], noise[begin : begin + per_pipeline])
        )
    batches = batches.map(
        _parse_and_mask_fn(metadata, masking_config), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return batches.prefetch(tf.data.AUTOTUNE)


def _examples_from(
    shard_paths: list,
    num_examples: int,
    first_example: int,
    seed: int,
    num_epochs: Optional[int],
    shuffle_buffer_size: int,
    cycle_length: int,
) -> tf.data.Dataset:
    """(epoch, example id, serialized record) from the global example `first_example` on: every epoch's order is a
    function of the seed and the epoch, so a resumed run reads what an unbroken one would have."""
    files = tf.constant(shard_paths)
    start_epoch = first_example // num_examples
    end_epoch = num_epochs if num_epochs is not None else 1 << 62  # Counted from epoch 0, so resuming ends alike.
    examples = tf.data.Dataset.range(start_epoch, end_epoch).flat_map(
        lambda epoch: _epoch_examples(files, seed, epoch, shuffle_buffer_size, min(cycle_length, len(shard_paths)))
    )
    return examples.skip(first_example % num_examples)


def _parse_and_mask_fn(metadata: PretrainingDataMetadata, masking_config: masking.MaskingConfig):
    """The batch function: parses the records and masks them with their noise."""
    special = metadata.special_token_ids
    spec = example_codec.feature_spec(metadata.max_seq_length)

    def parse_and_mask(records, noise):
        features = tf.io.parse_example(records, spec)
        token_ids = tf.cast(features["input_ids"], tf.int32)
        padding_mask = features["input_mask"] > 0
        masked = masking.mask_tokens(
            token_ids,
            padding_mask,
            noise,
            masking_config,
            mask_token_id=special[MASK],
            unmaskable_ids=[special[CLS], special[SEP], special[PAD], special[MASK]],
            vocab_size=metadata.tokenizer["vocab_size"],
        )
        return {
            **masked,
            "original_token_ids": token_ids,
            "segment_ids": tf.cast(features["segment_ids"], tf.int32),
            # int32, not bool: Keras's fit under a distribution strategy MEAN-reduces a first batch to build the
            # model, which fails on bool tensors.
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }

    return parse_and_mask
