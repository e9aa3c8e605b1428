"""CoNLL readers on the real files, the IOB1 -> IOB2 conversion, and bad lines named by file and line."""

import pytest

from electra_tf.tasks import conll, tag_schemes, tagging_metrics


@pytest.mark.parametrize(
    "task, split, sentences, words",
    [
        ("conll2000", "train", 8936, 211727),
        ("conll2000", "test", 2012, 47377),
        ("conll2003", "train", 14041, 203621),
        ("conll2003", "dev", 3250, 51362),
        ("conll2003", "test", 3453, 46435),
    ],
)
def test_real_files_read_whole(data_dir, task, split, sentences, words):
    tagged = conll.read_split(task, split, str(data_dir))
    assert len(tagged) == sentences and sum(len(s.words) for s in tagged.sentences) == words
    assert all(len(s.words) == len(s.tags) for s in tagged.sentences)
    assert all(tag == "O" or tag[:2] in ("B-", "I-") for s in tagged.sentences for tag in s.tags)
    assert "-DOCSTART-" not in {s.words[0] for s in tagged.sentences}


def test_conversion_on_the_real_files_keeps_every_chunk(data_dir):
    """Every IOB1 chunk of eng.train is the same chunk after IOB2 conversion, and IOB2 starts each with B-."""
    raw = _raw_tags(data_dir / "conll2003" / "eng.train", column=3)
    tagged = conll.read_split("conll2003", "train", str(data_dir))
    assert tagged.scheme == "IOB1" and tagged.converted == 23429  # I- tags that start an entity.
    assert [tagging_metrics.chunks(t) for t in raw] == [tagging_metrics.chunks(s.tags) for s in tagged.sentences]
    assert sum(len(tagging_metrics.chunks(s.tags)) for s in tagged.sentences) == 23499  # CoNLL-2003's count.
    for sentence in tagged.sentences:
        for previous, tag in zip(("O",) + sentence.tags, sentence.tags):
            assert not tag.startswith("I-") or previous[2:] == tag[2:]
    chunking = conll.read_split("conll2000", "train", str(data_dir))
    assert chunking.scheme == "IOB2" and chunking.converted == 0  # Already IOB2.
    assert chunking.types() == ["ADJP", "ADVP", "CONJP", "INTJ", "LST", "NP", "PP", "PRT", "SBAR", "UCP", "VP"]


def test_iob1_edge_cases():
    assert tag_schemes.to_iob2(["I-PER", "I-PER", "B-PER", "I-PER"]) == ["B-PER", "I-PER", "B-PER", "I-PER"]
    assert tag_schemes.to_iob2(["O", "I-LOC", "I-ORG", "O", "I-MISC"]) == ["O", "B-LOC", "B-ORG", "O", "B-MISC"]
    assert tag_schemes.to_iob2(["B-LOC", "I-LOC"]) == ["B-LOC", "I-LOC"]  # IOB2 stays as it is.
    assert tag_schemes.convert(["I-PER", "I-PER", "B-PER", "O", "I-LOC"], "BIOES") == [
        "B-PER",
        "E-PER",
        "S-PER",
        "O",
        "S-LOC",
    ]
    assert tag_schemes.labels_for(["PER", "LOC"], "IOB2") == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def _raw_tags(path, column: int) -> list:
    sentences, tags = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tags:
                sentences.append(tags)
            tags = []
        else:
            tags.append(fields[column])
    return sentences + ([tags] if tags else [])


@pytest.mark.parametrize(
    "text, message",
    [
        ("EU NNP I-NP I-ORG\nrejects VBZ I-VP\n", r"line 2: expected 4 columns \(word pos chunk ner\), found 3"),
        ("EU NNP I-NP X-ORG\n", r"line 1: tag 'X-ORG' is not O, B-TYPE or I-TYPE; conll2003 files are IOB1"),
        ("EU NNP I-NP S-ORG\n", r"line 1: tag 'S-ORG' is not O, B-TYPE or I-TYPE"),
        ("\n-DOCSTART- -X- -X- O\n\n", r"no sentences"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "eng.bad"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(conll.ConllFormatError, match=message) as error:
        conll.read_conll(str(path), conll.FORMATS["conll2003"])
    assert str(path) in str(error.value)


def test_bytes_that_are_not_utf8_name_the_line(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes("Confidence NN B-NP\n".encode() + "Zoë NNP B-NP\n".encode("latin-1"))
    with pytest.raises(conll.ConllFormatError, match=r"train.txt: line 2: not UTF-8 text .* iconv"):
        conll.read_conll(str(path), conll.FORMATS["conll2000"])


def test_missing_file_and_unknown_task(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file. Pass the data root"):
        conll.read_split("conll2000", "train", str(tmp_path))
    with pytest.raises(ValueError, match="conll2000 has no 'dev' split"):
        conll.read_split("conll2000", "dev", str(tmp_path))
    with pytest.raises(ValueError, match="Unknown tagging task 'ner'"):
        conll.read_split("ner", "train", str(tmp_path))
    with pytest.raises(ValueError, match="Sentence 0: 2 words but 1 tags"):
        conll.sentences_from_words([["a", "b"]], [["O"]])
