"""The unigram baseline of masked-token prediction: what a model that ignores context scores.

A masked language model first learns the corpus's token frequencies and sits on that plateau until it starts to use
context. Its loss at the `[MASK]` slots is only evidence of learning once it is clearly below the cross-entropy of
the held-out tokens under the training tokens' unigram distribution, which this module computes from built
pre-training data.

Counted tokens are the ones masking may choose: real tokens other than `[CLS]`, `[SEP]` and `[MASK]` (`[UNK]` counts).
The training counts get add-one smoothing over those ids, so a token unseen in training costs a finite amount.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from electra_tf.data import example_codec
from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.data.pretraining_dataset import select_shards
from electra_tf.tokenization.vocabulary import CLS, MASK, PAD, SEP


@dataclasses.dataclass(frozen=True)
class UnigramBaseline:
    """Unigram figures of a pre-training data folder, in nats per token.

    Args:
        cross_entropy: float. Held-out tokens scored by the smoothed training unigram distribution: the loss of
            the best context-free predictor on held-out data, and the bar a masked LM's held-out loss is read against.
        train_entropy: float. Entropy of the training distribution itself (its loss on its own tokens).
        train_tokens: int. Counted training tokens.
        heldout_tokens: int. Counted held-out tokens.
    """

    cross_entropy: float
    train_entropy: float
    train_tokens: int
    heldout_tokens: int


def token_counts(data_dir: str, split: str = "all", holdout_shards: int = 0, batch_size: int = 2048) -> np.ndarray:
    """Counts each token id over the real tokens of a split of built pre-training data.

    Args:
        data_dir: str. A folder written by `build_pretraining_data`.
        split: str. "all", "train" or "eval", as `pretraining_dataset` reads it. Defaults to "all".
        holdout_shards: int. Shards held out by the "train" and "eval" splits. Defaults to 0.
        batch_size: int. Examples parsed per call. Defaults to 2048.

    Returns:
        int64 array of shape `(vocab_size,)`; padding is not counted.
    """
    metadata = PretrainingDataMetadata.load(data_dir)
    paths, _ = select_shards(metadata, data_dir, split, holdout_shards)
    vocab_size = metadata.tokenizer["vocab_size"]
    spec = example_codec.feature_spec(metadata.max_seq_length)
    counts = np.zeros(vocab_size, np.int64)
    records = tf.data.TFRecordDataset(paths, num_parallel_reads=min(4, len(paths))).batch(batch_size)
    for features in records.map(lambda r: tf.io.parse_example(r, spec), num_parallel_calls=tf.data.AUTOTUNE):
        ids = features["input_ids"].numpy()
        real = features["input_mask"].numpy() > 0
        counts += np.bincount(ids[real], minlength=vocab_size)[:vocab_size]
    return counts


def unigram_baseline(data_dir: str, holdout_shards: int) -> UnigramBaseline:
    """The unigram cross-entropy of the held-out shards (the last `holdout_shards`, as `bin/pretrain` evaluates on)
    under the training shards' token frequencies.

    Raises:
        ValueError: if the data cannot spare `holdout_shards` (from `select_shards`).
    """
    metadata = PretrainingDataMetadata.load(data_dir)
    train = token_counts(data_dir, "train", holdout_shards)
    heldout = token_counts(data_dir, "eval", holdout_shards)
    special = metadata.special_token_ids
    excluded = [special[CLS], special[SEP], special[MASK], special[PAD]]
    maskable = np.ones_like(train, bool)
    maskable[excluded] = False
    train, heldout = train * maskable, heldout * maskable
    smoothed = (train + maskable) / (train.sum() + maskable.sum())
    log_p = np.log(np.where(maskable, smoothed, 1.0))
    p_train = train / train.sum()
    return UnigramBaseline(
        cross_entropy=float(-(heldout * log_p).sum() / heldout.sum()),
        train_entropy=float(-(p_train[p_train > 0] * np.log(p_train[p_train > 0])).sum()),
        train_tokens=int(train.sum()),
        heldout_tokens=int(heldout.sum()),
    )
