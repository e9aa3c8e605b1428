"""The span head of extractive question answering: google-research/electra's SQuAD head, or BERT's and HF's.

`joint=True` is google-research/electra's default (`joint_prediction`, `finetune/qa/qa_tasks.py`): the end logit
at position j reads `[h_start; h_j]` through a 512-wide GELU layer (computed as two matmuls, one per half), with
the gold start in training (teacher forcing) and, at inference, each of the `beam_size` most likely starts.
`joint=False` scores starts and ends independently with one dense(2) per token, as BERT and HF's
`ElectraForQuestionAnswering` (`qa_outputs`) do.

`answerable=True` adds GR's answerability classifier: `[CLS]` and the start-probability-weighted sum of the tokens
through a 512-wide GELU layer, then one logit. GR labels it with `is_impossible`, so it is a *no-answer* logit.

Positions where an answer may not start or end get -1000 added (GR's mask): the answer mask holds `[CLS]` (the
"no answer" slot), the context and its final `[SEP]`. All dense kernels start Glorot-uniform, as GR's
`tf.layers.dense` calls do.
"""

import keras
from keras import ops

from electra_tf.layers import activations

_MASKED = 1000.0


def _dense(units, name, dtype, activation=None):
    return keras.layers.Dense(units, activation=activation, kernel_initializer="glorot_uniform", dtype=dtype, name=name)


@keras.saving.register_keras_serializable(package="electra_tf")
class SpanHead(keras.layers.Layer):
    """Start and end logits over answer positions, with candidates for decoding and an optional no-answer logit.

    Args:
        joint: bool. GR's joint start-end prediction, or independent start and end logits. Defaults to True.
        answerable: bool. Whether to add the answerability (no-answer) classifier. Defaults to True.
        hidden_size: int. Width of the joint end layer and the answerability layer. Defaults to 512 (GR's).
        beam_size: int. Start candidates, and end candidates per start, kept at inference. Defaults to 20 (GR's).
        hidden_act: str. Activation of the 512-wide layers. Defaults to "gelu" (GR's exact GELU).

    Call arguments:
        sequence: float `(batch, seq_len, hidden)`, the encoder's output.
        answer_mask: int or bool `(batch, seq_len)`, true where an answer may start or end.
        start_positions: int `(batch,)` or None. The gold starts, for the joint end logits in training.

    Returns:
        dict of float32 tensors. `start_logits` `(batch, seq_len)`, masked. `end_logits` `(batch, seq_len)`: for a
        joint head, only given `start_positions`. Without `start_positions`: `start_top_scores` and
        `start_top_index` `(batch, k)`, `end_top_scores` and `end_top_index` `(batch, k, k)` with k =
        min(beam_size, seq_len), the candidates decoding reads (log-probabilities for a joint head, as GR; raw logits
        otherwise, as BERT). `no_answer_logit` `(batch,)` with `answerable`.
    """

    def __init__(self, joint=True, answerable=True, hidden_size=512, beam_size=20, hidden_act="gelu", **kwargs):
        super().__init__(**kwargs)
        self.joint, self.answerable = bool(joint), bool(answerable)
        self.hidden_size, self.beam_size, self.hidden_act = int(hidden_size), int(beam_size), hidden_act
        act = activations.get(hidden_act)
        if self.joint:
            self.start_dense = _dense(1, "start_dense", self.dtype_policy)
            self.end_hidden = _dense(self.hidden_size, "end_hidden", self.dtype_policy, act)
            self.end_dense = _dense(1, "end_dense", self.dtype_policy)
        else:
            self.qa_outputs = _dense(2, "qa_outputs", self.dtype_policy)
        if self.answerable:
            self.answerable_hidden = _dense(self.hidden_size, "answerable_hidden", self.dtype_policy, act)
            self.answerable_dense = _dense(1, "answerable_dense", self.dtype_policy)

    def build(self, sequence_shape, answer_mask_shape=None, start_positions_shape=None):
        width = sequence_shape[-1]
        if self.joint:
            self.start_dense.build(sequence_shape)
            self.end_hidden.build((None, None, 2 * width))
            self.end_dense.build((None, None, self.hidden_size))
        else:
            self.qa_outputs.build(sequence_shape)
        if self.answerable:
            self.answerable_hidden.build((None, 2 * width))
            self.answerable_dense.build((None, self.hidden_size))
        self.built = True

    def call(self, sequence, answer_mask, start_positions=None):
        penalty = (1.0 - ops.cast(answer_mask, "float32")) * _MASKED
        if self.joint:
            start_logits = ops.cast(ops.squeeze(self.start_dense(sequence), -1), "float32") - penalty
        else:
            both = ops.cast(self.qa_outputs(sequence), "float32")
            start_logits, end_logits = both[..., 0] - penalty, both[..., 1] - penalty
        outputs = {"start_logits": start_logits}
        if self.answerable:
            outputs["no_answer_logit"] = self._no_answer_logit(sequence, start_logits)
        if self.joint and start_positions is not None:
            starts = ops.take_along_axis(sequence, ops.reshape(start_positions, (-1, 1, 1)), axis=1)  # (B, 1, H)
            outputs["end_logits"] = self._joint_end_logits(sequence, starts, penalty[:, None, :])[:, 0, :]
        elif not self.joint:
            outputs["end_logits"] = end_logits
        if start_positions is None:
            outputs.update(self._candidates(sequence, outputs, penalty))
        return outputs

    def _joint_end_logits(self, sequence, starts, penalty):
        """End logits `(B, S, L)` for `S` start vectors `starts` `(B, S, H)`.

        `[h_start; h_j] @ W` is computed as `h_start @ W_top + h_j @ W_bottom`: the same layer and weights, without
        a `(B, S, L, 2H)` concatenation (at inference S is the beam, 20)."""
        width = sequence.shape[-1]
        kernel = ops.cast(self.end_hidden.kernel, sequence.dtype)
        bias = ops.cast(self.end_hidden.bias, sequence.dtype)
        from_start = ops.matmul(starts, kernel[:width])[:, :, None, :]  # (B, S, 1, hidden_size)
        from_token = ops.matmul(sequence, kernel[width:])[:, None, :, :]  # (B, 1, L, hidden_size)
        hidden = self.end_hidden.activation(from_start + from_token + bias)
        return ops.cast(ops.squeeze(self.end_dense(hidden), -1), "float32") - penalty

    def _candidates(self, sequence, outputs, penalty):
        k = min(self.beam_size, sequence.shape[1]) if sequence.shape[1] is not None else self.beam_size
        if not self.joint:  # BERT: the best raw start and end logits, each end paired with each start.
            start_scores, start_index = ops.top_k(outputs["start_logits"], k)
            end_scores, end_index = ops.top_k(outputs["end_logits"], k)
            tile = lambda t: ops.repeat(ops.expand_dims(t, 1), k, axis=1)  # noqa: E731
            return _named(start_scores, start_index, tile(end_scores), tile(end_index))
        start_log_probs = ops.log_softmax(outputs["start_logits"], axis=-1)
        start_scores, start_index = ops.top_k(start_log_probs, k)
        starts = ops.take_along_axis(sequence, ops.expand_dims(start_index, -1), axis=1)  # (B, k, H)
        end_log_probs = ops.log_softmax(self._joint_end_logits(sequence, starts, penalty[:, None, :]), axis=-1)
        end_scores, end_index = ops.top_k(end_log_probs, k)
        return _named(start_scores, start_index, end_scores, end_index)

    def _no_answer_logit(self, sequence, start_logits):
        weights = ops.softmax(start_logits, axis=-1)  # GR's answerable_uses_start_logits, with no stop-gradient.
        pooled = ops.einsum("bl,blh->bh", ops.cast(weights, sequence.dtype), sequence)
        hidden = self.answerable_hidden(ops.concatenate([sequence[:, 0, :], pooled], axis=-1))
        return ops.cast(ops.squeeze(self.answerable_dense(hidden), -1), "float32")

    def get_config(self):
        return {
            **super().get_config(),
            "joint": self.joint,
            "answerable": self.answerable,
            "hidden_size": self.hidden_size,
            "beam_size": self.beam_size,
            "hidden_act": self.hidden_act,
        }


def _named(start_scores, start_index, end_scores, end_index) -> dict:
    return {
        "start_top_scores": start_scores,
        "start_top_index": ops.cast(start_index, "int32"),
        "end_top_scores": end_scores,
        "end_top_index": ops.cast(end_index, "int32"),
    }
