"""Tests of `electra_tf.data.tfds_source` through a small local TFDS dataset prepared offline from the corpus slice.

`ElectraTfTestCorpus` cuts the corpus slice into documents at its blank lines, one example per document, in corpus
order (shuffling disabled). Its "plain" config joins a document's paragraphs with single newlines, exactly as in the
corpus; its "spaced" config joins them with assorted blank lines (and pads the ends with some), which the export must
collapse. Both must export to the same corpus text, and pre-training data built through TFDS must be identical to data
built from a text file holding the same documents.
"""

import os
import pathlib
import socket

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath
from tensorflow_datasets.core import utils as tfds_utils

from electra_tf.data import tfds_source
from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.data.pretraining_data_builder import PretrainingDataConfig, build_pretraining_data

NAME = "electra_tf_test_corpus"
# Separators the "spaced" config puts between paragraphs, in turn: a plain newline and four kinds of blank line.
_SEPARATORS = ("\n", "\n\n", "\n \n", "\n\t\n\n", "\n\r\n  \n")


def _read_documents(path: str) -> list[list[str]]:
    """Returns the documents of a corpus file (blank-line separated) as lists of stripped, non-blank paragraphs."""
    documents, current = [], []
    for line in pathlib.Path(path).read_text(encoding="utf-8").split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            documents.append(current)
            current = []
    if current:
        documents.append(current)
    return documents


def _spaced(paragraphs: list[str]) -> str:
    parts = ["\n \n"]
    for k, paragraph in enumerate(paragraphs):
        parts += [paragraph, _SEPARATORS[k % len(_SEPARATORS)]]
    return "".join(parts) + "\n\n"


def _corpus_text(documents: list[list[str]]) -> str:
    """The corpus file the export should write: one document per block, a blank line after each."""
    return "".join("\n".join(paragraphs) + "\n\n" for paragraphs in documents)


class ElectraTfTestCorpus(tfds.core.GeneratorBasedBuilder):
    """The corpus slice as a TFDS text dataset; the `tfds_dir` fixture sets `corpus_path` while preparing it."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Test dataset."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="plain", description="Paragraphs joined by single newlines."),
        tfds.core.BuilderConfig(name="spaced", description="Paragraphs joined by assorted blank lines."),
    ]
    corpus_path = None

    @tfds_utils.classproperty
    @classmethod
    def code_path(cls) -> epath.Path:
        # TFDS 4.9.10 derives this through `importlib_resources` for any builder defined inside a package, but only
        # declares that dependency for Python < 3.9; this file is the answer it would find.
        return epath.Path(__file__)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Everything is local.
        if not self.corpus_path:
            raise RuntimeError("Set ElectraTfTestCorpus.corpus_path before preparing the dataset.")
        return {"train": self._generate_examples(self.corpus_path)}

    def _generate_examples(self, path):
        for index, paragraphs in enumerate(_read_documents(path)):
            text = "\n".join(paragraphs) if self.builder_config.name == "plain" else _spaced(paragraphs)
            yield index, {"text": text}


def _no_network(*args, **kwargs):
    raise AssertionError(f"The test dataset must be prepared offline, but a network call was made: {args}")


@pytest.fixture(scope="module")
def documents(corpus_slice) -> list[list[str]]:
    return _read_documents(corpus_slice)


@pytest.fixture(scope="module")
def tfds_dir(corpus_slice, tmp_path_factory) -> str:
    """A TFDS data_dir with both configs of `ElectraTfTestCorpus` prepared, with every socket connection refused."""
    root = str(tmp_path_factory.mktemp("tfds"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ElectraTfTestCorpus, "corpus_path", corpus_slice)
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket, "create_connection", _no_network)
        patch.setattr(socket, "getaddrinfo", _no_network)
        for config in ("plain", "spaced"):
            builder = ElectraTfTestCorpus(config=config, data_dir=root)
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
            assert builder.is_prepared()
    return root


def _read_records(path: str) -> list[bytes]:
    return list(tf.data.TFRecordDataset(path).as_numpy_iterator())


def test_local_dataset_is_prepared_from_the_corpus(tfds_dir, documents):
    # The slice holds several books; the spaced examples really hold blank lines for the export to collapse.
    assert len(documents) >= 5
    for config in ("plain", "spaced"):
        builder = tfds.builder(f"{NAME}/{config}", data_dir=tfds_dir)
        assert builder.is_prepared()
        assert builder.info.splits["train"].num_examples == len(documents)
    spaced = tfds.builder(f"{NAME}/spaced", data_dir=tfds_dir).as_dataset(split="train", shuffle_files=False)
    texts = [example["text"].decode("utf-8") for example in spaced.as_numpy_iterator()]
    long_texts = [text for text in texts if text.count("\n") > 10]
    assert long_texts and all("\n \n" in text and "\n\t\n\n" in text for text in long_texts)


@pytest.mark.parametrize(
    "spec", [f"{NAME}/plain:text", f"{NAME}/spaced:text", f"{NAME}/plain:1.0.0:text", f"{NAME}/spaced:1.0.0:text"]
)
def test_export_text_writes_one_document_per_example(tfds_dir, documents, tmp_path, spec):
    output = tmp_path / "corpus.txt"
    num_documents = tfds_source.export_text(spec, str(output), split="train", data_dir=tfds_dir)
    num_examples = tfds.builder(tfds_source.parse_spec(spec)[0], data_dir=tfds_dir).info.splits["train"].num_examples
    assert num_documents == num_examples == len(documents)
    text = output.read_text(encoding="utf-8")
    # Documents in example order, a blank line after each, no blank line (nor white-space-only line) inside one.
    assert text == _corpus_text(documents)
    blocks = text.split("\n\n")
    assert blocks[-1] == "" and len(blocks) == num_documents + 1
    assert all(line.strip() for block in blocks[:-1] for line in block.split("\n"))


def test_build_from_tfds_matches_build_from_text_file(tfds_dir, documents, vocab_file, tmp_path):
    config = PretrainingDataConfig(num_shards=1)
    spec = f"{NAME}/spaced:text"
    work = tmp_path / "tfds_build"
    work.mkdir()
    from_tfds = work / "data"
    returned = tfds_source.build_pretraining_data_from_tfds(
        spec,
        output_dir=str(from_tfds),
        split="train",
        data_dir=tfds_dir,
        vocab_file=vocab_file,
        config=config,
        num_workers=1,
        show_progress=False,
    )
    metadata = PretrainingDataMetadata.load(str(from_tfds))
    assert metadata.num_examples == returned.num_examples > 0
    assert metadata.build["inputs"] == f"tfds:{spec}[train]"
    assert metadata.statistics["num_documents"] == len(documents)
    # The temporary corpus file is gone, and so is any staging folder.
    assert not list(work.glob(".tfds-corpus-*"))
    assert sorted(os.listdir(work)) == ["data"]

    direct_dir = tmp_path / "direct"
    direct_dir.mkdir()
    corpus_file = direct_dir / "corpus.txt"
    corpus_file.write_text(_corpus_text(documents), encoding="utf-8")
    expected = build_pretraining_data(
        [str(corpus_file)], vocab_file, str(direct_dir / "data"), config=config, num_workers=1, show_progress=False
    )

    assert [s.file for s in metadata.shards] == [s.file for s in expected.shards]
    assert len(metadata.shards) == 1
    assert metadata.num_examples == expected.num_examples
    tfds_records = [_read_records(p) for p in metadata.shard_paths(str(from_tfds))]
    direct_records = [_read_records(p) for p in expected.shard_paths(str(direct_dir / "data"))]
    assert sum(len(r) for r in tfds_records) == metadata.num_examples
    assert tfds_records == direct_records
    ignored = {"build_seconds"}
    assert {k: v for k, v in metadata.statistics.items() if k not in ignored} == {
        k: v for k, v in expected.statistics.items() if k not in ignored
    }


def test_url_output_dir_with_trailing_slash_keeps_the_corpus_beside_it(tfds_dir, vocab_file, tmp_path):
    # For a URL the temporary corpus goes to dirname(output_dir); a trailing "/" once put it inside output_dir,
    # which the build then refused as a folder of foreign files.
    work = tmp_path / "url_build"
    metadata = tfds_source.build_pretraining_data_from_tfds(
        f"{NAME}/plain:text",
        output_dir=f"file://{work}/data/",
        data_dir=tfds_dir,
        vocab_file=vocab_file,
        config=PretrainingDataConfig(num_shards=1),
        num_workers=1,
        show_progress=False,
    )
    assert PretrainingDataMetadata.load(str(work / "data")).num_examples == metadata.num_examples > 0
    assert sorted(os.listdir(work)) == ["data"]
    assert sorted(os.listdir(work / "data")) == ["metadata.json", metadata.shards[0].file, "vocab.txt"]


def test_unprepared_dataset_without_download_fails(tmp_path, vocab_file):
    empty = tmp_path / "empty_tfds"
    empty.mkdir()
    output = tmp_path / "corpus.txt"
    with pytest.raises(ValueError, match="--tfds_download"):
        tfds_source.export_text(f"{NAME}/plain:text", str(output), data_dir=str(empty), download=False)
    assert not output.exists()

    work = tmp_path / "work"
    with pytest.raises(ValueError, match="--tfds_download"):
        tfds_source.build_pretraining_data_from_tfds(
            f"{NAME}/plain:text",
            output_dir=str(work / "data"),
            data_dir=str(empty),
            vocab_file=vocab_file,
            num_workers=1,
            show_progress=False,
        )
    assert os.listdir(work) == []  # Neither the temporary corpus nor any output is left.
    assert os.listdir(empty) == []  # Nothing was downloaded or prepared.


def test_download_prepares_a_missing_dataset(corpus_slice, documents, tmp_path, monkeypatch):
    # `download=True` goes through the dataset's own download_and_prepare (offline here: the builder reads a file).
    monkeypatch.setattr(ElectraTfTestCorpus, "corpus_path", corpus_slice)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    data_dir = tmp_path / "fresh_tfds"
    output = tmp_path / "corpus.txt"
    num_documents = tfds_source.export_text(f"{NAME}/spaced:text", str(output), data_dir=str(data_dir), download=True)
    assert num_documents == len(documents)
    assert tfds.builder(f"{NAME}/spaced", data_dir=str(data_dir)).is_prepared()
    assert output.read_text(encoding="utf-8") == _corpus_text(documents)


def test_missing_feature_names_the_feature(tfds_dir, tmp_path):
    output = tmp_path / "corpus.txt"
    with pytest.raises(ValueError, match="'body'") as error:
        tfds_source.export_text(f"{NAME}/plain:body", str(output), data_dir=tfds_dir)
    assert "'text'" in str(error.value)  # It lists the features there are.
    assert not output.exists()


@pytest.mark.parametrize("spec", [NAME, f"{NAME}/plain", ":text", f"{NAME}/plain:"])
def test_spec_without_name_and_feature_is_rejected(tmp_path, spec):
    with pytest.raises(ValueError, match="NAME:FEATURE"):
        tfds_source.parse_spec(spec)
    with pytest.raises(ValueError, match="NAME:FEATURE"):
        tfds_source.export_text(spec, str(tmp_path / "corpus.txt"), data_dir=str(tmp_path))
