"""The TFRecord builder: determinism, metadata, and bad inputs (clear errors, no partial output)."""

import json
import os
import pathlib

import pytest

from electra_tf.data.metadata import METADATA_FILE, PretrainingDataMetadata
from electra_tf.data.packing import PackingConfig
from electra_tf.data.pretraining_data_builder import PretrainingDataConfig, build_pretraining_data

_SMALL = PretrainingDataConfig(num_shards=4)


def shard_bytes(data_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(pathlib.Path(data_dir).glob("*.tfrecord"))}


def assert_no_output(tmp_path, output):
    assert not output.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(output.name + ".")]
    assert leftovers == [], f"partial output left behind: {leftovers}"


def test_metadata_describes_the_build(pretraining_data, vocabulary):
    metadata = PretrainingDataMetadata.load(pretraining_data)
    assert metadata.max_seq_length == 128
    assert metadata.num_examples == sum(s.num_examples for s in metadata.shards) > 1000
    assert metadata.tokenizer["vocab_sha256"] == vocabulary.fingerprint()
    assert metadata.tokenizer["lower_case"] and metadata.tokenizer["strip_accents"]
    assert metadata.special_token_ids == vocabulary.special_token_ids()
    assert metadata.build["config"]["seed"] == 12345
    metadata.check_compatible(vocabulary, 128)
    with pytest.raises(ValueError, match="max_seq_length=512"):
        metadata.check_compatible(max_seq_length=512)


def test_same_seed_same_bytes_whatever_the_workers(corpus_slice, vocab_file, tmp_path, pretraining_data):
    one = tmp_path / "one"
    two = tmp_path / "two"
    build_pretraining_data([corpus_slice], vocab_file, str(one), _SMALL, num_workers=1, show_progress=False)
    build_pretraining_data([corpus_slice], vocab_file, str(two), _SMALL, num_workers=2, show_progress=False)
    assert shard_bytes(one) == shard_bytes(two)
    reseeded = tmp_path / "reseeded"
    config = PretrainingDataConfig(num_shards=4, seed=7)
    build_pretraining_data([corpus_slice], vocab_file, str(reseeded), config, num_workers=1, show_progress=False)
    assert shard_bytes(reseeded) != shard_bytes(one)


def test_rebuild_replaces_previous_output(corpus_slice, vocab_file, tmp_path):
    output = tmp_path / "data"
    build_pretraining_data([corpus_slice], vocab_file, str(output), _SMALL, num_workers=1, show_progress=False)
    config = PretrainingDataConfig(num_shards=2, packing=PackingConfig(max_seq_length=64))
    build_pretraining_data([corpus_slice], vocab_file, str(output), config, num_workers=1, show_progress=False)
    assert len(shard_bytes(output)) == 2
    assert PretrainingDataMetadata.load(str(output)).max_seq_length == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_missing_file_fails_before_writing(vocab_file, tmp_path):
    output = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="no_such_corpus.txt"):
        build_pretraining_data([str(tmp_path / "no_such_corpus.txt")], vocab_file, str(output), show_progress=False)
    assert_no_output(tmp_path, output)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n\t\n"], ids=["empty", "blank-lines"])
def test_empty_corpus_fails_without_output(content, vocab_file, tmp_path):
    corpus = tmp_path / "empty.txt"
    corpus.write_bytes(content)
    output = tmp_path / "data"
    with pytest.raises(ValueError, match="empty|no text"):
        build_pretraining_data([str(corpus)], vocab_file, str(output), num_workers=1, show_progress=False)
    assert_no_output(tmp_path, output)


def test_non_utf8_is_replaced_and_counted_by_default(corpus_slice, vocab_file, tmp_path):
    corpus = tmp_path / "latin1.txt"
    text = pathlib.Path(corpus_slice).read_bytes()[:200_000]
    corpus.write_bytes(text + "\nLe caf\xe9 na\xeff.\n".encode("latin-1"))
    output = tmp_path / "data"
    metadata = build_pretraining_data([str(corpus)], vocab_file, str(output), num_workers=1, show_progress=False)
    assert metadata.statistics["num_decode_errors"] == 2
    on_disk = json.loads((output / METADATA_FILE).read_text())
    assert on_disk["statistics"]["num_decode_errors"] == 2


def test_non_utf8_strict_names_file_and_line_and_writes_nothing(vocab_file, tmp_path):
    corpus = tmp_path / "latin1.txt"
    corpus.write_bytes(b"A fine line.\nAnother one.\n\nNew document with caf\xe9.\n")
    output = tmp_path / "data"
    config = PretrainingDataConfig(on_decode_error="strict")
    with pytest.raises(ValueError, match=r"latin1\.txt, line 4"):
        build_pretraining_data([str(corpus)], vocab_file, str(output), config, num_workers=1, show_progress=False)
    assert_no_output(tmp_path, output)


def test_one_megabyte_line_is_split_and_kept(corpus_slice, vocab_file, tmp_path):
    paragraphs = [line for line in pathlib.Path(corpus_slice).read_text().split("\n") if len(line) > 200]
    huge = ""
    while len(huge) < 1_000_000:
        huge += " ".join(paragraphs) + " "
    corpus = tmp_path / "huge_line.txt"
    corpus.write_text(huge[:1_000_000] + "\n")
    output = tmp_path / "data"
    metadata = build_pretraining_data([str(corpus)], vocab_file, str(output), num_workers=1, show_progress=False)
    assert metadata.statistics["token_keep_share"] >= 0.98
    assert metadata.num_examples > 1000


def test_vocab_without_mask_fails_naming_it(corpus_slice, vocabulary, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"{t}\n" for t in vocabulary.tokens if t != "[MASK]"))
    output = tmp_path / "data"
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        build_pretraining_data([corpus_slice], str(vocab), str(output), show_progress=False)
    assert_no_output(tmp_path, output)


def test_output_dir_with_foreign_files_is_refused(corpus_slice, vocab_file, tmp_path):
    output = tmp_path / "precious"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not electra_tf pre-training data"):
        build_pretraining_data([corpus_slice], vocab_file, str(output), show_progress=False)
    assert os.listdir(output) == ["notes.txt"]
