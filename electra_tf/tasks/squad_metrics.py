"""SQuAD's exact match and F1, as the official evaluation scripts define them, for 1.1 and 2.0.

Our own code, held to the official scripts' figures on the same predictions (`tests/tasks/test_squad_metrics.py`
runs the scripts from the shared data folder). The two versions differ, and each is followed:
- 1.1 scores a question missing from the predictions 0 and counts it; an empty prediction or reference scores F1 0.
- 2.0 drops references that normalize to nothing (an unanswerable question's reference is ""), gives F1 1 when
  both the prediction and the reference are empty, and reports HasAns and NoAns subsets. The official script
  silently leaves missing questions out of its total, then fails on them in the subsets: here a missing question is
  an error that names it.
- With no-answer probabilities, 2.0 also reports the best exact match and F1 over thresholds (`best_thresholds`),
  the official `best_exact` / `best_f1`, and predictions are made empty where the probability exceeds
  `na_prob_thresh`.
"""

import collections
import re
import string
from typing import Optional

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles (a, an, the), single spaces: the official normalization."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> int:
    return int(normalize_answer(prediction) == normalize_answer(reference))


def f1(prediction: str, reference: str, empty_agrees: bool = True) -> float:
    """Token-overlap F1 of the normalized texts.

    Args:
        prediction: str.
        reference: str.
        empty_agrees: bool. 2.0's rule: if either text is empty after normalization, F1 is 1 when both are and 0
            otherwise. 1.1 scores every empty text 0. Defaults to True.
    """
    predicted, gold = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if empty_agrees and (not predicted or not gold):
        return float(predicted == gold)
    common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def evaluate_v1(examples: list, predictions: dict) -> dict:
    """`{"exact_match", "f1"}` in percent, as `evaluate-v1.1.py` computes them.

    Args:
        examples: `squad.Example`s.
        predictions: dict of question id to answer text. Missing questions score 0 and are counted.
    """
    exact = total_f1 = 0.0
    for example in examples:
        if example.qid not in predictions:
            continue
        prediction, references = predictions[example.qid], [answer.text for answer in example.answers]
        exact += max(exact_match(prediction, reference) for reference in references)
        total_f1 += max(f1(prediction, reference, empty_agrees=False) for reference in references)
    count = len(examples)
    return {"exact_match": 100.0 * exact / count, "f1": 100.0 * total_f1 / count}


def raw_scores_v2(examples: list, predictions: dict) -> tuple:
    """({qid: exact}, {qid: f1}) before any no-answer threshold, as `evaluate-v2.0.py`'s `get_raw_scores`."""
    missing = [example.qid for example in examples if example.qid not in predictions]
    if missing:
        raise ValueError(
            f"{len(missing)} of {len(examples)} questions have no prediction (the first: {missing[0]}). SQuAD 2.0 "
            'scores every question: predict "" for no answer.'
        )
    exact, f1s = {}, {}
    for example in examples:
        references = [a.text for a in example.answers if normalize_answer(a.text)] or [""]
        prediction = predictions[example.qid]
        exact[example.qid] = max(exact_match(prediction, reference) for reference in references)
        f1s[example.qid] = max(f1(prediction, reference) for reference in references)
    return exact, f1s


def evaluate_v2(
    examples: list, predictions: dict, na_probs: Optional[dict] = None, na_prob_thresh: float = 1.0
) -> dict:
    """The figures of `evaluate-v2.0.py` (without its precision-recall curves), in percent.

    Args:
        examples: `squad.Example`s.
        predictions: dict of question id to answer text, "" for no answer.
        na_probs: dict of question id to the no-answer probability, or None (all 0). Defaults to None.
        na_prob_thresh: float. A question whose no-answer probability exceeds it counts as answered "". Defaults
            to 1.0, the script's.

    Returns:
        dict: `exact`, `f1`, `total`; `HasAns_*` and `NoAns_*` for the subsets present; with `na_probs`,
        `best_exact`, `best_exact_thresh`, `best_f1` and `best_f1_thresh`.
    """
    exact_raw, f1_raw = raw_scores_v2(examples, predictions)
    has_answer = {example.qid: bool(example.answers) for example in examples}
    probabilities = na_probs if na_probs is not None else {qid: 0.0 for qid in predictions}
    exact = _thresholded(exact_raw, probabilities, has_answer, na_prob_thresh)
    f1s = _thresholded(f1_raw, probabilities, has_answer, na_prob_thresh)
    result = _summary(exact, f1s, list(exact))
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        subset = [qid for qid, answerable in has_answer.items() if answerable == wanted]
        if subset:
            result.update({f"{prefix}_{key}": value for key, value in _summary(exact, f1s, subset).items()})
    if na_probs is not None:
        for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
            result[f"best_{name}"], result[f"best_{name}_thresh"] = best_threshold(
                predictions, raw, na_probs, has_answer
            )
    return result


def _thresholded(scores: dict, na_probs: dict, has_answer: dict, threshold: float) -> dict:
    return {qid: (float(not has_answer[qid]) if na_probs[qid] > threshold else score) for qid, score in scores.items()}


def _summary(exact: dict, f1s: dict, qids: list) -> dict:
    return {
        "exact": 100.0 * sum(exact[q] for q in qids) / len(qids),
        "f1": 100.0 * sum(f1s[q] for q in qids) / len(qids),
        "total": len(qids),
    }


def best_threshold(predictions: dict, scores: dict, na_probs: dict, has_answer: dict) -> tuple:
    """(best score in percent, threshold): the no-answer threshold that maximizes `scores`, as the official script.

    Questions are taken in order of increasing no-answer probability; answering each one changes the score by its
    own score (answerable), by -1 for a non-empty answer to an unanswerable one, and by 0 otherwise.
    """
    score = best = sum(1 for answerable in has_answer.values() if not answerable)
    threshold = 0.0
    for qid in sorted(na_probs, key=lambda q: na_probs[q]):
        if qid not in scores:
            continue
        if has_answer[qid]:
            score += scores[qid]
        elif predictions[qid]:
            score -= 1
        if score > best:
            best, threshold = score, na_probs[qid]
    return 100.0 * best / len(scores), threshold
