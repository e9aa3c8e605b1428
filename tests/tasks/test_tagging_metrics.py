"""conlleval's chunk F1 and token accuracy on hand-worked cases, IOB1, IOB2 and BIOES."""

import pytest

from electra_tf.tasks import tagging_metrics
from electra_tf.tasks.tagging_metrics import chunks


@pytest.mark.parametrize(
    "tags, expected",
    [
        # IOB2.
        (["B-NP", "I-NP", "O", "B-VP"], [("NP", 0, 2), ("VP", 3, 4)]),
        (["B-NP", "B-NP", "I-NP"], [("NP", 0, 1), ("NP", 1, 3)]),
        # IOB1: I- starts a chunk after O or another type; B- separates two chunks of one type.
        (["I-PER", "I-PER", "B-PER", "O", "I-LOC"], [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]),
        (["I-ORG", "I-LOC", "I-LOC"], [("ORG", 0, 1), ("LOC", 1, 3)]),
        # A type change inside a chunk splits it; a stray I- after O starts one (conlleval, not GR's get_span_labels).
        (["B-NP", "I-VP", "O", "I-NP"], [("NP", 0, 1), ("VP", 1, 2), ("NP", 3, 4)]),
        # BIOES.
        (["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"], [("PER", 0, 1), ("LOC", 1, 4), ("LOC", 4, 5)]),
        (["B-LOC", "E-LOC", "I-LOC"], [("LOC", 0, 2), ("LOC", 2, 3)]),
        (["E-LOC", "E-LOC"], [("LOC", 0, 1), ("LOC", 1, 2)]),
        ([], []),
        (["O", "O"], []),
    ],
)
def test_chunks_follow_conlleval(tags, expected):
    assert chunks(tags) == expected


def test_scores_worked_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "I-MISC"]]
    # Sentence 1: PER right, LOC missed (tagged ORG). Sentence 2: ORG right, MISC cut short, an extra PER.
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-PER", "B-MISC", "O"]]
    result = tagging_metrics.evaluate(gold, predicted)
    # Gold chunks 4 (PER, LOC, ORG, MISC); predicted 5 (PER, ORG, ORG, PER, MISC); correct 2 (PER 0-2, ORG 0-1).
    assert (result["gold_chunks"], result["predicted_chunks"], result["correct_chunks"]) == (4, 5, 2)
    assert result["precision"] == pytest.approx(2 / 5) and result["recall"] == pytest.approx(2 / 4)
    assert result["f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert result["accuracy"] == pytest.approx(5 / 8) and result["tokens"] == 8
    per_type = result["per_type"]
    assert per_type["PER"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "gold": 1, "predicted": 2, "correct": 1}
    )
    assert per_type["LOC"]["recall"] == 0.0 and per_type["LOC"]["precision"] == 0.0  # Nothing predicted: 0, not NaN.
    assert per_type["MISC"]["f1"] == 0.0 and per_type["ORG"]["precision"] == pytest.approx(0.5)


def test_iob1_gold_against_iob2_predictions_scores_the_chunks():
    """A prediction in IOB2 of exactly the IOB1 gold chunks scores F1 1, though token accuracy sees the prefixes."""
    gold = [["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]
    predicted = [["B-PER", "I-PER", "B-PER", "O", "B-LOC"]]
    result = tagging_metrics.evaluate(gold, predicted)
    assert result["f1"] == 1.0 and result["accuracy"] == pytest.approx(3 / 5)


def test_shape_mismatches_are_errors():
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        tagging_metrics.evaluate([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="Sentence 0: 2 gold tags but 1 predicted"):
        tagging_metrics.evaluate([["O", "O"]], [["O"]])
