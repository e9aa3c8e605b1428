"""The SQuAD reader on the real dev files, and its errors on files cut from them and broken on purpose."""

import copy
import json

import pytest

from electra_tf.tasks import squad


@pytest.fixture(scope="module")
def v1_document(data_dir) -> dict:
    with open(data_dir / "squad" / "dev-v1.1.json", encoding="utf-8") as f:
        return json.load(f)


def _write(tmp_path, document, name="bad.json") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


def _first_article(document) -> dict:
    return dict(copy.deepcopy(document), data=copy.deepcopy(document["data"][:1]))


def test_real_files_and_the_documented_split(data_dir):
    v1 = squad.read_squad(str(data_dir / "squad" / "dev-v1.1.json"))
    v2 = squad.read_squad(str(data_dir / "squad" / "dev-v2.0-half.json"))
    assert (len(v1), len(v1.titles), v1.version, v1.has_unanswerable) == (10570, 48, "1.1", False)
    assert (len(v2), len(v2.titles), v2.version, sum(e.is_impossible for e in v2.examples)) == (6078, 16, "2.0", 3168)
    first = v1.examples[0]
    assert first.context[first.answers[0].start : first.answers[0].end] == first.answers[0].text
    train, held_out = squad.split_by_article(v1)
    assert (len(train), len(held_out)) == (8582, 1988)
    assert {e.title for e in held_out.examples} == set(v1.titles[-10:])
    assert (held_out.examples[0].title, held_out.examples[-1].title) == (
        "Intergovernmental_Panel_on_Climate_Change",
        "Force",
    )
    train2, held_out2 = squad.split_by_article(v2)
    assert (len(train2), len(held_out2), sum(e.is_impossible for e in held_out2.examples)) == (4449, 1629, 826)
    with pytest.raises(ValueError, match="has 48 articles: cannot hold out 48"):
        squad.split_by_article(v1, held_out=48)


def test_invalid_json_names_the_line_and_column(tmp_path):
    path = _write(tmp_path, '{"version": "1.1",\n "data": [\n  {"title": "x",, }]}')
    with pytest.raises(squad.SquadFormatError, match=r"bad.json: line 3, column 17: not valid JSON"):
        squad.read_squad(path)


@pytest.mark.parametrize(
    "document, message",
    [
        ({"version": "1.1"}, "not a SQuAD file: the top level must be an object with a `data` list"),
        ({"data": [{"title": "T"}]}, "article #0 is not an object with a `paragraphs` list"),
        ({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}, r"article 'T' \(#0\), paragraph #0: no `context`"),
    ],
)
def test_files_that_are_not_squad_are_errors_even_when_skipping(tmp_path, document, message):
    with pytest.raises(squad.SquadFormatError, match=message):
        squad.read_squad(_write(tmp_path, document), on_bad_example="skip")


def _break(document, change) -> dict:
    broken = _first_article(document)
    change(broken["data"][0]["paragraphs"][0])
    return broken


def _shift_answer(paragraph):
    paragraph["qas"][0]["answers"][0]["answer_start"] += 1


def _duplicate_id(paragraph):
    paragraph["qas"][1]["id"] = paragraph["qas"][0]["id"]


def _empty_context(paragraph):
    paragraph["context"] = "  "


def _impossible_with_answers(paragraph):
    paragraph["qas"][0]["is_impossible"] = True


def _no_answers(paragraph):
    paragraph["qas"][0]["answers"] = []


def _empty_question(paragraph):
    paragraph["qas"][0]["question"] = ""


@pytest.mark.parametrize(
    "change, message",
    [
        (
            _shift_answer,
            r"question 56be4db0acb8001400a502ec: the answer 'Denver Broncos' is not at answer_start 178 \(the context "
            r"there reads 'enver Broncos '; the text occurs at 177\)",
        ),
        (_duplicate_id, "question 56be4db0acb8001400a502ec: the id is used twice"),
        (_empty_context, "question 56be4db0acb8001400a502ec: the context is empty"),
        (_impossible_with_answers, "marked `is_impossible` but has 3 answers"),
        (_no_answers, r"no answers, and not marked `is_impossible` \(SQuAD 2.0's flag\)"),
        (_empty_question, "the `question` is missing or empty"),
    ],
)
def test_bad_questions_name_the_article_the_id_and_the_fix_or_are_skipped(v1_document, tmp_path, change, message):
    path = _write(tmp_path, _break(v1_document, change))
    with pytest.raises(squad.SquadFormatError, match=message) as raised:
        squad.read_squad(path)
    assert "article 'Super_Bowl_50' (#0), paragraph #0" in str(raised.value)
    assert "pass --on_bad_example=skip" in str(raised.value)
    good = len(squad.read_squad(_write(tmp_path, _first_article(v1_document), "good.json")))
    skipping = squad.read_squad(path, on_bad_example="skip")
    bad = len(v1_document["data"][0]["paragraphs"][0]["qas"]) if change is _empty_context else 1
    assert (len(skipping), len(skipping.skipped)) == (good - bad, bad)


def test_unknown_on_bad_example_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"on_bad_example must be one of \('error', 'skip'\)"):
        squad.read_squad(str(tmp_path / "x.json"), on_bad_example="ignore")
