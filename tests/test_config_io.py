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
