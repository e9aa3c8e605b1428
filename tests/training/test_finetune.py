"""Fine-tuning runs: training pairs in both orders (google-research/electra's `double_unordered`) and the recorded
recipe."""

import json

import numpy as np
import pytest

from electra_tf.tasks import reader, registry
from electra_tf.training import finetune


@pytest.mark.parametrize("task_name", ["mrpc", "sts-b"])
def test_double_unordered_appends_every_pair_swapped(glue_dir, task_name):
    train = reader.read_split(registry.get(task_name), str(glue_dir), "train")
    doubled = finetune.double_unordered(train)
    n = len(train)
    assert len(doubled) == 2 * n
    # First the examples as read, then the same examples in the same order with the sentences exchanged.
    assert doubled.text_a[:n] == train.text_a and doubled.text_b[:n] == train.text_b
    assert doubled.text_a[n:] == train.text_b and doubled.text_b[n:] == train.text_a
    np.testing.assert_array_equal(doubled.labels, np.concatenate([train.labels, train.labels]))
    assert doubled.ids == train.ids + train.ids
    with pytest.raises(ValueError, match="single-sentence"):
        finetune.double_unordered(reader.read_split(registry.get("sst-2"), str(glue_dir), "dev"))


def test_mrpc_run_trains_on_both_orders_and_records_the_recipe(saved_encoder, glue_dir, tmp_path):
    """Only the training split is doubled (after the subsample), as in google-research/electra; dev is scored as is."""
    config = finetune.FinetuningConfig(max_train_examples=20, epochs=1, sequence_length=16, validate_every_epoch=False)
    results = finetune.run_finetuning("mrpc", str(glue_dir), saved_encoder, str(tmp_path / "mrpc"), config, verbose=0)
    assert results["num_train_examples"] == 40 and results["num_dev_examples"] == {"dev": 408}
    recipe = results["recipe"]
    assert recipe["double_unordered"] is True and recipe["source"]["double_unordered"] == "recipe"
    assert (recipe["model_size"], recipe["learning_rate"], recipe["epochs"]) == ("small", 3e-4, 1)
    assert recipe["source"]["epochs"] == "override" and recipe["source"]["model_size"] == "encoder"
    saved = json.loads((tmp_path / "mrpc" / "finetuning_config.json").read_text())
    assert (
        saved["learning_rate"] == 3e-4 and saved["double_unordered"] is True and saved["layerwise_rule"] == "released"
    )
