"""Decoding an answer from span candidates: GR's exclusion rules, the best window, exact text and offsets."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models import qa_decoding
from electra_tf.models.qa_preprocessor import QuestionAnsweringPreprocessor

CONTEXT = "Zürich ist groß. The Denver Broncos defeated the Carolina Panthers to earn their third title."


@pytest.fixture(scope="module")
def windows(vocabulary):
    preprocessor = QuestionAnsweringPreprocessor(vocabulary, sequence_length=20, doc_stride=4, max_query_length=4)
    features = preprocessor.windows(tf.constant("Who won?"), tf.constant(CONTEXT))
    assert features["token_ids"].shape[0] >= 3
    return {key: value.numpy() for key, value in features.items()}


def _outputs(num_windows: int, candidates: dict, no_answer=None) -> dict:
    """`candidates`: {(window, start, end): score}; every other candidate slot scores -inf."""
    k = max(len([c for c in candidates if c[0] == w]) for w in range(num_windows)) or 1
    start_index = np.zeros((num_windows, k), np.int32)
    end_index = np.zeros((num_windows, k, k), np.int32)
    start_scores = np.zeros((num_windows, k), np.float32)
    end_scores = np.full((num_windows, k, k), -np.inf, np.float32)
    slot = [0] * num_windows
    for (window, start, end), score in candidates.items():
        start_index[window, slot[window]] = start
        end_index[window, slot[window], 0] = end
        end_scores[window, slot[window], 0] = score
        slot[window] += 1
    outputs = {
        "start_top_index": start_index,
        "start_top_scores": start_scores,
        "end_top_index": end_index,
        "end_top_scores": end_scores,
    }
    if no_answer is not None:
        outputs["no_answer_logit"] = np.asarray(no_answer, np.float32)
    return {key: tf.constant(value) for key, value in outputs.items()}


def _decode(windows, outputs, **kwargs) -> dict:
    answer = qa_decoding.decode(
        tf.constant(CONTEXT), {k: tf.constant(v) for k, v in windows.items()}, outputs, **kwargs
    )
    return {k: v.numpy().decode() if v.dtype == tf.string else v.numpy().item() for k, v in answer.items()}


def _context_positions(windows, window: int) -> list:
    """Positions of `window` that hold context tokens, and among them those it holds with the most context."""
    return list(np.flatnonzero(windows["token_starts"][window] >= 0)), set(
        np.flatnonzero(windows["is_max_context"][window])
    )


def test_excluded_candidates_lose_to_a_worse_valid_one(windows):
    positions, owned = _context_positions(windows, 1)
    first_owned = min(owned)
    not_owned = [p for p in positions if p not in owned][0]
    question = 2  # A question token: outside the context.
    final_sep = positions[-1] + 1
    candidates = {
        (1, 0, 0): 9.0,  # Starts at [CLS].
        (1, question, first_owned): 8.0,  # Starts in the question.
        (1, first_owned, final_sep): 7.0,  # Ends on the final [SEP].
        (1, first_owned + 1, first_owned): 6.0,  # Ends before it starts.
        (1, first_owned, first_owned + 2): 5.0,  # 3 tokens, over max_answer_length=2.
        (1, not_owned, not_owned): 4.0,  # Starts on a token another window holds with more context.
        (1, first_owned, first_owned + 1): 1.0,  # Valid.
    }
    answer = _decode(windows, _outputs(windows["token_ids"].shape[0], candidates), max_answer_length=2)
    begin, end = windows["token_starts"][1, first_owned], windows["token_ends"][1, first_owned + 1]
    expected = CONTEXT.encode()[begin:end].decode()
    assert answer["span"] == answer["answer"] == expected and answer["score"] == 1.0 and answer["has_answer"]
    assert CONTEXT[answer["start_char"] : answer["end_char"]] == expected


def test_the_best_window_wins_and_ties_go_to_the_first(windows):
    count = windows["token_ids"].shape[0]
    picks = [(w, min(_context_positions(windows, w)[1])) for w in range(count) if _context_positions(windows, w)[1]]
    candidates = {(w, p, p): 3.0 for w, p in picks}
    answer = _decode(windows, _outputs(count, candidates))
    w, p = picks[0]
    assert answer["span"] == CONTEXT.encode()[windows["token_starts"][w, p] : windows["token_ends"][w, p]].decode()
    w, p = picks[-1]
    candidates[(w, p, p)] = 3.5
    answer = _decode(windows, _outputs(count, candidates))
    assert answer["span"] == CONTEXT.encode()[windows["token_starts"][w, p] : windows["token_ends"][w, p]].decode()


def test_non_ascii_offsets_are_characters(windows):
    """'Zürich' is 6 characters and 7 bytes: offsets after it count characters."""
    position = min(_context_positions(windows, 0)[1])
    assert windows["token_starts"][0, position] == 0
    window = next(
        w
        for w in range(windows["token_ids"].shape[0])
        if CONTEXT.encode().find(b"Denver") in set(windows["token_starts"][w])
    )
    start = int(np.flatnonzero(windows["token_starts"][window] == CONTEXT.encode().find(b"Denver"))[0])
    if start not in _context_positions(windows, window)[1]:
        pytest.skip("Denver is held with more context by another window at this stride.")
    answer = _decode(windows, _outputs(windows["token_ids"].shape[0], {(window, start, start + 1): 1.0}))
    assert CONTEXT[answer["start_char"] : answer["end_char"]] == answer["span"]
    assert answer["start_char"] == CONTEXT.index("Denver") and answer["span"].startswith("Den")


def test_no_candidate_and_the_no_answer_threshold(windows):
    count = windows["token_ids"].shape[0]
    nothing = _decode(windows, _outputs(count, {(0, 0, 0): 1.0}))
    assert (nothing["answer"], nothing["span"], nothing["start_char"], nothing["has_answer"]) == ("", "", -1, False)
    position = min(_context_positions(windows, 0)[1])
    candidates = {(0, position, position): 1.0}
    no_answer = [-3.0] + [5.0] * (count - 1)  # The smallest over windows counts: GR's score_null.
    kept = _decode(windows, _outputs(count, candidates, no_answer), no_answer_threshold=-2.75)
    assert kept["has_answer"] and kept["answer"] == kept["span"] != "" and kept["no_answer_logit"] == -3.0
    emptied = _decode(windows, _outputs(count, candidates, [-2.0] * count), no_answer_threshold=-2.75)
    assert not emptied["has_answer"] and emptied["answer"] == "" and emptied["span"] == kept["span"]
