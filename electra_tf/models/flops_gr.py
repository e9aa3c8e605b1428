"""Pre-training FLOPs in google-research/electra's convention: its `flops_computation.py`, behind the paper's
compute comparisons.

That script gives ELECTRA-Small (1M steps) 1.2937e18 FLOPs, 79.0 MFLOP per token, and BERT-Small 59.7. It differs from
`flops.py`, the count of what our step runs (checked against TensorFlow's profiler), in four ways:

- a training step is 2x the forward pass (the backward pass is taken to cost as much as the forward), not 3x;
- element-wise work is counted: dropout 4, layer norm 5, GELU 8 and softmax 5 FLOPs per element, biases, residual
  additions and the attention scale 1;
- embedding lookups are dense one-hot matmuls: 2·e·v per token for the token table, 2·e·(seq_len + segments) for the
  position and segment tables;
- the MLM output (dense + GELU + layer norm, tied table, softmax, picking the target) is counted on `output_frac` of
  the tokens, and a discriminator's binary head on every token.

A matrix multiply-add is 2 FLOPs in both counts. The per-element costs below are GR's.
"""

from typing import Optional

from electra_tf import objectives
from electra_tf.networks.encoder_config import EncoderConfig

DROPOUT = 4  # Random number, compare, apply the mask, rescale.
LAYER_NORM = 5  # Mean, variance (square and sum), scale, shift.
GELU = 8  # The tanh approximation.
SOFTMAX = 5  # Max, subtract, exp, sum, divide.
PAPER_OUTPUT_FRAC = 0.15625  # GR's script's default share, used for all its BERT and ELECTRA rows (20 of 128 tokens).


def layer_forward_flops(config: EncoderConfig, seq_len: int) -> int:
    """Forward FLOPs of one transformer layer, per token."""
    h, i, heads = config.hidden_size, config.intermediate_size, config.num_heads
    attention = (
        3 * (2 * h * h + h)  # Query, key and value projections with their biases.
        + 2 * h * seq_len  # Scores.
        + (SOFTMAX + DROPOUT + 1) * heads * seq_len  # Softmax, dropout and 1/sqrt(d) scale of every head's scores.
        + 2 * h * seq_len  # Weighted sum of the values.
        + 2 * h * h
        + h
        + DROPOUT * h
        + h  # Output projection, bias, dropout, residual.
        # GR counts this layer norm as LAYER_NORM in all (`attn_output_layer_norm`, no factor h, unlike the
        # feed-forward's): a quirk kept so that the script's figures are reproduced exactly (it is 1,275 FLOPs per
        # token and layer at hidden size 256).
        + LAYER_NORM
    )
    feed_forward = (
        2 * h * i
        + i
        + GELU * i  # Intermediate dense, bias, GELU.
        + 2 * i * h
        + h
        + DROPOUT * h
        + h
        + LAYER_NORM * h  # Output dense, bias, dropout, residual, layer norm.
    )
    return attention + feed_forward


def input_embedding_forward_flops(config: EncoderConfig, seq_len: int) -> int:
    """Forward FLOPs of the embeddings (one-hot matmuls, sum, layer norm, dropout, projection), per token."""
    e, h = config.resolved_embedding_size, config.hidden_size
    flops = 2 * e * config.vocab_size  # Token table.
    flops += 2 * e * (seq_len + config.type_vocab_size)  # Position and segment tables.
    flops += 2 * e + (LAYER_NORM + DROPOUT) * e  # Adding the three, layer norm, dropout.
    if e != h:
        flops += 2 * e * h + h  # Projection to the hidden width, with its bias.
    return flops


def encoder_forward_flops(config: EncoderConfig, seq_len: int) -> int:
    """Forward FLOPs of one encoder (embeddings and every layer), per sequence."""
    per_token = config.num_layers * layer_forward_flops(config, seq_len) + input_embedding_forward_flops(
        config, seq_len
    )
    return seq_len * per_token


def mlm_output_forward_flops(hidden_size: int, config: EncoderConfig) -> int:
    """Forward FLOPs of the MLM output of a `hidden_size`-wide encoder tied to `config`'s embeddings, per predicted
    token: dense to the embedding width, GELU, layer norm, the tied table, softmax, and the one-hot product that picks
    the target's log-probability."""
    e, v = config.resolved_embedding_size, config.vocab_size
    return 2 * hidden_size * e + e + (GELU + LAYER_NORM) * e + 2 * e * v + (SOFTMAX + 2) * v


def binary_head_forward_flops(hidden_size: int) -> int:
    """Forward FLOPs of the discriminator's head (dense, bias, GELU, one logit), per token."""
    return 2 * hidden_size * hidden_size + hidden_size + GELU * hidden_size + 2 * hidden_size


def copy_head_forward_flops(hidden_size: int) -> int:
    """Forward FLOPs of All-Tokens MLM's copy head (one logit with its bias), per token."""
    return 2 * hidden_size + 1


def gr_pretraining_flops_per_step(
    config: EncoderConfig,
    generator_fraction: float,
    objective: str,
    batch_size: int,
    seq_len: int,
    num_predictions: int,
    output_frac: Optional[float] = None,
) -> int:
    """Training FLOPs of one step of `objective`, in google-research/electra's convention.

    Each objective is counted as GR counts the model it builds: ELECTRA (and ELECTRA 15%, whose head still runs on
    every token) as a discriminator with the binary head plus a generator with the MLM output, its embeddings tied
    to the discriminator's; MLM as one model with the MLM output (GR's BERT); Replace MLM as the generator plus a
    main model with the MLM output; All-Tokens MLM as the generator plus a main model with the MLM output on every
    token (output_frac 1) and the copy head.

    Args:
        config: `EncoderConfig`. The discriminator (or main model).
        generator_fraction: float. Generator hidden size as a fraction of the discriminator's.
        objective: str. A name in `electra_tf.objectives.OBJECTIVES`.
        batch_size: int. Sequences per step.
        seq_len: int. Tokens per sequence.
        num_predictions: int. Masked-position slots per sequence (`MaskingConfig.num_predictions`).
        output_frac: float or None. Share of the tokens that go through the MLM output ("percent of tokens using
            an output softmax", GR's definition). None means `num_predictions / seq_len`: the share this run
            predicts, which follows its `mask_prob` (19/128 at 0.15). GR's script uses the constant 0.15625
            (`PAPER_OUTPUT_FRAC`, 20/128) for all its BERT and ELECTRA rows, Large's mask_prob 0.25 included;
            pass it to reproduce the script's figures. Defaults to None.

    Returns:
        int. Training FLOPs (2x the forward pass) of one step.
    """
    kind = objectives.get(objective)
    if output_frac is None:
        output_frac = num_predictions / seq_len
    if not 0.0 <= output_frac <= 1.0:
        raise ValueError(f"output_frac must be in [0, 1], but received output_frac={output_frac}.")
    predicted = output_frac * seq_len  # Per sequence; GR multiplies the per-token cost by output_frac * seq_len.
    h = config.hidden_size
    forward = encoder_forward_flops(config, seq_len)
    if kind.main_head == "rtd":
        forward += seq_len * binary_head_forward_flops(h)
    elif kind.main_head == "mlm":
        forward += predicted * mlm_output_forward_flops(h, config)
    else:  # mlm_copy: every token, plus the copy head.
        forward += seq_len * (mlm_output_forward_flops(h, config) + copy_head_forward_flops(h))
    if kind.uses_generator:
        generator = config.generator(generator_fraction)
        forward += encoder_forward_flops(generator, seq_len) + predicted * mlm_output_forward_flops(
            generator.hidden_size, config
        )
    return round(2 * batch_size * forward)
