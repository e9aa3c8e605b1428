"""Task readers on the real GLUE files, MNLI and QQP on fixtures in their official formats, and bad rows."""

import json

import numpy as np
import pytest

from electra_tf.tasks import reader, registry
from electra_tf.tasks.reader import MalformedRowError

DEV_ROWS = {"cola": 1043, "sst-2": 872, "mrpc": 408, "sts-b": 1500, "rte": 277, "qnli": 5463, "wnli": 71}
TRAIN_ROWS = {"cola": 8551, "sst-2": 67349, "mrpc": 3668, "sts-b": 5749, "rte": 2490, "wnli": 635}
TEST_ROWS = {"cola": 1063, "sst-2": 1821, "mrpc": 1725, "sts-b": 1379, "rte": 3000, "qnli": 5463, "wnli": 146}


@pytest.mark.parametrize("name", sorted(DEV_ROWS))
def test_real_dev_files(glue_dir, name):
    task = registry.get(name)
    examples = reader.read_split(task, str(glue_dir), "dev")
    assert len(examples) == DEV_ROWS[name]
    assert len(examples.labels) == len(examples) and examples.skipped == 0
    assert (examples.text_b is not None) == task.is_pair
    assert all(isinstance(t, str) and t for t in examples.text_a)
    if task.is_regression:
        assert examples.labels.dtype == np.float32 and 0 <= examples.labels.min() and examples.labels.max() <= 5
    else:
        assert set(np.unique(examples.labels)) == set(range(len(task.labels)))  # Every label occurs.


@pytest.mark.parametrize("name", sorted(TRAIN_ROWS))
def test_real_train_files(glue_dir, name):
    assert len(reader.read_split(registry.get(name), str(glue_dir), "train")) == TRAIN_ROWS[name]


@pytest.mark.parametrize("name", sorted(TEST_ROWS))
def test_real_test_files(glue_dir, name):
    examples = reader.read_split(registry.get(name), str(glue_dir), "test")
    assert len(examples) == TEST_ROWS[name] and examples.labels is None
    assert examples.ids[:2] == ["0", "1"]


def test_column_conventions(glue_dir):
    cola = reader.read_split(registry.get("CoLA"), str(glue_dir), "dev")  # No header: the first row is data.
    assert cola.text_a[0] == "The sailors rode the breeze clear of the rocks." and cola.labels[0] == 1
    mrpc = reader.read_split(registry.get("MRPC"), str(glue_dir), "dev")  # The header's BOM is dropped.
    assert mrpc.text_a[0].startswith("He said the foodservice pie business") and mrpc.labels[0] == 1
    stsb = reader.read_split(registry.get("STS-B"), str(glue_dir), "dev")
    assert stsb.text_a[0] == "A man with a hard hat is dancing." and stsb.labels[0] == 5.0
    rte = reader.read_split(registry.get("rte"), str(glue_dir), "dev")
    assert registry.get("rte").labels[rte.labels[0]] == "not_entailment"


MNLI_TRAIN_HEADER = "index promptID pairID genre sentence1_binary_parse sentence2_binary_parse sentence1_parse sentence2_parse sentence1 sentence2 label1 gold_label"
MNLI_DEV_HEADER = MNLI_TRAIN_HEADER.replace("label1 gold_label", "label1 label2 label3 label4 label5 gold_label")
MNLI_TEST_HEADER = MNLI_TRAIN_HEADER.replace(" label1 gold_label", "")


def _tsv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header.replace(" ", "\t")] if header else []) + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _mnli_row(i, s1, s2, labels):
    return [
        str(i),
        "31193",
        f"{i}n",
        "government",
        "( ( x ) )",
        "( ( y ) )",
        "(ROOT (S x))",
        "(ROOT (S y))",
        s1,
        s2,
        *labels,
    ]


@pytest.fixture()
def fixture_glue(tmp_path):
    mnli = tmp_path / "MNLI"
    _tsv(
        mnli / "train.tsv",
        MNLI_TRAIN_HEADER,
        [
            _mnli_row(
                0,
                "Conceptually cream skimming has two basic dimensions.",
                "Product and geography are what make cream skimming work.",
                ["neutral", "neutral"],
            ),
            _mnli_row(1, 'He said "yes.', "He agreed.", ["entailment", "entailment"]),  # A stray quote.
        ],
    )
    dev = [
        _mnli_row(
            0,
            "The new rights are nice enough",
            "Everyone really likes the newest benefits",
            ["neutral"] * 5 + ["neutral"],
        ),
        _mnli_row(1, "This site includes a list.", "The site has no list.", ["contradiction"] * 5 + ["contradiction"]),
    ]
    _tsv(mnli / "dev_matched.tsv", MNLI_DEV_HEADER, dev)
    _tsv(mnli / "dev_mismatched.tsv", MNLI_DEV_HEADER, dev[:1])
    _tsv(mnli / "test_matched.tsv", MNLI_TEST_HEADER, [_mnli_row(7, "A b.", "C d.", [])])
    qqp = tmp_path / "QQP"
    header = "id qid1 qid2 question1 question2 is_duplicate"
    _tsv(
        qqp / "train.tsv",
        header,
        [
            [
                "133273",
                "213221",
                "213222",
                "How is the life of a math student?",
                "Which level of prepration is enough?",
                "0",
            ],
            [
                "402555",
                "536040",
                "536041",
                "How do I control my horny emotions?",
                "How do you control your horniness?",
                "1",
            ],
        ],
    )
    _tsv(
        qqp / "dev.tsv",
        header,
        [
            [
                "201359",
                "303345",
                "303346",
                "Why are African-Americans so beautiful?",
                "Why are hispanics so beautiful?",
                "0",
            ]
        ],
    )
    _tsv(qqp / "test.tsv", "id question1 question2", [["0", "Why do rockets look white?", "Why are rockets white?"]])
    return tmp_path


def test_mnli_fixture(fixture_glue):
    task = registry.get("mnli")
    train = reader.read_split(task, str(fixture_glue), "train")
    assert [task.labels[i] for i in train.labels] == ["neutral", "entailment"]
    assert train.text_a[1] == 'He said "yes.' and train.text_b[1] == "He agreed."  # The quote shifts nothing.
    matched = reader.read_split(task, str(fixture_glue), "dev")
    assert [task.labels[i] for i in matched.labels] == ["neutral", "contradiction"]
    assert len(reader.read_split(task, str(fixture_glue), "dev_mismatched")) == 1
    test = reader.read_split(task, str(fixture_glue), "test")
    assert test.ids == ["7"] and test.labels is None and test.text_b == ["C d."]
    assert task.submission_name("test") == "MNLI-m"


def test_qqp_fixture(fixture_glue):
    task = registry.get("QQP")
    train = reader.read_split(task, str(fixture_glue), "train")
    assert list(train.labels) == [0, 1] and train.text_b[1] == "How do you control your horniness?"
    assert len(reader.read_split(task, str(fixture_glue), "dev")) == 1
    test = reader.read_split(task, str(fixture_glue), "test")
    assert test.text_a == ["Why do rockets look white?"] and test.text_b == ["Why are rockets white?"]


def test_malformed_rows(tmp_path):
    task = registry.get("rte")
    path = tmp_path / "RTE" / "dev.tsv"
    _tsv(
        path,
        "index sentence1 sentence2 label",
        [["0", "A.", "B.", "entailment"], ["1", "C.", "not_entailment"], ["2", "E.", "F.", "maybe"]],
    )
    with pytest.raises(MalformedRowError, match=r"dev.tsv:3: has 3 columns, expected 4 in '1\\tC.\\tnot_entailment'"):
        reader.read_split(task, str(tmp_path), "dev")
    skipped = reader.read_split(task, str(tmp_path), "dev", on_error="skip")
    assert len(skipped) == 1 and skipped.skipped == 2
    _tsv(path, "index sentence1 sentence2 label", [["0", "A.", "B.", "maybe"]])
    with pytest.raises(
        MalformedRowError, match=r"dev.tsv:2: label 'maybe' is not one of \['entailment', 'not_entailment'\]"
    ):
        reader.read_split(task, str(tmp_path), "dev")
    stsb = tmp_path / "STS-B" / "dev.tsv"
    header = [
        "index",
        "genre",
        "filename",
        "year",
        "old_index",
        "source1",
        "source2",
        "sentence1",
        "sentence2",
        "score",
    ]
    _tsv(stsb, None, [header, ["0", "g", "f", "y", "0", "s", "s", "A.", "B.", "high"]])
    with pytest.raises(MalformedRowError, match="label 'high' is not a number"):
        reader.read_split(registry.get("sts-b"), str(tmp_path), "dev")
    (tmp_path / "RTE" / "train.tsv").write_bytes(b"index\tsentence1\tsentence2\tlabel\n0\t\xff\tB.\tentailment\n")
    with pytest.raises(MalformedRowError, match=r"train.tsv:2: not valid UTF-8"):
        reader.read_split(task, str(tmp_path), "train")


def test_missing_file_and_unknown_task(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"RTE[/\\]train.tsv.*does not exist.*--data_dir"):
        reader.read_split(registry.get("rte"), str(tmp_path), "train")
    with pytest.raises(ValueError, match="Unknown task 'glue-x'. Known tasks: cola, mnli, mrpc"):
        registry.get("glue-x")
    with pytest.raises(ValueError, match="has no split 'validation'"):
        reader.read_split(registry.get("rte"), str(tmp_path), "validation")


def test_user_task_from_json(tmp_path):
    spec = {
        "name": "reviews",
        "kind": "classification",
        "labels": ["neg", "pos"],
        "metrics": ["accuracy", "f1"],
        "delimiter": ",",
        "files": {"train": "train.csv", "dev": "dev.csv"},
        "labelled": {"text_a": 1, "label": 0, "num_columns": 2, "header": True},
    }
    (tmp_path / "reviews").mkdir()
    (tmp_path / "reviews" / "train.csv").write_text("label,text\npos,Great book\nneg,Dull\n")
    spec_path = tmp_path / "reviews.json"
    spec_path.write_text(json.dumps(spec))
    task = registry.get(str(spec_path))
    examples = reader.read_split(task, str(tmp_path), "train")
    assert examples.text_a == ["Great book", "Dull"] and list(examples.labels) == [1, 0]
    spec_path.write_text(json.dumps(dict(spec, colour="red")))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['colour'\]"):
        registry.get(str(spec_path))
    spec_path.write_text(json.dumps(dict(spec, metrics=["spearman"])))
    with pytest.raises(ValueError, match="does not suit a classification task"):
        registry.get(str(spec_path))


@pytest.mark.parametrize("name, split", [("rte", "dev"), ("mrpc", "train"), ("sts-b", "dev"), ("sst-2", "test")])
def test_a_real_file_without_its_header_is_refused_not_shortened(glue_dir, tmp_path, name, split):
    """Issue 20: a file cut from the real one, header removed, used to lose its first row without a word."""
    task = registry.get(name)
    source = reader.task_file(task, str(glue_dir), split)
    lines = open(source, encoding="utf-8-sig").read().splitlines()[1:41]
    headerless = tmp_path / task.folder / task.files[split]
    headerless.parent.mkdir(parents=True)
    headerless.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MalformedRowError, match=rf"{task.files[split]}:1: expected {name}'s header line \(columns "):
        reader.read_split(task, str(tmp_path), split)
    with pytest.raises(MalformedRowError, match=r'set "header": false for this split in the task spec'):
        reader.read_split(task, str(tmp_path), split, on_error="skip")  # Skipping bad rows does not skip this.
    headerless.write_text(open(source, encoding="utf-8-sig").read()[:20000].rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    assert len(reader.read_split(task, str(tmp_path), split)) > 10  # With its header, the same file reads.


def test_a_user_task_without_header_names_refuses_a_first_line_that_is_an_example(tmp_path):
    spec = {
        "name": "reviews",
        "kind": "classification",
        "labels": ["neg", "pos"],
        "metrics": ["accuracy"],
        "files": {"train": "train.tsv"},
        "labelled": {"text_a": 0, "label": 1, "num_columns": 2, "header": True},
    }
    (tmp_path / "reviews").mkdir()
    (tmp_path / "reviews" / "train.tsv").write_text("Great film.\tpos\nDull.\tneg\n", encoding="utf-8")
    task = registry.task_from_dict(spec)
    with pytest.raises(
        MalformedRowError, match=r"train.tsv:1: the first line holds the label 'pos', so it is an example"
    ):
        reader.read_split(task, str(tmp_path), "train")
    no_header = registry.task_from_dict(dict(spec, labelled=dict(spec["labelled"], header=False)))
    assert reader.read_split(no_header, str(tmp_path), "train").text_a == ["Great film.", "Dull."]
    (tmp_path / "reviews" / "train.tsv").write_text("text\tsentiment\nGreat film.\tpos\n", encoding="utf-8")
    assert reader.read_split(task, str(tmp_path), "train").text_a == ["Great film."]
    named = registry.task_from_dict(dict(spec, labelled=dict(spec["labelled"], header_names={"text_a": "review"})))
    with pytest.raises(MalformedRowError, match=r"expected reviews's header line \(columns text_a 'review'\)"):
        reader.read_split(named, str(tmp_path), "train")
    with pytest.raises(ValueError, match="header_names names 'text_b', which is not a column this format reads"):
        registry.task_from_dict(dict(spec, labelled=dict(spec["labelled"], header_names={"text_b": "x"})))
