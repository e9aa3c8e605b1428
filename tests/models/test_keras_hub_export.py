"""A pre-trained discriminator loads with keras_hub.models.ElectraBackbone.from_preset and computes the same outputs."""

import keras_hub
import numpy as np
import pytest

from electra_tf.models import keras_hub_export
from electra_tf.networks.electra_encoder import ElectraEncoder
from tests.models.conftest import MICRO_ENCODER


@pytest.mark.parametrize("embedding_size", [32, 64], ids=["projection", "no-projection"])
def test_preset_loads_in_keras_hub_with_identical_outputs(embedding_size, vocabulary, batches, tmp_path):
    # keras-hub's ElectraBackbone hard-codes the tanh GELU, so only a tanh-GELU encoder exports.
    encoder = ElectraEncoder(**dict(MICRO_ENCODER, embedding_size=embedding_size, hidden_act="gelu_tanh"))
    keras_hub_export.export_keras_hub_preset(encoder, vocabulary, str(tmp_path / "preset"))
    backbone = keras_hub.models.ElectraBackbone.from_preset(str(tmp_path / "preset"))
    batch = batches[0]
    inputs = {k: batch[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    ours = encoder(inputs)["sequence_output"].numpy()
    theirs = backbone(inputs)["sequence_output"].numpy()
    np.testing.assert_allclose(theirs, ours, atol=1e-5)
    tokenizer = keras_hub.models.ElectraTokenizer.from_preset(str(tmp_path / "preset"))
    assert tokenizer.vocabulary_size() == vocabulary.size


def test_exact_gelu_encoder_is_refused_with_the_reason_and_the_fix(vocabulary, tmp_path):
    encoder = ElectraEncoder(**MICRO_ENCODER)  # The default: the exact GELU of the original ELECTRA.
    with pytest.raises(ValueError) as refusal:
        keras_hub_export.export_keras_hub_preset(encoder, vocabulary, str(tmp_path / "preset"))
    message = str(refusal.value)
    assert "hard-codes the tanh GELU" in message and "hidden_act='gelu'" in message  # Why, naming the value...
    assert (
        "drift" in message and "pre-train with hidden_act='gelu_tanh'" in message
    )  # ...and how to get one that exports.
    assert not (tmp_path / "preset").exists()
