"""Our SQuAD EM and F1 equal the official scripts' on the same predictions: 1.1 and 2.0, on the real dev files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from electra_tf.tasks import squad, squad_metrics


def _predictions(examples: list, seed: int) -> dict:
    """Answers of every kind the metrics treat differently: right, padded, partial, wrong, empty, re-cased."""
    rng = np.random.default_rng(seed)
    predictions = {}
    for example in examples:
        gold = example.answers[int(rng.integers(len(example.answers)))].text if example.answers else ""
        words = example.context.split()
        start = int(rng.integers(len(words)))
        span = " ".join(words[start : start + int(rng.integers(1, 6))])
        kind = int(rng.integers(8))
        if kind == 0 or (kind == 1 and not gold):
            predictions[example.qid] = gold
        elif kind == 1:
            predictions[example.qid] = f"the {gold.upper()}!"
        elif kind == 2 and len(gold.split()) > 1:
            predictions[example.qid] = " ".join(gold.split()[1:])
        elif kind == 3:
            predictions[example.qid] = f"{gold} {span}".strip()
        elif kind == 4:
            predictions[example.qid] = ""
        elif kind == 5:
            predictions[example.qid] = "a an the ,."
        else:
            predictions[example.qid] = span
    return predictions


def _official(data_dir, script: str, data: dict, predictions: dict, tmp_path, *flags) -> dict:
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "predictions.json").write_text(json.dumps(predictions))
    result = subprocess.run(
        [sys.executable, script, str(tmp_path / "data.json"), str(tmp_path / "predictions.json"), *flags],
        cwd=data_dir / "squad",
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _held_out_document(path, held_out: int) -> dict:
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    return dict(document, data=document["data"][-held_out:])


def test_v1_equals_the_official_script_on_the_held_out_articles(data_dir, tmp_path):
    path = data_dir / "squad" / "dev-v1.1.json"
    _, held_out = squad.split_by_article(squad.read_squad(str(path)))
    predictions = _predictions(held_out.examples, seed=0)
    for qid in list(predictions)[:7]:  # Missing answers score 0 and still count.
        del predictions[qid]
    ours = squad_metrics.evaluate_v1(held_out.examples, predictions)
    official = _official(data_dir, "evaluate-v1.1.py", _held_out_document(path, 10), predictions, tmp_path)
    assert ours == official
    assert 20 < ours["exact_match"] < 40 and ours["f1"] > ours["exact_match"]  # A mix, not all right or all wrong.


def test_v2_equals_the_official_script_with_and_without_no_answer_probabilities(data_dir, tmp_path):
    path = data_dir / "squad" / "dev-v2.0-half.json"
    examples = squad.read_squad(str(path)).examples
    predictions = _predictions(examples, seed=1)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert squad_metrics.evaluate_v2(examples, predictions) == _official(
        data_dir, "evaluate-v2.0.py", document, predictions, tmp_path
    )
    rng = np.random.default_rng(2)
    na_probs = {e.qid: float(rng.choice([0.0, 0.25, 0.5, rng.random()])) for e in examples}
    (tmp_path / "na.json").write_text(json.dumps(na_probs))
    ours = squad_metrics.evaluate_v2(examples, predictions, na_probs, na_prob_thresh=0.4)
    official = _official(
        data_dir, "evaluate-v2.0.py", document, predictions, tmp_path, "--na-prob-file", str(tmp_path / "na.json"),
        "--na-prob-thresh", "0.4",
    )  # fmt: skip
    assert ours == {key: official[key] for key in ours}
    assert {"HasAns_exact", "NoAns_f1", "best_f1", "best_exact_thresh"} <= set(ours)


@pytest.mark.parametrize(
    "prediction, reference, exact, f1_v1, f1_v2",
    [
        ("The Eiffel Tower!", "eiffel tower", 1, 1.0, 1.0),  # Case, articles and punctuation go.
        ("Eiffel", "the Eiffel Tower", 0, 2 / 3, 2 / 3),  # Precision 1, recall 1/2.
        ("", "", 1, 0.0, 1.0),  # Both empty: 1.1 scores F1 0, 2.0 scores 1.
        ("the", "", 1, 0.0, 1.0),  # Only an article normalizes to nothing.
        ("Paris", "", 0, 0.0, 0.0),
        ("café au lait", "Café au lait.", 1, 1.0, 1.0),  # Non-ASCII letters are lower-cased, not dropped.
        ("red red blue", "red blue blue", 0, 2 / 3, 2 / 3),  # Overlap counts multiplicity.
    ],
)
def test_hand_worked_cases(prediction, reference, exact, f1_v1, f1_v2):
    assert squad_metrics.exact_match(prediction, reference) == exact
    assert squad_metrics.f1(prediction, reference, empty_agrees=False) == pytest.approx(f1_v1)
    assert squad_metrics.f1(prediction, reference) == pytest.approx(f1_v2)


def test_v2_names_a_missing_prediction():
    examples = [squad.Example("q1", "Who?", "Ann ran.", (squad.Answer("Ann", 0),)), squad.Example("q2", "?", "x", ())]
    with pytest.raises(ValueError, match=r"1 of 2 questions have no prediction \(the first: q2\)"):
        squad_metrics.evaluate_v2(examples, {"q1": "Ann"})
