"""The span head: GR's joint start-end prediction and answerability classifier, and HF's independent logits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.layers.span_head import SpanHead


def _inputs(batch=3, length=12, width=8, seed=0):
    rng = np.random.default_rng(seed)
    sequence = tf.constant(rng.normal(size=(batch, length, width)), tf.float32)
    answer_mask = np.zeros((batch, length), np.int32)
    answer_mask[:, 0] = 1
    answer_mask[:, 5:10] = 1  # [CLS], then a context of 4 tokens and its final [SEP].
    return sequence, tf.constant(answer_mask)


def test_joint_candidates_are_the_teacher_forced_end_logits_of_each_start():
    keras.utils.set_random_seed(1)
    head = SpanHead(hidden_size=16, beam_size=4)
    sequence, answer_mask = _inputs()
    inference = head(sequence, answer_mask)
    start_log_probs = tf.nn.log_softmax(inference["start_logits"]).numpy()
    for beam in range(4):
        starts = inference["start_top_index"][:, beam]
        np.testing.assert_allclose(
            inference["start_top_scores"][:, beam].numpy(), start_log_probs[np.arange(3), starts.numpy()], rtol=1e-6
        )
        forced = head(sequence, answer_mask, start_positions=starts)["end_logits"]
        expected = tf.math.top_k(tf.nn.log_softmax(forced), 4)
        np.testing.assert_allclose(inference["end_top_scores"][:, beam].numpy(), expected.values.numpy(), atol=1e-5)
        np.testing.assert_array_equal(inference["end_top_index"][:, beam].numpy(), expected.indices.numpy())
    # Masked positions are 1000 below: the top starts are the 5 allowed positions, best first.
    assert set(inference["start_top_index"].numpy().ravel()) <= {0, 5, 6, 7, 8, 9}
    assert (inference["start_logits"].numpy()[:, 1:5] < -900).all()
    assert inference["no_answer_logit"].shape == (3,)


def test_answerability_reads_cls_and_the_start_weighted_tokens():
    keras.utils.set_random_seed(2)
    head = SpanHead(hidden_size=16)
    sequence, answer_mask = _inputs()
    outputs = head(sequence, answer_mask)
    weights = tf.nn.softmax(outputs["start_logits"])
    pooled = tf.einsum("bl,blh->bh", weights, sequence)
    hidden = head.answerable_hidden(tf.concat([sequence[:, 0], pooled], -1))
    np.testing.assert_allclose(
        outputs["no_answer_logit"].numpy(), head.answerable_dense(hidden)[:, 0].numpy(), rtol=1e-5
    )


def test_independent_head_is_one_dense_of_two_as_hf_qa_outputs():
    keras.utils.set_random_seed(3)
    head = SpanHead(joint=False, answerable=False, beam_size=3)
    sequence, answer_mask = _inputs()
    outputs = head(sequence, answer_mask)
    kernel, bias = head.qa_outputs.get_weights()
    raw = sequence.numpy() @ kernel + bias
    penalty = (1 - answer_mask.numpy()) * 1000.0
    np.testing.assert_allclose(outputs["start_logits"].numpy(), raw[..., 0] - penalty, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(outputs["end_logits"].numpy(), raw[..., 1] - penalty, rtol=1e-5, atol=1e-3)
    assert "no_answer_logit" not in outputs
    # BERT's candidates: the best raw starts, each paired with the best raw ends.
    assert outputs["end_top_index"].shape == (3, 3, 3)
    np.testing.assert_array_equal(outputs["end_top_index"][:, 0].numpy(), outputs["end_top_index"][:, 2].numpy())


@pytest.mark.parametrize("joint", [True, False])
def test_config_round_trip(joint):
    head = SpanHead(joint=joint, answerable=not joint, hidden_size=32, beam_size=5)
    clone = SpanHead.from_config(head.get_config())
    assert (clone.joint, clone.answerable, clone.hidden_size, clone.beam_size) == (joint, not joint, 32, 5)
