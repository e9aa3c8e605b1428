"""SQuAD from TFDS without the network: TFDS's rows are served from the real dev files through `tfds.testing`, and
must read back as the same questions the file reader gives."""

import json

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from electra_tf.tasks import squad, tfds_squad
from electra_tf.training.finetune_squad import SquadConfig, run_squad_finetuning

FILES = {"1.1": "dev-v1.1.json", "2.0": "dev-v2.0-half.json"}


def _rows(document: dict, version: str) -> list:
    """TFDS's rows for a document: one per question, as its squad builders write them."""
    rows = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                row = {
                    "id": qa["id"],
                    "title": article["title"],
                    "context": paragraph["context"],
                    "question": qa["question"],
                    "answers": {
                        "text": [a["text"] for a in qa["answers"]],
                        "answer_start": [a["answer_start"] for a in qa["answers"]],
                    },
                }
                if version == "2.0":
                    row["is_impossible"] = qa.get("is_impossible", False)
                rows.append(row)
    return rows


def _serve(splits: dict, version: str):
    """An `as_dataset_fn` for `tfds.testing.mock_data` that serves the given documents' rows per split."""
    signature = {
        "id": tf.TensorSpec([], tf.string),
        "title": tf.TensorSpec([], tf.string),
        "context": tf.TensorSpec([], tf.string),
        "question": tf.TensorSpec([], tf.string),
        "answers": {"text": tf.TensorSpec([None], tf.string), "answer_start": tf.TensorSpec([None], tf.int32)},
    }
    if version == "2.0":
        signature["is_impossible"] = tf.TensorSpec([], tf.bool)

    def as_dataset(self, split, **kwargs):
        rows = _rows(splits[split], version)
        return tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=signature)

    return as_dataset


def _articles(data_dir, version: str, first: slice) -> dict:
    document = json.loads((data_dir / "squad" / FILES[version]).read_text(encoding="utf-8"))
    return dict(document, data=document["data"][first])


def _fields(example: squad.Example) -> tuple:
    return example.qid, example.question, example.context, example.answers, example.is_impossible, example.title


@pytest.mark.parametrize("version", ["1.1", "2.0"])
def test_tfds_rows_read_as_the_files_questions(data_dir, version):
    train, dev = _articles(data_dir, version, slice(0, 2)), _articles(data_dir, version, slice(-1, None))
    with tfds.testing.mock_data(as_dataset_fn=_serve({"train": train, "validation": dev}, version)):
        read = {split: tfds_squad.read_split(version, split) for split in ("train", "dev")}
    for split, document in (("train", train), ("dev", dev)):
        expected = squad.from_document(document, "file")
        assert [_fields(e) for e in read[split].examples] == [_fields(e) for e in expected.examples]
        assert read[split].titles == expected.titles and read[split].version == version
    assert read["dev"].source == "tfds:squad/v%s[validation]" % version
    assert read["dev"].has_unanswerable == (version == "2.0")


def test_tfds_rows_get_the_readers_checks():
    row = _rows(
        {"data": [{"title": "T", "paragraphs": [{"context": "abc def", "qas": [{"id": "q1", "question": "Q?",
         "answers": [{"text": "def", "answer_start": 3}]}]}]}]}, "1.1"
    )  # fmt: skip
    with pytest.raises(squad.SquadFormatError, match="question q1: the answer 'def' is not at answer_start 3"):
        squad.from_document(tfds_squad.document_from_rows(row, "1.1"), "tfds:squad/v1.1[train]")
    skipped = squad.from_document(tfds_squad.document_from_rows(row, "1.1"), "tfds", on_bad_example="skip")
    assert len(skipped) == 0 and len(skipped.skipped) == 1


def test_unprepared_dataset_and_unknown_split_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not prepared in .* --tfds_download"):
        tfds_squad.read_split("1.1", "dev", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="No TFDS SQuAD for version '3.0'"):
        tfds_squad.read_split("3.0", "dev")


def test_a_run_from_tfds_trains_on_train_and_scores_validation(saved_encoder, data_dir, tmp_path):
    train = _articles(data_dir, "1.1", slice(0, 1))
    train["data"][0]["paragraphs"] = train["data"][0]["paragraphs"][:3]
    dev = _articles(data_dir, "1.1", slice(-1, None))
    dev["data"][0]["paragraphs"] = dev["data"][0]["paragraphs"][:1]
    config = SquadConfig(sequence_length=64, doc_stride=32, max_query_length=16, batch_size=16, epochs=1)
    with tfds.testing.mock_data(as_dataset_fn=_serve({"train": train, "validation": dev}, "1.1")):
        results = run_squad_finetuning(
            None, saved_encoder, str(tmp_path / "run"), config, verbose=0, expected_version="1.1", source="tfds"
        )
    assert results["squad_file"] == "tfds:squad/v1.1[validation]"
    assert results["num_train_questions"] == sum(len(p["qas"]) for p in train["data"][0]["paragraphs"])
    predictions = json.loads((tmp_path / "run" / "trial_0" / "predictions.json").read_text())
    assert set(predictions) == {qa["id"] for qa in dev["data"][0]["paragraphs"][0]["qas"]}
    with pytest.raises(ValueError, match="needs expected_version '1.1' or '2.0'"):
        run_squad_finetuning(None, saved_encoder, str(tmp_path / "x"), config, source="tfds")
    with pytest.raises(ValueError, match="squad_file, held_out_articles do not apply with source='tfds'"):
        run_squad_finetuning(
            "dev.json", saved_encoder, str(tmp_path / "x"), SquadConfig(held_out_articles=2), source="tfds"
        )
