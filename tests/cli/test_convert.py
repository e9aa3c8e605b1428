"""bin/convert between electra_tf and HF layouts, and bin/pretrain --init_from, on a real (micro) pre-training run."""

import dataclasses
import json
import shutil
import subprocess

import numpy as np
import pytest

from electra_tf import config_io
from electra_tf.interop import initialization
from electra_tf.models import saving
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.tokenization.vocabulary import Vocabulary
from electra_tf.training.pretraining_config import PretrainingConfig
from tests.cli.test_binaries import run_binary
from tests.conftest import pretrain_command, subprocess_env


@pytest.fixture(scope="module")
def pretrained_run(micro_config, pretraining_data, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("run") / "model"
    command = pretrain_command(micro_config, pretraining_data, model_dir) + [
        "--num_train_steps=10",
        "--checkpoint_every=5",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return model_dir


def _same_weights(a, b):
    for x, y in zip(
        a.encoder.weights + (a.head.weights if a.head else []), b.encoder.weights + (b.head.weights if b.head else [])
    ):
        assert x.path == y.path and np.array_equal(x.numpy(), y.numpy()), x.path


@pytest.mark.parametrize(
    "kind, architecture",
    [
        ("discriminator", "ElectraForPreTraining"),
        # The generator head computes the exact GELU (as google-research/electra's does), which HF's generator head
        # hard-codes: the generator exports too.
        ("generator", "ElectraForMaskedLM"),
    ],
)
def test_pretraining_saves_heads_and_round_trips_through_hf(pretrained_run, kind, architecture, tmp_path):
    original = saving.load(str(pretrained_run / kind))
    assert original.kind == kind and original.head is not None and original.head_act == "gelu"
    result = run_binary(
        "convert", "--from=electra_tf", "--to=hf", f"--src={pretrained_run / kind}", f"--dst={tmp_path / 'hf'}"
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == [architecture] and config["hidden_act"] == "gelu"  # Exact, the default.
    result = run_binary(
        "convert", "--from=hf", "--to=electra_tf", f"--src={tmp_path / 'hf'}", f"--dst={tmp_path / 'back'}"
    )
    assert result.returncode == 0, result.stderr
    _same_weights(original, saving.load(str(tmp_path / "back")))  # ours -> HF -> ours is bit-identical.


def test_failed_conversion_writes_nothing(pretrained_run, tmp_path):
    # A generator whose head was trained with the tanh GELU, which HF's generator head cannot express: refused,
    # --dst untouched.
    tanh_generator = tmp_path / "tanh_generator"
    shutil.copytree(pretrained_run / "generator", tanh_generator)
    head_config = json.loads((tanh_generator / saving.HEAD_CONFIG).read_text())
    (tanh_generator / saving.HEAD_CONFIG).write_text(json.dumps(dict(head_config, hidden_act="gelu_tanh")))
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    result = run_binary(
        "convert", "--from=electra_tf", "--to=hf", f"--src={tanh_generator}", f"--dst={outputs / 'gen'}"
    )
    assert result.returncode == 2 and "computes GELU exactly" in result.stderr
    assert not (outputs / "gen").exists() and list(outputs.iterdir()) == []
    result = run_binary("convert", "--from=hf", f"--src={outputs / 'missing'}", f"--dst={outputs / 'out'}")
    assert result.returncode == 2 and "lacks config.json" in result.stderr and not (outputs / "out").exists()


def test_init_from_loads_both_models(pretrained_run, micro_config, pretraining_data, tmp_path):
    config = config_io.load(PretrainingConfig, micro_config)
    vocabulary = Vocabulary.load(str(pretrained_run / "discriminator" / "vocab.txt"))
    model = ElectraPretrainer(**dataclasses.replace(config, seed=123).pretrainer_kwargs())
    initialization.initialize_pretrainer(model, str(pretrained_run), vocabulary)
    disc = saving.load(str(pretrained_run / "discriminator"))
    gen = saving.load(str(pretrained_run / "generator"))
    for source, target in ((disc.encoder, model.discriminator), (gen.encoder, model.generator)):
        for x, y in zip(source.weights, target.weights):
            assert np.array_equal(x.numpy(), y.numpy()), x.path
    for source, target in ((disc.head, model.discriminator_head), (gen.head, model.generator_head)):
        for path, variable in saving.head_weights(target).items():
            assert np.array_equal(variable.numpy(), saving.head_weights(source)[path].numpy()), path

    # The binary continues from it; another architecture is refused by name.
    command = pretrain_command(micro_config, pretraining_data, tmp_path / "continued")
    result = subprocess.run(
        command + [f"--init_from={pretrained_run}", "--num_train_steps=5", "--checkpoint_every=5"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Initialized from {pretrained_run}" in result.stdout
    wider = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, hidden_size=128))
    with pytest.raises(
        ValueError, match="the discriminator differs from the run's config .*'hidden_size': \\(128, 64\\)"
    ):
        initialization.initialize_pretrainer(
            ElectraPretrainer(**wider.pretrainer_kwargs()), str(pretrained_run), vocabulary
        )
