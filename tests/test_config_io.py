"""Typed JSON configurations: the shipped files load, unknown keys are refused by name."""

import json

import pytest

from electra_tf import config_io
from electra_tf.data.pretraining_data_builder import PretrainingDataConfig
from tests.conftest import repo_root


@pytest.mark.parametrize("name,length", [("seq128.json", 128), ("seq512.json", 512)])
def test_shipped_configs_load(name, length):
    config = config_io.load(PretrainingDataConfig, str(repo_root() / "configs" / "pretraining_data" / name))
    assert config.packing.max_seq_length == length
    assert config.packing.single_segment_prob == 0.1


def test_round_trip(tmp_path):
    config = PretrainingDataConfig(seed=3)
    path = tmp_path / "c.json"
    config_io.save(config, str(path))
    assert config_io.load(PretrainingDataConfig, str(path)) == config


def test_unknown_keys_are_named_with_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"seed": 1, "max_seq_len": 128}))
    with pytest.raises(ValueError, match=r"bad\.json: unknown key\(s\) \['max_seq_len'\].*Known keys"):
        config_io.load(PretrainingDataConfig, str(path))
    path.write_text(json.dumps({"packing": {"max_seq_lenght": 64}}))
    with pytest.raises(ValueError, match=r"bad\.json:packing: unknown key\(s\) \['max_seq_lenght'\]"):
        config_io.load(PretrainingDataConfig, str(path))


def test_invalid_values_and_json_are_reported(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"packing": {"short_seq_prob": 2}}))
    with pytest.raises(ValueError, match="short_seq_prob"):
        config_io.load(PretrainingDataConfig, str(path))
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        config_io.load(PretrainingDataConfig, str(path))
    with pytest.raises(FileNotFoundError, match="missing.json"):
        config_io.load(PretrainingDataConfig, str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"seed": "7"}, r"bad\.json:seed: expected an integer, but received '7'\. Write it without quotes"),
        ({"lower_case": "yes"}, r"bad\.json:lower_case: expected true or false"),
        ({"packing": {"short_seq_prob": "0.1"}}, r"bad\.json:packing:short_seq_prob: expected a number"),
        ({"packing": {"max_seq_length": 12.5}}, r"bad\.json:packing:max_seq_length: expected an integer"),
        ({"strip_accents": 1}, r"bad\.json:strip_accents: expected true or false"),
        ({"packing": [128]}, r"bad\.json:packing: expected a JSON object"),
    ],
)
def test_values_of_the_wrong_type_are_named(raw, message, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=message):
        config_io.load(PretrainingDataConfig, str(path))


def test_optional_fields_take_null_and_numbers_take_integers(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps({"strip_accents": None, "packing": {"short_seq_prob": 0, "max_unit_length": None}}))
    config = config_io.load(PretrainingDataConfig, str(path))
    assert config.strip_accents is None and config.packing.short_seq_prob == 0


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"batch_size": -4}, "batch_size must be positive, but received batch_size=-4"),
        ({"sequence_length": 0}, "sequence_length must be positive"),
        ({"learning_rate": -1e-3}, "learning_rate must be positive"),
        ({"warmup_fraction": 1.5}, r"warmup_fraction must be in \[0, 1\), but received warmup_fraction=1.5"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"layerwise_decay": 0.0}, r"layerwise_decay must be in \(0, 1\]"),
    ],
)
def test_finetuning_values_out_of_range_are_named(overrides, message):
    from electra_tf.training.finetune import FinetuningConfig

    with pytest.raises(ValueError, match=message):
        FinetuningConfig(**overrides)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"train_batch_size": -8}, "train_batch_size must be positive, but received train_batch_size=-8"),
        ({"eval_batch_size": 0}, "eval_batch_size must be positive"),
        ({"eval_holdout_shards": -1}, "eval_holdout_shards must be non-negative"),
        ({"seed": 2**31 - 1}, r"seed must be in \[0, 2\*\*31 - 1\)"),
    ],
)
def test_pretraining_values_out_of_range_are_named(overrides, message):
    from electra_tf.training.pretraining_config import PretrainingConfig

    with pytest.raises(ValueError, match=message):
        PretrainingConfig(**overrides)
