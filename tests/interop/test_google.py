"""Google's TF1 checkpoint format: a checkpoint written here with the original variable names, from HF weights by
HF's own renaming rules (not our table), imports and matches PyTorch on real text.

google-research/electra computes the exact (erf) GELU in the encoder and both heads (`modeling.gelu`), which is HF's
`hidden_act="gelu"`: the HF models here use it, so an import must match them to float32 round-off."""

import csv

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.interop import google
from electra_tf.models import saving
from electra_tf.tokenization.tokenizer import WordPieceTokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.interop

# Weights of stddev 0.1 (not HF's 0.02) put the feed-forward pre-activations near the unit scale of a trained model,
# where the two GELUs differ: a tanh-GELU import then misses by about 1e-3, while an exact one agrees to ~1e-6.
COMMON = dict(embedding_size=24, num_hidden_layers=2, hidden_act="gelu", initializer_range=0.1)


def _google_names(state: dict, scope: str) -> dict:
    """HF state-dict names -> TF1 names, inverting transformers' load_tf_weights_in_electra; kernels back to
    (in, out)."""
    tensors = {}
    for name, value in state.items():
        value = value.numpy()
        if name.endswith("position_ids") or name.endswith("token_type_ids") or name == "generator_lm_head.weight":
            continue
        tf_name = name.replace("electra.", f"{scope}/").replace("encoder.layer.", "encoder/layer_").replace(".", "/")
        tf_name = tf_name.replace(
            f"{scope}/embeddings/", "electra/embeddings/"
        )  # Embeddings are shared, under electra/.
        tf_name = tf_name.replace("dense_prediction", "dense_1").replace(
            "generator_lm_head/bias", "generator_predictions/output_bias"
        )
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
    discriminator = transformers.ElectraForPreTraining(
        transformers.ElectraConfig(
            vocab_size=vocabulary.size, hidden_size=64, num_attention_heads=4, intermediate_size=128, **COMMON
        )
    ).eval()
    generator = transformers.ElectraForMaskedLM(
        transformers.ElectraConfig(
            vocab_size=vocabulary.size, hidden_size=32, num_attention_heads=1, intermediate_size=64, **COMMON
        )
    ).eval()
    generator.electra.embeddings = discriminator.electra.embeddings  # One table, as in Google's checkpoints...
    generator.generator_lm_head.weight = (
        discriminator.electra.embeddings.word_embeddings.weight
    )  # ...tied to the output.
    tensors = {
        **_google_names(discriminator.state_dict(), "electra"),
        **_google_names(generator.state_dict(), "generator"),
    }
    directory = tmp_path_factory.mktemp("google")
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=value) for name, value in sorted(tensors.items())]
        variables += [
            tf.compat.v1.get_variable(v.op.name + "/adam_m", initializer=tf.zeros_like(v.initial_value))
            for v in variables[:3]
        ]
        variables.append(tf.compat.v1.train.get_or_create_global_step())
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = tf.compat.v1.train.Saver(variables).save(session, str(directory / "model.ckpt"), global_step=7)
    return discriminator, generator, prefix, tensors


def _rte_batch(glue_dir, vocabulary, num_pairs=6, max_length=64):
    """The first RTE dev pairs as `[CLS] a [SEP] b [SEP]`, each side cut to fit, padded to the longest."""
    with open(glue_dir / "RTE" / "dev.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:num_pairs]
    tokenizer = WordPieceTokenizer(vocabulary)
    firsts = tokenizer.tokenize(tf.constant([row["sentence1"] for row in rows])).to_list()
    seconds = tokenizer.tokenize(tf.constant([row["sentence2"] for row in rows])).to_list()
    pieces = []
    for a, b in zip(firsts, seconds):
        a, b = a[: max_length - 3 - min(len(b), 16)], b[:16]
        pieces.append(([vocabulary.cls_id, *a, vocabulary.sep_id], [*b, vocabulary.sep_id]))
    length = max(len(a) + len(b) for a, b in pieces)
    ids, segments, mask = (np.zeros((len(pieces), length), "int32") for _ in range(3))
    for i, (a, b) in enumerate(pieces):
        ids[i, : len(a) + len(b)] = a + b
        segments[i, len(a) : len(a) + len(b)] = 1
        mask[i, : len(a) + len(b)] = 1
    assert mask.sum(-1).min() < length and vocabulary.unk_id not in ids[mask == 1]  # Padding, and known words.
    return ids, segments, mask


def _torch(model, ids, segments, mask):
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(ids).long(),
            token_type_ids=torch.tensor(segments).long(),
            attention_mask=torch.tensor(mask).long(),
            output_hidden_states=True,
        )
    return out.hidden_states[-1].numpy(), out.logits.numpy()


def _ours(imported, ids, segments, mask):
    hidden = imported.encoder({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})["sequence_output"]
    return hidden.numpy(), imported.head(hidden).numpy()


def _assert_close(ours, theirs, real, what):
    """Max abs difference over real (unpadded) tokens within 1e-5."""
    assert ours.shape == theirs.shape, what
    diff = float(np.abs(ours - theirs)[real].max())
    assert diff <= 1e-5, f"{what}: max abs difference {diff:.2e}"


def test_discriminator_and_generator_import_match_pytorch_on_real_text(
    google_checkpoint, vocabulary, vocab_file, glue_dir
):
    discriminator, generator, prefix, _ = google_checkpoint
    ids, segments, mask = _rte_batch(glue_dir, vocabulary)
    real = mask.astype(bool)

    imported = google.load_google(prefix, vocab_file, saving.DISCRIMINATOR, num_heads=4)
    assert imported.encoder.encoder_config.hidden_act == "gelu" and imported.head_act == "gelu"
    hidden, logits = _ours(imported, ids, segments, mask)
    their_hidden, their_logits = _torch(discriminator, ids, segments, mask)
    _assert_close(hidden, their_hidden, real, "discriminator hidden states")
    _assert_close(logits, their_logits, real, "discriminator logits")

    imported = google.load_google(str(prefix.rsplit("/", 1)[0]), vocab_file, saving.GENERATOR)  # A folder works too.
    assert imported.encoder.encoder_config.num_heads == 1 and imported.encoder.embeddings_projection is not None
    assert imported.encoder.encoder_config.hidden_act == "gelu" and imported.head_act == "gelu"
    hidden, logits = _ours(imported, ids, segments, mask)
    their_hidden, their_logits = _torch(generator, ids, segments, mask)
    assert logits.shape == ids.shape + (vocabulary.size,)  # MLM logits over the whole vocabulary.
    _assert_close(hidden, their_hidden, real, "generator hidden states")
    _assert_close(logits, their_logits, real, "generator MLM logits")


def test_missing_variable_is_named(google_checkpoint, vocab_file, tmp_path):
    _, _, _, tensors = google_checkpoint
    tensors = dict(tensors)
    del tensors["electra/encoder/layer_1/output/dense/bias"]
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=value) for name, value in sorted(tensors.items())]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = tf.compat.v1.train.Saver(variables).save(session, str(tmp_path / "model.ckpt"))
    with pytest.raises(
        ValueError, match=r"lacks 1 tensor\(s\) the model needs: \['electra/encoder/layer_1/output/dense/bias'\]"
    ):
        google.load_google(prefix, vocab_file, saving.DISCRIMINATOR, num_heads=4)
    with pytest.raises(ValueError, match="Pass num_heads"):
        google.load_google(prefix, vocab_file, saving.DISCRIMINATOR)
