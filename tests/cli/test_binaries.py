"""The programs in bin/, run as a user runs them: flags in, files and a summary out, clean errors."""

import json
import platform
import subprocess
import sys

import pytest

from electra_tf import onednn
from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.tokenization.vocabulary import Vocabulary
from tests.conftest import repo_root, subprocess_env


def run_binary(name, *flags):
    return subprocess.run(
        [sys.executable, str(repo_root() / "bin" / name), *flags],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )


def test_build_vocab_then_build_pretraining_data(corpus_slice, tmp_path):
    vocab = tmp_path / "vocab.txt"
    result = run_binary("build_vocab", f"--input={corpus_slice}", f"--output={vocab}", "--vocab_size=8000")
    assert result.returncode == 0, result.stderr
    vocabulary = Vocabulary.load(str(vocab))
    assert vocabulary.tokens[:5] == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    assert vocabulary.size == 8000

    output = tmp_path / "data"
    result = run_binary(
        "build_pretraining_data",
        f"--input={corpus_slice}",
        f"--vocab_file={vocab}",
        f"--output_dir={output}",
        "--num_workers=2",
        "--max_seq_length=64",
        "--noprogress",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    metadata = PretrainingDataMetadata.load(str(output))
    assert summary["num_examples"] == metadata.num_examples > 0
    assert metadata.max_seq_length == 64
    assert metadata.build["num_workers"] == 2
    assert summary["token_keep_share"] >= 0.98


def test_config_file_with_flag_override(corpus_slice, vocab_file, tmp_path):
    output = tmp_path / "data"
    config = repo_root() / "configs" / "pretraining_data" / "seq512.json"
    result = run_binary(
        "build_pretraining_data",
        f"--config={config}",
        "--seed=99",
        f"--input={corpus_slice}",
        f"--vocab_file={vocab_file}",
        f"--output_dir={output}",
        "--num_shards=2",
        "--noprogress",
    )
    assert result.returncode == 0, result.stderr
    metadata = PretrainingDataMetadata.load(str(output))
    assert metadata.max_seq_length == 512  # From the file.
    assert metadata.build["config"]["seed"] == 99  # From the flag.
    assert metadata.build["config"]["num_shards"] == 2


@pytest.mark.parametrize(
    "binary,flags,message",
    [
        ("build_vocab", ["--input=/nonexistent/corpus.txt"], "'/nonexistent/corpus.txt' matches no file"),
        ("build_pretraining_data", ["--vocab_file=/nonexistent/vocab.txt"], "Vocabulary file /nonexistent/vocab.txt"),
        ("build_pretraining_data", ["--max_seq_length=2"], "max_seq_length must be at least 5"),
        ("build_pretraining_data", ["--config=/nonexistent/c.json"], "Configuration file /nonexistent/c.json"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(binary, flags, message, tmp_path, vocab_file):
    defaults = {
        "build_vocab": [f"--output={tmp_path / 'v.txt'}"],
        "build_pretraining_data": [f"--output_dir={tmp_path / 'd'}"],
    }
    if binary == "build_pretraining_data" and not any(f.startswith("--vocab_file") for f in flags):
        flags = flags + [f"--vocab_file={vocab_file}"]
    result = run_binary(binary, *defaults[binary], *flags)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists() and not (tmp_path / "v.txt").exists()


@pytest.mark.large
def test_readme_main_job_on_the_10mb_corpus(tmp_path):
    vocab = tmp_path / "vocab.txt"
    assert run_binary("build_vocab", f"--output={vocab}").returncode == 0
    result = run_binary(
        "build_pretraining_data", f"--vocab_file={vocab}", f"--output_dir={tmp_path / 'data'}", "--noprogress"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["num_examples"] > 15000


_START_UP_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard", "cuInit")


def _start_and_run_an_op(*flags, module="electra_tf.cli"):
    """A program that imports `module` (every binary imports electra_tf.cli) and runs a TensorFlow op; its stderr."""
    env = {k: v for k, v in subprocess_env().items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = f"import {module}, tensorflow as tf; print(int(tf.constant(1) + 1))"
    result = subprocess.run([sys.executable, "-c", code, *flags], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "2", result.stderr
    return result.stderr


def test_start_up_is_quiet_unless_verbosity_is_given():
    # Which lines TensorFlow prints depends on the machine (oneDNN's line only where oneDNN is on by default, which
    # needs AVX-512 VNNI/BF16 or AMX), so the reference is TensorFlow's own start-up on this machine.
    plain = [noise for noise in _START_UP_NOISE if noise in _start_and_run_an_op(module="sys")]
    assert plain, "TensorFlow printed none of the start-up lines this test knows; update _START_UP_NOISE"
    assert [noise for noise in _START_UP_NOISE if noise in _start_and_run_an_op()] == []
    verbose = _start_and_run_an_op("--verbosity=0")  # The way back to the full log.
    assert [noise for noise in plain if noise not in verbose] == []


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.machine() == "x86_64") or onednn.nvidia_driver_present(),
    reason="oneDNN is turned on only on CPU-only x86-64 Linux",
)
def test_importing_electra_tf_turns_onednn_on_unless_told_not_to():
    code = "import electra_tf, electra_tf.onednn as o; print(o.onednn_enabled())"
    env = {k: v for k, v in subprocess_env().items() if k != onednn.ENV}

    def enabled(**extra):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env | extra, timeout=300
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert enabled() == "True"
    assert enabled(**{onednn.ENV: "0"}) == "False"  # The user's setting wins.
