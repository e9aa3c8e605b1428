"""Sampling from the generator, with noise keyed on (seed, step, example).

The noise of example e at step s is a fixed slice of one Philox stream (key = seed, counter = (offset, step)), so it
does not depend on how the global batch is split between replicas or workers: replica r draws the slice that starts
at its first example's index in the global batch.

`inverse_cdf_sample` is what pre-training uses: two uniforms per masked position pick a block of the vocabulary by
its probability mass, then a token inside the block. That is an exact sample of softmax(logits / temperature), like
Gumbel-max, but it draws 2 random numbers per position instead of one per vocabulary entry (30,522), and its only
full-vocabulary passes are an exp and a block sum (`docs/performance.md` has the measured times).

`gumbel_sample` is google-research/electra's sampler (`pretrain_helpers.sample_from_softmax`: Gumbel-max over
`logits / temperature`). Training does not use it; it is kept as the reference that `tests/ops/test_sampling.py`
checks `inverse_cdf_sample`'s distribution against.
"""

import tensorflow as tf

_PHILOX = 1  # tf.random.Algorithm.PHILOX
_ELEMENTS_PER_COUNTER = 4  # Philox yields four 32-bit values per counter increment.


def first_example_index(local_batch_size) -> tf.Tensor:
    """Returns the index of this replica's first example in the global batch (int64 scalar)."""
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group if context is not None else 0
    return tf.cast(replica, tf.int64) * tf.cast(local_batch_size, tf.int64)


def uniform_noise(shape: tuple[int, int, int], seed: int, step: tf.Tensor, first_example: tf.Tensor) -> tf.Tensor:
    """Uniform [0, 1) noise `(batch, positions, vocab)`, keyed on (seed, step, first_example + row).

    Args:
        shape: `(batch, positions, vocab)`; positions and vocab static, batch an int or a scalar tensor.
        seed: int. The run's seed.
        step: int scalar tensor. The global step.
        first_example: int64 scalar tensor. Global index of row 0.
    """
    batch, positions, vocab = shape
    padded_vocab = -(-vocab // _ELEMENTS_PER_COUNTER) * _ELEMENTS_PER_COUNTER
    counters_per_example = positions * padded_vocab // _ELEMENTS_PER_COUNTER
    counter = tf.stack([tf.cast(first_example, tf.int64) * counters_per_example, tf.cast(step, tf.int64)])
    noise = tf.raw_ops.StatelessRandomUniformV2(
        shape=[batch, positions, padded_vocab],
        key=tf.bitcast(tf.constant([seed], tf.int64), tf.uint64),
        counter=tf.bitcast(counter, tf.uint64),
        alg=_PHILOX,
        dtype=tf.float32,
    )
    return noise[..., :vocab]


SAMPLE_BLOCK = 128  # Vocabulary entries per block of `inverse_cdf_sample`.


def _first_above(cumulative: tf.Tensor, threshold: tf.Tensor) -> tf.Tensor:
    """Index of the first entry of the non-decreasing last axis that exceeds `threshold` (int32, last axis gone)."""
    return tf.reduce_sum(tf.cast(cumulative <= threshold, tf.int32), axis=-1)


def inverse_cdf_sample(
    logits: tf.Tensor, uniforms: tf.Tensor, temperature: float = 1.0, disallow_ids=None
) -> tf.Tensor:
    """Samples one token per row from softmax(logits / temperature) by inverting its CDF in two levels.

    Args:
        logits: `(batch, positions, vocab)`. Cast to float32; no gradient flows through the sample.
        uniforms: float32 uniform [0, 1) noise `(batch, positions, 2)`: the first picks the block, the second the
            token in it.
        temperature: float. Defaults to 1.0.
        disallow_ids: int `(batch, positions)` or None. Tokens that may not be sampled. Defaults to None.

    Returns:
        int32 `(batch, positions)`.
    """
    logits = tf.stop_gradient(tf.cast(logits, tf.float32)) / temperature
    vocab = logits.shape[-1]
    if disallow_ids is not None:
        logits -= 1e4 * tf.one_hot(disallow_ids, vocab, dtype=tf.float32)
    weights = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))  # Unnormalized; the max entry is 1.
    blocks = -(-vocab // SAMPLE_BLOCK)
    weights = tf.pad(weights, [[0, 0], [0, 0], [0, blocks * SAMPLE_BLOCK - vocab]])  # Padding has weight 0.
    weights = tf.reshape(weights, [tf.shape(weights)[0], tf.shape(weights)[1], blocks, SAMPLE_BLOCK])
    block_cdf = tf.cumsum(tf.reduce_sum(weights, axis=-1), axis=-1)  # (batch, positions, blocks)
    block = tf.minimum(_first_above(block_cdf, uniforms[..., :1] * block_cdf[..., -1:]), blocks - 1)
    inner_cdf = tf.cumsum(tf.gather(weights, block, batch_dims=2), axis=-1)  # (batch, positions, SAMPLE_BLOCK)
    # u * total < total for u < 1, so the index stays inside the block, and zero-weight entries are never chosen;
    # the clamps only guard float rounding.
    inner = tf.minimum(_first_above(inner_cdf, uniforms[..., 1:] * inner_cdf[..., -1:]), SAMPLE_BLOCK - 1)
    return tf.minimum(block * SAMPLE_BLOCK + inner, vocab - 1)


def gumbel_sample(logits: tf.Tensor, noise: tf.Tensor, temperature: float = 1.0, disallow_ids=None) -> tf.Tensor:
    """Samples one token per row from softmax(logits / temperature) by Gumbel-max.

    Args:
        logits: `(batch, positions, vocab)`. Cast to float32; no gradient flows through the sample.
        noise: float32 uniform noise of the same shape.
        temperature: float. Defaults to 1.0.
        disallow_ids: int `(batch, positions)` or None. Tokens that may not be sampled (the correct ones, when the
            generator is forced to replace). Defaults to None.

    Returns:
        int32 `(batch, positions)`.
    """
    logits = tf.stop_gradient(tf.cast(logits, tf.float32)) / temperature
    if disallow_ids is not None:
        logits -= 1e4 * tf.one_hot(disallow_ids, tf.shape(logits)[-1], dtype=tf.float32)
    gumbel = -tf.math.log(-tf.math.log(noise + 1e-9) + 1e-9)
    return tf.argmax(logits + gumbel, axis=-1, output_type=tf.int32)


def scatter_positions(token_ids: tf.Tensor, positions: tf.Tensor, values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Writes `values` into `token_ids` at `positions` where `weights` > 0.

    Args:
        token_ids: int32 `(batch, seq_len)`.
        positions: int32 `(batch, positions)`.
        values: int32 `(batch, positions)`.
        weights: float `(batch, positions)`.

    Returns:
        int32 `(batch, seq_len)`.
    """
    seq_len = token_ids.shape[1]
    used = tf.cast(weights > 0, tf.int32)[..., None]
    slots = tf.one_hot(positions, seq_len, dtype=tf.int32) * used  # (B, P, L)
    written = tf.reduce_sum(slots, axis=1) > 0
    return tf.where(written, tf.reduce_sum(slots * values[..., None], axis=1), token_ids)
