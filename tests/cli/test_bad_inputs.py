"""Bad inputs to every binary: exit status 2, one line on stderr that names the file or value and the fix, no
traceback, and nothing written. docs/bad_inputs.md lists each case with what the user sees.

Each case is a small setup (a broken copy of a good input, written under its own folder) and the flags that point a
binary at it. The binaries spend most of their few seconds importing TensorFlow, so the module runs them a few at a
time, once, and each test checks one outcome.
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
from typing import Callable

import pytest

from tests.conftest import repo_root, subprocess_env

_PARALLEL_RUNS = 3
_LATIN1 = b"A fine line.\nAnother one.\n\nNew document with caf\xe9 na\xefve.\n"  # Line 4 is Latin-1, not UTF-8.


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Small good inputs that the cases copy and break."""

    corpus: pathlib.Path
    vocab: pathlib.Path  # 2000 tokens learned from `corpus`.
    data: pathlib.Path  # Two shards of length-128 examples, built with `vocab`.
    encoder: pathlib.Path  # A saved micro encoder with `vocab`.
    finetuned: pathlib.Path  # A (not really) fine-tuned classifier on `encoder`.
    config: pathlib.Path  # The micro pre-training config.
    glue: pathlib.Path


@dataclasses.dataclass(frozen=True)
class Case:
    """A binary, a setup `(inputs, work folder) -> {flag: value}` over the binary's defaults, and what stderr says.

    The output (file, folder or model_dir) is always `<work>/out`."""

    binary: str
    setup: Callable[[Inputs, pathlib.Path], dict]
    says: tuple
    exit_code: int = 2


def _defaults(binary: str, inputs: Inputs, out: pathlib.Path) -> dict:
    return {
        "build_vocab": {"input": inputs.corpus, "output": out, "vocab_size": 500},
        "build_pretraining_data": {
            "input": inputs.corpus,
            "vocab_file": inputs.vocab,
            "output_dir": out,
            "num_shards": 1,
            "num_workers": 1,
            "noprogress": None,
        },
        "pretrain": {"config": inputs.config, "train_data": inputs.data, "model_dir": out},
        "finetune": {
            "task": "rte",
            "data_dir": inputs.glue,
            "pretrained": inputs.encoder,
            "model_dir": out,
            "max_train_examples": 8,
            "epochs": 1,
            "batch_size": 4,
            "sequence_length": 16,
            "keras_verbose": 0,
        },
        "export": {"export_dir": out},
        "benchmark": {"suite": "pretrain", "config": inputs.config, "data_dir": inputs.data},
    }[binary]


# Setups: each writes its broken input under `work` and returns the flags that use it.


def _write(path: pathlib.Path, content) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _edited_json(source: pathlib.Path, target: pathlib.Path, edit: Callable[[dict], None]) -> pathlib.Path:
    raw = json.loads(source.read_text())
    edit(raw)
    return _write(target, json.dumps(raw))


def _vocab_without(inputs: Inputs, target: pathlib.Path, *tokens: str) -> pathlib.Path:
    lines = inputs.vocab.read_text(encoding="utf-8").splitlines()
    return _write(target, "".join(f"{line}\n" for line in lines if line not in tokens))


def _truncated(path: pathlib.Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corpus(content: bytes, **flags):
    """A setup that writes `content` as the corpus."""
    return lambda inputs, work: {"input": _write(work / "corpus.txt", content), **flags}


def _config(edit: Callable[[dict], None]):
    """A setup that passes a copy of the micro pre-training config, edited."""
    return lambda inputs, work: {"config": _edited_json(inputs.config, work / "c.json", edit)}


def _file(name: str, content: str, flag: str = "config"):
    """A setup that writes `content` to `<work>/<name>` and passes it as `--<flag>`."""
    return lambda inputs, work: {flag: _write(work / name, content)}


def _taken(name: str, flags: Callable[[Inputs], dict] = lambda inputs: {}):
    """A setup where `<work>/<name>` exists before the run: the output path is taken (by a file, or a folder)."""

    def setup(inputs, work):
        _write(work / name, "keep")
        return flags(inputs)

    return setup


def _data_vocab_mismatch(inputs, work):
    data = shutil.copytree(inputs.data, work / "data")
    lines = (data / "vocab.txt").read_text(encoding="utf-8").splitlines()
    _write(data / "vocab.txt", "".join(f"{line}\n" for line in lines[:-1]))  # Someone swapped the vocabulary.
    return {"train_data": data}


def _truncated_shard(inputs, work):
    data = shutil.copytree(inputs.data, work / "data")
    _truncated(data / "pretrain_data-00000-of-00002.tfrecord")  # An interrupted copy.
    return {"train_data": data}


def _model_dir_of_another_architecture(inputs, work):
    def wider(raw):
        raw["encoder"].update(hidden_size=128, vocab_size=2000)

    _edited_json(inputs.config, work / "out" / "pretraining_config.json", wider)
    _write(work / "out" / "checkpoints" / "checkpoint", 'model_checkpoint_path: "ckpt-10"\n')
    return {}


def _encoder_without_mask(inputs, work):
    encoder = shutil.copytree(inputs.encoder, work / "encoder")
    _vocab_without(inputs, encoder / "vocab.txt", "[MASK]")
    return {"pretrained": encoder}


def _truncated_encoder(inputs, work):
    encoder = shutil.copytree(inputs.encoder, work / "encoder")
    _truncated(encoder / "encoder.keras")
    return {"pretrained": encoder}


def _malformed_glue_row(inputs, work):
    lines = (inputs.glue / "RTE" / "train.tsv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].rsplit("\t", 1)[0]  # Line 6 loses its label column.
    _write(work / "glue" / "RTE" / "train.tsv", "\n".join(lines) + "\n")
    shutil.copy(inputs.glue / "RTE" / "dev.tsv", work / "glue" / "RTE" / "dev.tsv")
    return {"data_dir": work / "glue"}


def _special_tokens_dropped(inputs, work):
    return {"vocab_file": _vocab_without(inputs, work / "vocab.txt", "[CLS]", "[MASK]")}


_EMPTY = ("The corpus is empty", "corpus.txt", "Pass a file with text")
_NOT_UTF8 = ("corpus.txt, line 4: invalid UTF-8 bytes b'\\xe9'", "Re-encode the file as UTF-8")
_REPLACED = ("Replaced 2 invalid UTF-8 sequence(s)",)
_RTE_ROW = ("RTE/train.tsv:6: has 3 columns, expected 4", "--on_bad_row=skip")

CASES = {
    "build_vocab/corpus-empty": Case("build_vocab", _corpus(b""), _EMPTY),
    "build_vocab/corpus-not-utf8-strict": Case("build_vocab", _corpus(_LATIN1, on_decode_error="strict"), _NOT_UTF8),
    "build_vocab/corpus-not-utf8-replaced": Case(
        "build_vocab", _corpus(_LATIN1), _REPLACED + ("corpus.txt, line 4",), exit_code=0
    ),
    "build_vocab/output-is-a-folder": Case(
        "build_vocab", _taken("out/notes.txt"), ("The --output", "out is a folder", "Pass a file path, e.g.")
    ),
    "build_pretraining_data/corpus-missing": Case(
        "build_pretraining_data",
        lambda inputs, work: {"input": work / "no_such_corpus.txt"},
        ("no_such_corpus.txt' matches no file", "Check the path"),
    ),
    "build_pretraining_data/corpus-empty": Case("build_pretraining_data", _corpus(b""), _EMPTY),
    "build_pretraining_data/corpus-not-utf8-strict": Case(
        "build_pretraining_data", _corpus(_LATIN1, on_decode_error="strict"), _NOT_UTF8
    ),
    "build_pretraining_data/corpus-not-utf8-replaced": Case(
        "build_pretraining_data", _corpus(_LATIN1), _REPLACED + ("--on_decode_error=strict",), exit_code=0
    ),
    "build_pretraining_data/vocab-without-special-tokens": Case(
        "build_pretraining_data",
        _special_tokens_dropped,
        ("vocab.txt lacks the required special token(s) [CLS], [MASK]", "bin/build_vocab"),
    ),
    "build_pretraining_data/config-unknown-key": Case(
        "build_pretraining_data",
        _file("data.json", '{"seed": 1, "max_seq_len": 64}'),
        ("data.json: unknown key(s) ['max_seq_len'] for PretrainingDataConfig", "Known keys"),
    ),
    "build_pretraining_data/config-not-json": Case(
        "build_pretraining_data",
        _file("data.json", "{max_seq_length: 64"),
        ("data.json is not valid JSON", "line 1 column 2"),
    ),
    "pretrain/data-max_seq_length-mismatch": Case(
        "pretrain",
        _config(lambda c: c.update(max_seq_length=64)),
        ("was built with max_seq_length=128, but the configuration asks for max_seq_length=64", "Rebuild the data"),
    ),
    "pretrain/data-vocab-size-mismatch": Case(
        "pretrain",
        _data_vocab_mismatch,
        ("was built with a vocabulary of 2000 tokens", "vocab.txt has 1999", "Use the vocabulary the data was built"),
    ),
    "pretrain/truncated-shard": Case(
        "pretrain",
        _truncated_shard,
        ("pretrain_data-00000-of-00002.tfrecord has", "truncated", "Rebuild the data with bin/build_pretraining_data"),
    ),
    "pretrain/config-unknown-key": Case(
        "pretrain",
        _config(lambda c: c.update(trian_batch_size=8)),
        ("c.json: unknown key(s) ['trian_batch_size'] for PretrainingConfig", "Known keys"),
    ),
    "pretrain/config-value-of-wrong-type": Case(
        "pretrain",
        _config(lambda c: c.update(train_batch_size="8")),
        ("c.json:train_batch_size: expected an integer, but received '8'", "Write it without quotes"),
    ),
    "pretrain/negative-batch-size": Case(
        "pretrain", lambda inputs, work: {"train_batch_size": -8}, ("train_batch_size must be positive", "=-8")
    ),
    "pretrain/model-dir-is-a-file": Case(
        "pretrain", _taken("out"), ("The --model_dir", "out is a file", "Pass a folder path")
    ),
    "pretrain/model-dir-of-another-architecture": Case(
        "pretrain",
        _model_dir_of_another_architecture,
        ("holds a run with a different encoder", "hidden_size=128", "Use a new --model_dir"),
    ),
    "finetune/vocab-without-special-tokens": Case(
        "finetune", _encoder_without_mask, ("vocab.txt lacks the required special token(s) [MASK]", "bin/build_vocab")
    ),
    "finetune/truncated-encoder": Case(
        "finetune", _truncated_encoder, ("encoder.keras is not a .keras archive", "Re-export the encoder")
    ),
    "finetune/config-unknown-key": Case(
        "finetune",
        _file("ft.json", '{"epochs": 1, "bach_size": 8}'),
        ("ft.json: unknown key(s) ['bach_size'] for FinetuningConfig", "Known keys"),
    ),
    "finetune/unknown-task": Case(
        "finetune",
        lambda inputs, work: {"task": "glue9"},
        ("Unknown task 'glue9'. Known tasks: cola", "task JSON file"),
    ),
    "finetune/malformed-glue-row": Case("finetune", _malformed_glue_row, _RTE_ROW),
    "finetune/model-dir-is-a-file": Case(
        "finetune", _taken("out"), ("The model_dir", "out is a file", "Pass a folder path")
    ),
    "export/not-a-finetuned-model": Case(
        "export",
        lambda inputs, work: {"finetuned": inputs.encoder},
        ("lacks classifier.keras: it is not a fine-tuned electra_tf classifier",),
    ),
    "export/version-exists": Case(
        "export",
        _taken("out/1/saved_model.pb", lambda inputs: {"finetuned": inputs.finetuned, "version": 1}),
        ("out/1 exists; TF Serving versions are immutable", "Choose another --version"),
    ),
    "benchmark/profile-with-xla": Case(
        "benchmark",
        lambda inputs, work: {"profile": None, "jit_compile": None},
        ("but --jit_compile was given", "Drop --profile, or drop --jit_compile."),
    ),
    "benchmark/profile-with-steps-per-execution": Case(
        "benchmark",
        lambda inputs, work: {"profile": None, "steps_per_execution": 4},
        ("but --steps_per_execution=4 was given", "Drop --profile, or drop --steps_per_execution."),
    ),
    "benchmark/profile-with-another-suite": Case(
        "benchmark",
        lambda inputs, work: {"profile": None, "suite": "data"},
        ("--profile profiles the pre-training step, but --suite=data", "Pass --suite=pretrain"),
    ),
}
ERROR_CASES = [name for name, case in CASES.items() if case.exit_code == 2]


@dataclasses.dataclass(frozen=True)
class Outcome:
    work: pathlib.Path
    before: dict
    after: dict
    result: subprocess.CompletedProcess


def _tree(folder: pathlib.Path) -> dict:
    """{relative path: sha256} of every file under `folder`, and the folders, so any change shows."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def inputs(corpus_10mb, micro_config, glue_dir, tmp_path_factory) -> Inputs:
    import keras

    from electra_tf.data.pretraining_data_builder import PretrainingDataConfig, build_pretraining_data
    from electra_tf.models import saving
    from electra_tf.models.electra_classifier import ElectraClassifier
    from electra_tf.networks.electra_encoder import ElectraEncoder
    from electra_tf.tokenization.tokenizer import tokenizer_settings
    from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab

    root = tmp_path_factory.mktemp("good_inputs")
    raw = pathlib.Path(corpus_10mb).read_bytes()
    corpus = _write(root / "corpus.txt", raw[: raw.find(b"\n", 150_000) + 1])
    vocabulary = learn_wordpiece_vocab([str(corpus)], vocab_size=2000)
    vocabulary.save(str(root / "vocab.txt"))
    config = PretrainingDataConfig(num_shards=2)
    build_pretraining_data(
        [str(corpus)], str(root / "vocab.txt"), str(root / "data"), config, num_workers=1, show_progress=False
    )
    keras.utils.set_random_seed(0)
    encoder = ElectraEncoder(
        vocab_size=vocabulary.size, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, embedding_size=16
    )
    saving.save(
        saving.SavedEncoder(encoder, vocabulary, tokenizer_settings(vocabulary, True, None)), str(root / "encoder")
    )
    classifier = ElectraClassifier.from_pretrained(str(root / "encoder"), sequence_length=16)
    classifier.save_finetuned(str(root / "finetuned"))
    return Inputs(
        corpus,
        root / "vocab.txt",
        root / "data",
        root / "encoder",
        root / "finetuned",
        pathlib.Path(micro_config),
        glue_dir,
    )


@pytest.fixture(scope="module")
def outcomes(inputs, tmp_path_factory) -> dict:
    """Runs every case's binary, a few at a time; returns {case name: Outcome}."""

    def run(name: str) -> Outcome:
        case = CASES[name]
        work = tmp_path_factory.mktemp(name.replace("/", "-"))
        flags = {**_defaults(case.binary, inputs, work / "out"), **case.setup(inputs, work)}
        before = _tree(work)
        command = [sys.executable, str(repo_root() / "bin" / case.binary)]
        command += [f"--{flag}" if value is None else f"--{flag}={value}" for flag, value in flags.items()]
        result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=300)
        return Outcome(work, before, _tree(work), result)

    with concurrent.futures.ThreadPoolExecutor(_PARALLEL_RUNS) as pool:
        return dict(zip(CASES, pool.map(run, CASES)))


@pytest.mark.parametrize("name", ERROR_CASES)
def test_bad_input_exits_2_with_one_clear_line_and_writes_nothing(name, outcomes):
    case, outcome = CASES[name], outcomes[name]
    stderr = outcome.result.stderr
    assert outcome.result.returncode == 2, stderr[-3000:]
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(f"{case.binary}: error: ")]
    assert len(errors) == 1, stderr[-3000:]
    for part in case.says:
        assert part in errors[0], errors[0]
    assert outcome.result.stdout == ""
    assert outcome.after == outcome.before, "the run left output behind or changed its inputs"


def test_non_utf8_corpus_is_replaced_counted_and_reported(outcomes):
    for name in ("build_vocab/corpus-not-utf8-replaced", "build_pretraining_data/corpus-not-utf8-replaced"):
        case, outcome = CASES[name], outcomes[name]
        assert outcome.result.returncode == 0, outcome.result.stderr[-3000:]
        for part in case.says:
            assert part in outcome.result.stderr
    data = outcomes["build_pretraining_data/corpus-not-utf8-replaced"].work / "out"
    assert json.loads((data / "metadata.json").read_text())["statistics"]["num_decode_errors"] == 2


def test_config_vocab_size_follows_the_data(inputs, tmp_path):
    """A config whose encoder.vocab_size differs from the data's is not an error: the data's vocabulary wins."""
    from electra_tf import config_io
    from electra_tf.training import pretrain
    from electra_tf.training.pretraining_config import PretrainingConfig

    config = config_io.load(PretrainingConfig, str(inputs.config))
    assert config.encoder.vocab_size == 30522
    resolved, vocabulary, _ = pretrain.resolve_config(config, str(inputs.data), str(tmp_path / "run"))
    assert resolved.encoder.vocab_size == vocabulary.size == 2000
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("field", ["train_batch_size", "eval_batch_size"])
def test_batches_the_data_cannot_fill_are_refused_before_the_run(field, inputs, tmp_path):
    from electra_tf import config_io
    from electra_tf.training import pretrain
    from electra_tf.training.pretraining_config import PretrainingConfig

    config = dataclasses.replace(config_io.load(PretrainingConfig, str(inputs.config)), **{field: 1000})
    with pytest.raises(ValueError, match="batch_size=1000 exceeds"):
        pretrain.resolve_config(config, str(inputs.data), str(tmp_path / "run"))


def test_every_case_is_in_the_table():
    table = (repo_root() / "docs" / "bad_inputs.md").read_text(encoding="utf-8")
    for name in CASES:
        assert f"[{name}]" in table, f"docs/bad_inputs.md has no row for {name}"
