"""Google's original ELECTRA TF1 checkpoints (`electra_small/model.ckpt-*`), read with `tf.train.load_checkpoint`.

One checkpoint holds both models. The discriminator is `electra/embeddings/*`, `electra/embeddings_project`,
`electra/encoder/layer_{i}/*` and `discriminator_predictions/{dense,dense_1}`. The generator shares
`electra/embeddings/*` and has its own `generator/embeddings_project` (when its width differs from the embedding
size), `generator/encoder/layer_{i}/*` and `generator_predictions/{dense,LayerNorm,output_bias}`. Kernels are
(in, out), q/k/v 2-D. The optimizer slots (`*/adam_m`, `*/adam_v`) and `global_step` are skipped.

The architecture comes from the checkpoint itself (tensor shapes) plus the number of heads, which shapes cannot
tell: pass it (ELECTRA-Small 4, Base 12, Large 16; the generator's is max(1, hidden / 64) unless given). Google's
code computes the exact (erf) GELU everywhere, heads included (`modeling.gelu`), so imports use hidden_act="gelu".
"""

import re
from typing import Optional

import tensorflow as tf

from electra_tf.interop import name_mapping
from electra_tf.interop.hf import assign
from electra_tf.models import saving
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.tokenization.tokenizer import tokenizer_settings
from electra_tf.tokenization.vocabulary import Vocabulary

SKIPPED = re.compile(r"(/adam_[mv]$|^global_step$|^temperature$)")
SCOPES = {saving.DISCRIMINATOR: "electra", saving.GENERATOR: "generator"}
GOOGLE_ACTIVATION = "gelu"  # google-research/electra's `modeling.gelu`: x * 0.5 * (1 + erf(x / sqrt(2))).


def read_tensors(path: str) -> dict:
    """{name: numpy array} of a TF1 checkpoint (a `model.ckpt-N` prefix, or a folder with a `checkpoint` file)."""
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(f"{path} holds no TF checkpoint (no 'checkpoint' file naming one).")
        path = latest
    try:
        reader = tf.train.load_checkpoint(path)
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
        raise FileNotFoundError(f"Cannot read a TF checkpoint at {path}: {e}") from None
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map() if not SKIPPED.search(name)}


def encoder_config(
    tensors: dict, kind: str, num_heads: Optional[int], max_position_embeddings: Optional[int] = None
) -> EncoderConfig:
    scope = SCOPES[kind]
    layers = {int(m.group(1)) for name in tensors for m in [re.match(rf"{scope}/encoder/layer_(\d+)/", name)] if m}
    if not layers:
        raise ValueError(f"The checkpoint has no {scope}/encoder/layer_* variables: no {kind} in it.")
    vocab_size, embedding_size = tensors["electra/embeddings/word_embeddings"].shape
    hidden_size = tensors[f"{scope}/encoder/layer_0/attention/self/query/kernel"].shape[1]
    intermediate_size = tensors[f"{scope}/encoder/layer_0/intermediate/dense/kernel"].shape[1]
    if num_heads is None:
        if kind == saving.DISCRIMINATOR:
            raise ValueError("Pass num_heads (--num_heads) for the discriminator: shapes do not tell it.")
        num_heads = max(1, hidden_size // 64)
    return EncoderConfig(
        vocab_size=int(vocab_size),
        hidden_size=int(hidden_size),
        num_layers=max(layers) + 1,
        num_heads=int(num_heads),
        intermediate_size=int(intermediate_size),
        embedding_size=int(embedding_size),
        hidden_act=GOOGLE_ACTIVATION,
        max_position_embeddings=int(
            max_position_embeddings or tensors["electra/embeddings/position_embeddings"].shape[0]
        ),
        type_vocab_size=int(tensors["electra/embeddings/token_type_embeddings"].shape[0]),
    )


def load_google(
    path: str,
    vocab_file: str,
    kind: str = saving.DISCRIMINATOR,
    num_heads: Optional[int] = None,
    lower_case: bool = True,
) -> saving.SavedEncoder:
    """Builds the discriminator or the generator (with its head) from a Google TF1 checkpoint."""
    if kind not in SCOPES:
        raise ValueError(f"kind must be 'discriminator' or 'generator', not {kind!r}.")
    tensors = read_tensors(path)
    vocabulary = Vocabulary.load(vocab_file)
    config = encoder_config(tensors, kind, num_heads)
    if vocabulary.size != config.vocab_size:
        raise ValueError(
            f"{vocab_file} has {vocabulary.size} tokens but the checkpoint's table has {config.vocab_size} rows."
        )
    encoder = ElectraEncoder.from_encoder_config(config)
    scope = SCOPES[kind]
    rows = name_mapping.encoder_rows(config.num_layers, encoder.embeddings_projection is not None)

    def name_of(row):  # Embeddings are always electra/; the rest is under the model's own scope.
        return ("electra/" if row.google.startswith("embeddings/") else f"{scope}/") + row.google

    used = assign(saving.variables_by_path(encoder), rows, tensors, name_of, False, path)
    head = saving.build_head(kind, encoder, GOOGLE_ACTIVATION)
    used |= assign(
        saving.variables_by_path(head), name_mapping.head_rows(kind), tensors, lambda r: r.google, False, path
    )
    other = "generator" if kind == saving.DISCRIMINATOR else "electra"
    other_head = "generator_predictions" if kind == saving.DISCRIMINATOR else "discriminator_predictions"
    unexpected = sorted(n for n in set(tensors) - used if not n.startswith((f"{other}/", f"{other_head}/")))
    if unexpected:
        raise ValueError(f"{path} has variable(s) that are not ELECTRA's: {unexpected[:12]}.")
    return saving.SavedEncoder(
        encoder, vocabulary, tokenizer_settings(vocabulary, lower_case, None), head, kind, GOOGLE_ACTIVATION
    )
