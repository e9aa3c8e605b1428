"""Losses whose denominators are global counts across replicas, so the loss is the same on 1 device or N.

Each replica returns `local_sum / global_count`; summing those across replicas (what the optimizer does with
gradients) gives exactly the single-device loss and gradient.
"""

import tensorflow as tf


def global_sum(x: tf.Tensor) -> tf.Tensor:
    """Sums `x` over the replicas in sync (identity without a distribution strategy)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_reduce(tf.distribute.ReduceOp.SUM, x)


def weighted_mean(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Returns this replica's share of the global weighted mean: sum(values * weights) / global sum(weights)."""
    values = tf.cast(values, tf.float32)
    weights = tf.cast(weights, tf.float32)
    return tf.reduce_sum(values * weights) / tf.maximum(global_sum(tf.reduce_sum(weights)), 1e-6)


def masked_lm_loss(logits: tf.Tensor, labels: tf.Tensor, weights: tf.Tensor, report_weights: tf.Tensor):
    """Softmax cross-entropy at the masked positions.

    Args:
        logits: float32 `(batch, positions, vocab)`.
        labels: int `(batch, positions)`.
        weights: `(batch, positions)`, 1.0 on used slots.
        report_weights: `(batch, positions)`, 1.0 on the slots of a second mean, reported and not trained on (the
            slots holding `[MASK]`).

    Returns:
        This replica's share of the global mean loss; its share of the global mean over `report_weights`; and
        float32 `(batch, positions)` correctness (1.0 where the argmax is the label).
    """
    per_position = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), tf.cast(labels, tf.int32)), tf.float32)
    reported = weighted_mean(tf.stop_gradient(per_position), report_weights)
    return weighted_mean(per_position, weights), reported, correct


def replaced_token_detection_loss(logits: tf.Tensor, labels: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Sigmoid cross-entropy of the replaced-token labels.

    Args:
        logits: float32 `(batch, seq_len)`.
        labels: bool or float `(batch, seq_len)`, true where the token was replaced.
        weights: `(batch, seq_len)`, 1.0 where the loss counts (real tokens).
    """
    per_token = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32), logits=logits)
    return weighted_mean(per_token, weights)
