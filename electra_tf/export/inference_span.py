"""`ElectraQuestionAnswerer`'s inference forward pass for serving: `InferenceEncoder` at every position, then the
`SpanHead`'s candidates on plain variables.

It computes what `SpanHead` computes without `start_positions`. Two rewrites save work, not change results beyond
float rounding: the joint end layer's `[h_start; h_j] @ W` is split into `h_start @ W_top + h_j @ W_bottom` (no
`(batch, k, length, 2 x hidden)` concatenation), and the windows are cut to their longest real sequence (the cut
positions are masked and can never be answers). `qa_serving.check_against_predict` holds the served answers to
`predict`'s before an export is published.
"""

import tensorflow as tf

from electra_tf.export.inference_graph import InferenceEncoder, plain_variable

_MASKED = 1000.0  # SpanHead's mask: google-research/electra's.


class InferenceQuestionAnswerer(tf.Module):
    """The question answerer's encoder and span head, for serving.

    Args:
        model: `ElectraQuestionAnswerer`. Read once.
        compute_dtype: "float32" or "bfloat16" for the encoder. Defaults to "float32".

    Call with int32 `token_ids`, `segment_ids` and `padding_mask` `(windows, seq_len)`; returns the `SpanHead`'s
    inference outputs: `start_top_scores`, `start_top_index`, `end_top_scores`, `end_top_index` and, with the
    answerability classifier, `no_answer_logit`.
    """

    def __init__(self, model, compute_dtype: str = "float32"):
        super().__init__(name="inference_question_answerer")
        self.encoder = InferenceEncoder(model.encoder, compute_dtype)
        head = model.head
        self.joint, self.answerable, self.beam_size = head.joint, head.answerable, head.beam_size
        self.approximate_gelu = head.hidden_act == "gelu_tanh"
        width = model.encoder.encoder_config.hidden_size
        weights = {}
        if self.joint:
            end_kernel = head.end_hidden.kernel.numpy()
            weights.update(
                start=(head.start_dense.kernel.numpy()[:, 0], head.start_dense.bias.numpy()[0]),
                end_hidden_start=(end_kernel[:width], head.end_hidden.bias.numpy()),
                end_hidden_token=(end_kernel[width:], None),
                end=(head.end_dense.kernel.numpy()[:, 0], head.end_dense.bias.numpy()[0]),
            )
        else:
            weights.update(qa_outputs=(head.qa_outputs.kernel.numpy(), head.qa_outputs.bias.numpy()))
        if self.answerable:
            weights.update(
                answerable_hidden=(head.answerable_hidden.kernel.numpy(), head.answerable_hidden.bias.numpy()),
                answerable=(head.answerable_dense.kernel.numpy()[:, 0], head.answerable_dense.bias.numpy()[0]),
            )
        self.weights = {
            name: tuple(None if v is None else plain_variable(v, f"{name}_{i}") for i, v in enumerate(pair))
            for name, pair in weights.items()
        }

    def _gelu(self, x):
        return tf.nn.gelu(x, approximate=self.approximate_gelu)

    def __call__(self, token_ids, segment_ids, padding_mask):
        sequence = self.encoder(token_ids, segment_ids, padding_mask)  # (W, length, H), cut to the longest window.
        length = tf.shape(sequence)[1]
        answer_mask = tf.cast(padding_mask[:, :length], tf.float32) * tf.cast(segment_ids[:, :length], tf.float32)
        answer_mask = tf.maximum(answer_mask, tf.one_hot(0, length)[tf.newaxis, :])
        penalty = (1.0 - answer_mask) * _MASKED
        k = tf.minimum(self.beam_size, length)
        if self.joint:
            kernel, bias = self.weights["start"]
            start_logits = tf.linalg.matvec(sequence, kernel) + bias - penalty
            start_scores, start_index = tf.math.top_k(tf.nn.log_softmax(start_logits), k)
            starts = tf.gather(sequence, start_index, batch_dims=1)  # (W, k, H)
            top, bias = self.weights["end_hidden_start"]
            bottom, _ = self.weights["end_hidden_token"]
            hidden = tf.matmul(starts, top)[:, :, tf.newaxis, :] + tf.matmul(sequence, bottom)[:, tf.newaxis, :, :]
            kernel, end_bias = self.weights["end"]
            end_logits = tf.linalg.matvec(self._gelu(hidden + bias), kernel) + end_bias - penalty[:, tf.newaxis, :]
            end_scores, end_index = tf.math.top_k(tf.nn.log_softmax(end_logits), k)
        else:
            kernel, bias = self.weights["qa_outputs"]
            both = tf.matmul(sequence, kernel) + bias
            start_logits, end_logits = both[..., 0] - penalty, both[..., 1] - penalty
            start_scores, start_index = tf.math.top_k(start_logits, k)
            end_scores, end_index = tf.math.top_k(end_logits, k)
            end_scores = tf.repeat(end_scores[:, tf.newaxis, :], k, axis=1)
            end_index = tf.repeat(end_index[:, tf.newaxis, :], k, axis=1)
        outputs = {
            "start_top_scores": start_scores,
            "start_top_index": tf.cast(start_index, tf.int32),
            "end_top_scores": end_scores,
            "end_top_index": tf.cast(end_index, tf.int32),
        }
        if self.answerable:
            pooled = tf.einsum("wl,wlh->wh", tf.nn.softmax(start_logits), sequence)
            kernel, bias = self.weights["answerable_hidden"]
            hidden = self._gelu(tf.matmul(tf.concat([sequence[:, 0], pooled], -1), kernel) + bias)
            kernel, bias = self.weights["answerable"]
            outputs["no_answer_logit"] = tf.linalg.matvec(hidden, kernel) + bias
        return outputs
