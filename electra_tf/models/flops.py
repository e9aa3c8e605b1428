"""Analytical FLOPs of a pre-training step, generator and its head included.

Only matrix multiplications are counted (2 FLOPs per multiply-add); a training step is 3x the forward pass (the
backward pass costs about twice the forward). Softmax, LayerNorm, GELU and the sampling are left out: they are a
few percent at these sizes.
"""

from electra_tf import objectives
from electra_tf.networks.encoder_config import EncoderConfig


def encoder_forward_flops(config: EncoderConfig, batch_size: int, seq_len: int) -> int:
    """Forward FLOPs of one encoder (embedding projection and transformer layers)."""
    h, i = config.hidden_size, config.intermediate_size
    per_token_layer = 2 * 4 * h * h + 2 * 2 * seq_len * h + 2 * 2 * h * i  # QKV + output, scores + context, FFN.
    per_token = config.num_layers * per_token_layer
    if config.resolved_embedding_size != h:
        per_token += 2 * config.resolved_embedding_size * h
    return batch_size * seq_len * per_token


def mlm_head_forward_flops(hidden_size: int, config: EncoderConfig, num_positions: int) -> int:
    """Forward FLOPs of an MLM head over `num_positions` positions (dense to embeddings, then the tied table)."""
    e = config.resolved_embedding_size
    return num_positions * (2 * hidden_size * e + 2 * e * config.vocab_size)


def pretraining_flops_per_step(
    config: EncoderConfig,
    generator_fraction: float,
    objective: str,
    batch_size: int,
    seq_len: int,
    num_predictions: int,
) -> int:
    """Training FLOPs of one step of `objective` (forward and backward, every network included)."""
    kind = objectives.get(objective)
    forward = encoder_forward_flops(config, batch_size, seq_len)
    h = config.hidden_size
    if kind.uses_generator:
        generator = config.generator(generator_fraction)
        forward += encoder_forward_flops(generator, batch_size, seq_len)
        forward += mlm_head_forward_flops(generator.hidden_size, config, batch_size * num_predictions)
    if kind.main_head == "rtd":
        forward += batch_size * seq_len * (2 * h * h + 2 * h)
    elif kind.main_head == "mlm":
        forward += mlm_head_forward_flops(h, config, batch_size * num_predictions)
    else:  # mlm_copy: every token, plus the copy head.
        forward += mlm_head_forward_flops(h, config, batch_size * seq_len) + batch_size * seq_len * 2 * h
    return 3 * forward


def classifier_inference_flops(config: EncoderConfig, batch_size: int, seq_len: int, num_outputs: int = 2) -> int:
    """Forward FLOPs of the exported classifier (`export.inference_graph.InferenceClassifier`): every layer but the
    last on every position; the last layer's keys and values on every position, its query, attention, output
    projection and feed-forward block at `[CLS]` only; then the dense head."""
    h, i = config.hidden_size, config.intermediate_size
    every_position = encoder_forward_flops(config, batch_size, seq_len)
    last_layer_everywhere = batch_size * seq_len * (2 * 4 * h * h + 2 * 2 * seq_len * h + 2 * 2 * h * i)
    last_layer = batch_size * (seq_len * 2 * 2 * h * h + 2 * 2 * h * h + 2 * 2 * seq_len * h + 2 * 2 * h * i)
    return every_position - last_layer_everywhere + last_layer + batch_size * 2 * h * num_outputs
