"""ELECTRA's masking rule, applied on the fly in tf.data (a fresh mask every time an example is seen).

Per example, with n real tokens (`padding_mask` true, `[CLS]`/`[SEP]` included, as in google-research/electra):

- k = max(1, min(max_predictions, round(mask_prob * n))) *distinct* positions are drawn without replacement among
  the tokens that may be masked (never `[CLS]`, `[SEP]`, `[MASK]` or padding);
- of the chosen positions, `mask_token_ratio` become `[MASK]`, `random_token_ratio` become a random token, and the
  rest keep the original token. ELECTRA's default is 85% `[MASK]`, 15% kept, no random tokens.

All randomness comes from a noise tensor that the caller draws with stateless ops keyed on (seed, epoch, example),
so a mask is a pure function of those three: a resumed run sees the masks an uninterrupted one would have seen.
"""

import dataclasses
from typing import Optional, Sequence

import tensorflow as tf

from electra_tf.ops import sampling

NOISE_ROWS = 3  # Position scores, replacement choice, random token.


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
    """How many tokens to mask, and what to put in their place.

    Args:
        mask_prob: float. Share of real tokens to mask. Defaults to 0.15.
        max_predictions: int or None. Most masked positions per example; None means
            `int((mask_prob + 0.005) * max_seq_length)`, as ELECTRA computes it. Defaults to None.
        mask_token_ratio: float. Share of masked positions replaced by `[MASK]`. Defaults to 0.85.
        random_token_ratio: float. Share replaced by a random token; the rest keep the original. Defaults to 0.0.
    """

    mask_prob: float = 0.15
    max_predictions: Optional[int] = None
    mask_token_ratio: float = 0.85
    random_token_ratio: float = 0.0

    def __post_init__(self):
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError(f"mask_prob must be in (0, 1), but received mask_prob={self.mask_prob}.")
        if (
            self.mask_token_ratio < 0
            or self.random_token_ratio < 0
            or self.mask_token_ratio + self.random_token_ratio > 1
        ):
            raise ValueError(
                "mask_token_ratio and random_token_ratio must be non-negative and sum to at most 1, but received "
                f"mask_token_ratio={self.mask_token_ratio}, random_token_ratio={self.random_token_ratio}."
            )
        if self.max_predictions is not None and self.max_predictions < 1:
            raise ValueError(f"max_predictions must be positive, but received max_predictions={self.max_predictions}.")

    def num_predictions(self, max_seq_length: int) -> int:
        """Returns the number of prediction slots per example (`max_predictions`, resolved)."""
        if self.max_predictions is not None:
            return min(self.max_predictions, max_seq_length)
        return max(1, min(max_seq_length, int((self.mask_prob + 0.005) * max_seq_length)))


def mask_tokens(
    token_ids: tf.Tensor,
    padding_mask: tf.Tensor,
    noise: tf.Tensor,
    config: MaskingConfig,
    mask_token_id: int,
    unmaskable_ids: Sequence[int],
    vocab_size: int,
) -> dict[str, tf.Tensor]:
    """Masks a batch.

    Args:
        token_ids: int32 `(batch, seq_len)`.
        padding_mask: bool `(batch, seq_len)`, true on real tokens.
        noise: float32 `(batch, 3, seq_len)`, uniform in [0, 1), drawn per example.
        config: `MaskingConfig`.
        mask_token_id: int. Id of `[MASK]`.
        unmaskable_ids: list of int. Ids never masked (`[CLS]`, `[SEP]`, `[PAD]`, `[MASK]`).
        vocab_size: int. Random replacement tokens are drawn from [0, vocab_size).

    Returns:
        A dict with `token_ids` (masked, int32 `(batch, seq_len)`), `mask_positions` (int32
        `(batch, num_predictions)`, ascending, 0 where unused), `mask_ids` (the original tokens there, 0 where
        unused), `mask_weights` (float32, 1.0 on used slots) and `mask_token_weights` (float32, 1.0 on the used
        slots that hold `[MASK]`: where a prediction cannot be copied from the input).
    """
    seq_len = token_ids.shape[1]
    num_predictions = config.num_predictions(seq_len)
    maskable = tf.logical_and(padding_mask, ~tf.reduce_any(token_ids[..., None] == tf.constant(unmaskable_ids), -1))

    # k distinct positions: the k highest random scores among maskable tokens (Gumbel-top-k style, no replacement).
    num_real = tf.reduce_sum(tf.cast(padding_mask, tf.float32), axis=-1)  # (B,)
    num_to_mask = tf.cast(tf.round(num_real * config.mask_prob), tf.int32)
    num_to_mask = tf.clip_by_value(num_to_mask, 1, num_predictions)
    scores = tf.where(maskable, noise[:, 0, :], -1.0)
    top_scores, positions = tf.math.top_k(scores, k=num_predictions)  # (B, P)
    used = tf.logical_and(tf.sequence_mask(num_to_mask, num_predictions), top_scores >= 0.0)
    positions = tf.sort(tf.where(used, positions, seq_len), axis=-1)  # Used slots first, ascending.
    used = positions < seq_len
    positions = tf.where(used, positions, 0)
    mask_ids = tf.where(used, tf.gather(token_ids, positions, batch_dims=1), 0)

    # What replaces each chosen token: [MASK], a random token, or the token itself.
    choice = noise[:, 1, :num_predictions]
    random_ids = tf.cast(noise[:, 2, :num_predictions] * vocab_size, tf.int32)
    replacement = tf.where(
        choice < config.mask_token_ratio,
        mask_token_id,
        tf.where(choice < config.mask_token_ratio + config.random_token_ratio, random_ids, mask_ids),
    )
    is_mask_token = tf.equal(replacement, mask_token_id)  # A random replacement may draw [MASK] too.
    return {
        "token_ids": sampling.scatter_positions(token_ids, positions, replacement, tf.cast(used, tf.float32)),
        "mask_positions": positions,
        "mask_ids": mask_ids,
        "mask_weights": tf.cast(used, tf.float32),
        "mask_token_weights": tf.cast(tf.logical_and(used, is_mask_token), tf.float32),
    }
