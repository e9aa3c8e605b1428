"""The analytical FLOPs counts: ours, checked against TensorFlow's profiler on the traced training step of `tiny`, and
google-research/electra's convention, checked against the figures its flops_computation.py gives."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import config_io
from electra_tf.export.inference_graph import InferenceClassifier
from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.models.flops import classifier_inference_flops, pretraining_flops_per_step
from electra_tf.models.flops_gr import PAPER_OUTPUT_FRAC, gr_pretraining_flops_per_step
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.training.pretraining_config import PretrainingConfig
from tests.conftest import repo_root


def einsum_flops(graph) -> int:
    """2 x the product of every index size, per Einsum op: the profiler registers no count for Einsum."""
    total = 0
    for op in graph.get_operations():
        if op.type != "Einsum":
            continue
        inputs = op.get_attr("equation").decode().split("->")[0].split(",")
        sizes = {}
        for labels, tensor in zip(inputs, op.inputs):
            sizes.update(zip(labels, tensor.shape.as_list()))
        total += 2 * int(np.prod(list(sizes.values())))
    return total


def profiled_flops(graph) -> int:
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=graph, options=options, cmd="graph").total_float_ops


def test_analytical_training_flops_match_the_profiler_for_tiny():
    config = config_io.load(PretrainingConfig, str(repo_root() / "configs" / "pretraining" / "tiny.json"))
    model = ElectraPretrainer(**config.pretrainer_kwargs())
    batch, seq_len = 4, config.max_seq_length
    predictions = config.masking.num_predictions(seq_len)
    spec = {
        name: tf.TensorSpec([batch, seq_len], tf.int32)
        for name in ("token_ids", "original_token_ids", "segment_ids", "padding_mask")
    }
    spec.update(
        mask_positions=tf.TensorSpec([batch, predictions], tf.int32),
        mask_ids=tf.TensorSpec([batch, predictions], tf.int32),
        mask_weights=tf.TensorSpec([batch, predictions], tf.float32),
        mask_token_weights=tf.TensorSpec([batch, predictions], tf.float32),
    )

    def step(inputs):  # Forward and backward: what the optimizer step costs, without the optimizer's own update.
        with tf.GradientTape() as tape:
            loss = model(inputs, training=True)["loss"]
        return tape.gradient(loss, model.trainable_variables)

    graph = tf.function(step).get_concrete_function(spec).graph
    measured = profiled_flops(graph) + einsum_flops(graph)
    analytical = pretraining_flops_per_step(
        config.encoder, config.generator_fraction, config.objective, batch, seq_len, predictions
    )
    # Measured here: analytical 2.509e9, profiler 2.551e9 (of which matmuls 2.480e9): 1.7% apart.
    assert abs(analytical / measured - 1) < 0.02, (analytical, measured)


@pytest.mark.parametrize("num_layers", [1, 3])
def test_served_classifier_flops_match_the_matmuls_it_runs(num_layers, monkeypatch):
    # The exported forward pass runs the last layer at [CLS] only: that is what the serving benchmark's floor counts.
    # Its graph slices to the longest real length, so its traced shapes are unknown: it runs eagerly here, and every
    # tf.matmul it calls is counted as 2 x output elements x the contracted size.
    config = EncoderConfig(
        vocab_size=500, hidden_size=64, num_layers=num_layers, num_heads=4, intermediate_size=128, embedding_size=32
    )
    model = InferenceClassifier(ElectraClassifier(ElectraEncoder(**vars(config)), 3))
    batch, seq_len = 2, 40
    counted, matmul = [], tf.matmul

    def counting_matmul(a, b, transpose_b=False, **kwargs):
        output = matmul(a, b, transpose_b=transpose_b, **kwargs)
        counted.append(2 * int(np.prod(output.shape)) * a.shape[-1])
        return output

    monkeypatch.setattr(tf, "matmul", counting_matmul)
    ones = tf.ones([batch, seq_len], tf.int32)
    assert model(ones, tf.zeros_like(ones), ones).shape == (batch, 3)
    assert classifier_inference_flops(config, batch, seq_len, num_outputs=3) == sum(counted)


# ELECTRA-Small and BERT-Small as flops_computation.py describes them: hidden 256, 12 layers, embeddings 128, vocab
# 30522, sequence 128, batch 128; ELECTRA's generator 1/4 wide with tied embeddings. 19 prediction slots per sequence
# (int(0.155 * 128)), as both pre-train.
SMALL = EncoderConfig()
BATCH, SEQ_LEN, PREDICTIONS = 128, 128, 19


def gr_small(objective, output_frac=PAPER_OUTPUT_FRAC, num_predictions=PREDICTIONS):
    return gr_pretraining_flops_per_step(
        SMALL, 0.25, objective, BATCH, SEQ_LEN, num_predictions, output_frac=output_frac
    )


def test_gr_convention_reproduces_flops_computations_electra_small_budget():
    # flops_computation.py: electra_small = get_electra_train_flops(256, 12, 64, 12, 128, 1e6, True, s=128, e=128),
    # prints 1.293743798272e18.
    assert gr_small("electra") * 1_000_000 == 1_293_743_798_272_000_000
    assert gr_small("electra_15") == gr_small("electra"), "ELECTRA 15%'s head still runs on every token"


def test_gr_convention_gives_flops_computations_per_token_figures_and_ratio():
    tokens = BATCH * SEQ_LEN
    electra, bert = gr_small("electra") / tokens / 1e6, gr_small("mlm") / tokens / 1e6
    assert round(electra, 1) == 79.0 and round(bert, 1) == 59.7
    assert round(electra / bert, 2) == 1.32
    # Our count of what the step runs (matmuls only, 3x forward) puts them much closer together.
    ours = [pretraining_flops_per_step(SMALL, 0.25, o, BATCH, SEQ_LEN, PREDICTIONS) for o in ("electra", "mlm")]
    assert round(ours[0] / ours[1], 2) == 1.08


def test_gr_convention_maps_each_objective_onto_its_heads():
    # Per token at hidden 256: binary head 2*256^2 + 256 + 8*256 + 2*256 = 133,888; per predicted token, the MLM
    # output 2*256*128 + 128 + (8 + 5)*128 + 2*128*30522 + (5 + 2)*30522 = 8,094,614; the copy head 2*256 + 1 = 513.
    binary, mlm_output, copy = 133_888, 8_094_614, 513
    predicted = PAPER_OUTPUT_FRAC * SEQ_LEN  # 20
    # ELECTRA and Replace MLM share the generator and the main encoder; only the main head differs.
    assert gr_small("electra") - gr_small("replace_mlm") == 2 * BATCH * (SEQ_LEN * binary - predicted * mlm_output)
    # All-Tokens MLM: the MLM output on every token instead of 20, and the copy head.
    assert gr_small("all_tokens_mlm") - gr_small("replace_mlm") == 2 * BATCH * (
        (SEQ_LEN - predicted) * mlm_output + SEQ_LEN * copy
    )


def test_gr_output_frac_defaults_to_the_runs_own_prediction_share():
    # 20 slots of 128 is the script's constant exactly; 19 (what mask_prob 0.15 gives) is one MLM output fewer.
    assert gr_small("mlm", output_frac=None, num_predictions=20) == gr_small("mlm")
    assert gr_small("mlm") - gr_small("mlm", output_frac=None) == 2 * BATCH * 8_094_614
    with pytest.raises(ValueError, match="output_frac=1.5"):
        gr_small("mlm", output_frac=1.5)
