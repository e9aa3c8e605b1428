"""The TFDS source for GLUE, without the network: label mapping by name, and TFDS's mock data end to end."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from electra_tf.tasks import registry, tfds_glue
from electra_tf.training import finetune


def test_mnli_labels_map_by_name():
    task = registry.get("mnli")
    # TFDS orders MNLI's labels entailment, neutral, contradiction; the GLUE files' order is ours.
    mapping = tfds_glue.label_map(task, ["entailment", "neutral", "contradiction"])
    assert [task.labels[i] for i in mapping] == ["entailment", "neutral", "contradiction"]
    examples = tfds_glue.examples_from_tfds(
        task,
        [{"premise": b"A man sleeps.", "hypothesis": b"A man is awake.", "label": 2, "idx": 7}],
        ["entailment", "neutral", "contradiction"],
        labelled=True,
    )
    assert task.labels[examples.labels[0]] == "contradiction" and examples.ids == ["7"]
    assert examples.text_a == ["A man sleeps."] and examples.text_b == ["A man is awake."]


def test_positional_labels_and_mismatch():
    cola = registry.get("cola")  # TFDS: unacceptable, acceptable = the files' 0, 1.
    assert tfds_glue.label_map(cola, ["unacceptable", "acceptable"]).tolist() == [0, 1]
    with pytest.raises(ValueError, match="Cannot map TFDS glue/rte labels"):
        tfds_glue.label_map(registry.get("rte"), ["yes", "no"])
    assert tfds_glue.tfds_split(registry.get("mnli"), "dev_mismatched") == "validation_mismatched"
    assert tfds_glue.tfds_split(registry.get("rte"), "dev") == "validation"


@pytest.mark.parametrize("name", ["cola", "sst-2", "mrpc", "sts-b", "qqp", "mnli", "qnli", "rte", "wnli"])
def test_every_glue_builder_with_mock_data(name):
    task = registry.get(name)
    with tfds.testing.mock_data(num_examples=5):
        dev = tfds_glue.read_split(task, "dev")
        test = tfds_glue.read_split(task, "test")
    assert len(dev) == 5 and (dev.text_b is not None) == task.is_pair
    assert test.labels is None
    if task.is_regression:
        assert dev.labels.dtype == np.float32
    else:
        assert dev.labels.min() >= 0 and dev.labels.max() < len(task.labels)


def test_finetune_from_tfds_source(saved_encoder, tmp_path):
    config = finetune.FinetuningConfig(epochs=1, batch_size=4, sequence_length=16, validate_every_epoch=False)
    with tfds.testing.mock_data(num_examples=8):
        results = finetune.run_finetuning("rte", None, saved_encoder, str(tmp_path), config, source="tfds", verbose=0)
    assert results["num_train_examples"] == 8 and results["num_dev_examples"] == {"dev": 8}


def test_unprepared_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not prepared in .* --tfds_download"):
        tfds_glue.read_split(registry.get("rte"), "dev", data_dir=str(tmp_path))
