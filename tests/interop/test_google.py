"""Google's TF1 checkpoint format: a checkpoint written here with the original variable names, from HF weights by
HF's own renaming rules (not our table), imports and matches PyTorch."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.interop import checkpoint, google

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.interop

COMMON = dict(embedding_size=24, num_hidden_layers=2, hidden_act="gelu_new")


def _google_names(state: dict, scope: str) -> dict:
    """HF state-dict names -> TF1 names, inverting transformers' load_tf_weights_in_electra; kernels back to (in, out)."""
    tensors = {}
    for name, value in state.items():
        value = value.numpy()
        if name.endswith("position_ids") or name.endswith("token_type_ids") or name == "generator_lm_head.weight":
            continue
        tf_name = name.replace("electra.", f"{scope}/").replace("encoder.layer.", "encoder/layer_").replace(".", "/")
        tf_name = tf_name.replace(f"{scope}/embeddings/", "electra/embeddings/")  # Embeddings are shared, under electra/.
        tf_name = tf_name.replace("dense_prediction", "dense_1").replace("generator_lm_head/bias", "generator_predictions/output_bias")
        if tf_name.endswith("_embeddings/weight"):
            tf_name = tf_name[: -len("/weight")]
        elif tf_name.endswith("LayerNorm/weight"):
            tf_name = tf_name[: -len("weight")] + "gamma"
        elif tf_name.endswith("LayerNorm/bias"):
            tf_name = tf_name[: -len("bias")] + "beta"
        elif tf_name.endswith("/weight"):
            tf_name, value = tf_name[: -len("weight")] + "kernel", value.T
        tensors[tf_name] = value
    return tensors


@pytest.fixture(scope="module")
def google_checkpoint(vocabulary, vocab_file, tmp_path_factory):
    torch.manual_seed(1)
    discriminator = transformers.ElectraForPreTraining(transformers.ElectraConfig(
        vocab_size=vocabulary.size, hidden_size=64, num_attention_heads=4, intermediate_size=128, **COMMON)).eval()
    generator = transformers.ElectraForMaskedLM(transformers.ElectraConfig(
        vocab_size=vocabulary.size, hidden_size=32, num_attention_heads=1, intermediate_size=64, **COMMON)).eval()
    generator.electra.embeddings = discriminator.electra.embeddings  # One table, as in Google's checkpoints...
    generator.generator_lm_head.weight = discriminator.electra.embeddings.word_embeddings.weight  # ...tied to the output.
    tensors = {**_google_names(discriminator.state_dict(), "electra"), **_google_names(generator.state_dict(), "generator")}
    directory = tmp_path_factory.mktemp("google")
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=value) for name, value in sorted(tensors.items())]
        variables += [tf.compat.v1.get_variable(v.op.name + "/adam_m", initializer=tf.zeros_like(v.initial_value)) for v in variables[:3]]
        variables.append(tf.compat.v1.train.get_or_create_global_step())
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = tf.compat.v1.train.Saver(variables).save(session, str(directory / "model.ckpt"), global_step=7)
    return discriminator, generator, prefix, tensors


def _inputs(vocab_size):
    rng = np.random.default_rng(2)
    ids = rng.integers(5, vocab_size, (2, 20)).astype("int32")
    mask = np.ones_like(ids)
    mask[0, 15:] = 0
    return ids, np.zeros_like(ids), mask


def _torch(model, ids, segments, mask):
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids).long(), token_type_ids=torch.tensor(segments).long(),
                    attention_mask=torch.tensor(mask).long(), output_hidden_states=True)
    return out.hidden_states[-1].numpy(), out.logits.numpy()


def test_discriminator_and_generator_import(google_checkpoint, vocabulary, vocab_file):
    discriminator, generator, prefix, _ = google_checkpoint
    ids, segments, mask = _inputs(vocabulary.size)
    real = mask.astype(bool)
    imported = google.load_google(prefix, vocab_file, checkpoint.DISCRIMINATOR, num_heads=4)
    hidden = imported.encoder({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})["sequence_output"]
    their_hidden, their_logits = _torch(discriminator, ids, segments, mask)
    assert np.abs(hidden.numpy() - their_hidden)[real].max() <= 1e-4
    assert np.abs(imported.head(hidden).numpy() - their_logits)[real].max() <= 1e-4

    imported = google.load_google(str(prefix.rsplit("/", 1)[0]), vocab_file, checkpoint.GENERATOR)  # A folder works too.
    assert imported.encoder.encoder_config.num_heads == 1 and imported.encoder.embeddings_projection is not None
    hidden = imported.encoder({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})["sequence_output"]
    their_hidden, their_logits = _torch(generator, ids, segments, mask)
    assert np.abs(hidden.numpy() - their_hidden)[real].max() <= 1e-4
    # Google's generator head uses the tanh GELU and HF's the exact one, so the logits agree only to ~1e-3.
    assert np.abs(imported.head(hidden).numpy() - their_logits)[real].max() <= 5e-3


def test_missing_variable_is_named(google_checkpoint, vocab_file, tmp_path):
    _, _, _, tensors = google_checkpoint
    tensors = dict(tensors)
    del tensors["electra/encoder/layer_1/output/dense/bias"]
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=value) for name, value in sorted(tensors.items())]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = tf.compat.v1.train.Saver(variables).save(session, str(tmp_path / "model.ckpt"))
    with pytest.raises(ValueError, match=r"lacks 1 tensor\(s\) the model needs: \['electra/encoder/layer_1/output/dense/bias'\]"):
        google.load_google(prefix, vocab_file, checkpoint.DISCRIMINATOR, num_heads=4)
    with pytest.raises(ValueError, match="Pass num_heads"):
        google.load_google(prefix, vocab_file, checkpoint.DISCRIMINATOR)
