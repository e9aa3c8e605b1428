"""Picks one example's answer from its windows' span candidates, with graph ops: `predict` and serving share it.

google-research/electra's `SpanBasedQAScorer.write_predictions` (`finetune/qa/qa_metrics.py`), for the best answer:
- candidates are each window's top starts times their top ends, scored start + end (log-probabilities for GR's joint
  head, logits for an independent one);
- a candidate is dropped if it starts at `[CLS]`, starts or ends outside the window's context, starts on a token
  another window holds with more context, ends before it starts, or is longer than `max_answer_length` tokens;
- the best surviving candidate over all windows wins (the first on ties, in window, start, end order, as GR's stable
  sort); with none, the answer is empty.
The answer's text is the context's own bytes between its first token's start and last token's end, so it is exact
where GR's `get_final_text` aligns strings heuristically. For SQuAD 2.0, the no-answer logit is the smallest over the
windows (GR's `score_null`); above `no_answer_threshold` (GR's `qa_na_threshold`, -2.75) the answer is empty.
"""

import tensorflow as tf

NO_ANSWER_THRESHOLD = -2.75  # google-research/electra's qa_na_threshold: a logit, sigmoid(-2.75) = 0.06.


def decode(context, windows: dict, outputs: dict, max_answer_length: int = 30, no_answer_threshold=None) -> dict:
    """One example's answer.

    Args:
        context: scalar string, the example's context.
        windows: the example's `QuestionAnsweringPreprocessor.windows`, `(W, ...)`.
        outputs: the `SpanHead`'s inference outputs for those windows.
        max_answer_length: int. Longest answer, in tokens. Defaults to 30 (GR's).
        no_answer_threshold: float or None. With a no-answer logit, the answer is empty above it. None never empties
            the answer (SQuAD 1.1). Defaults to None.

    Returns:
        dict of scalars. `span`: the best span's text ("" when no candidate survives), with `start_char` and
        `end_char` (int32 character offsets in `context`, -1 without a span) and `score` (float32, its start + end
        score). `no_answer_logit` (float32, -inf without the classifier). `has_answer`: a span survived and the
        no-answer logit is not above the threshold. `answer`: `span` if `has_answer`, else "".
    """
    start_index, end_index = outputs["start_top_index"], outputs["end_top_index"]  # (W, K), (W, K, K)
    starts = tf.broadcast_to(start_index[:, :, tf.newaxis], tf.shape(end_index))
    scores = outputs["start_top_scores"][:, :, tf.newaxis] + outputs["end_top_scores"]
    token_starts, token_ends = windows["token_starts"], windows["token_ends"]
    at = lambda table, index: tf.gather(table, index, batch_dims=1)  # noqa: E731  (W, L) at (W, K, K).
    flat = lambda t: tf.reshape(t, [tf.shape(t)[0], -1])  # noqa: E731
    begin = tf.reshape(at(token_starts, flat(starts)), tf.shape(end_index))
    finish = tf.reshape(at(token_ends, flat(end_index)), tf.shape(end_index))
    max_context = tf.reshape(at(windows["is_max_context"], flat(starts)), tf.shape(end_index))
    valid = (
        (starts != 0)
        & (begin >= 0)
        & (finish >= 0)
        & max_context
        & (end_index >= starts)
        & (end_index - starts + 1 <= max_answer_length)
    )
    scores = tf.reshape(tf.where(valid, scores, -float("inf")), [-1])
    best = tf.reduce_max(scores)
    found = best > -float("inf")
    first = tf.reduce_min(tf.where(scores == best, tf.range(tf.size(scores)), tf.size(scores)))
    first = tf.minimum(first, tf.size(scores) - 1)
    byte_begin = tf.where(found, tf.reshape(begin, [-1])[first], 0)
    byte_end = tf.where(found, tf.reshape(finish, [-1])[first], 0)
    no_answer_logit = tf.reduce_min(outputs["no_answer_logit"]) if "no_answer_logit" in outputs else -float("inf")
    has_answer = found
    if no_answer_threshold is not None:
        has_answer = has_answer & (no_answer_logit <= no_answer_threshold)
    return _answer(context, byte_begin, byte_end, has_answer, tf.where(found, best, 0.0), no_answer_logit)


def _answer(context, byte_begin, byte_end, has_answer, score, no_answer_logit) -> dict:
    text = tf.strings.substr(context, byte_begin, byte_end - byte_begin)
    start_char = tf.strings.length(tf.strings.substr(context, 0, byte_begin), unit="UTF8_CHAR")
    end_char = start_char + tf.strings.length(text, unit="UTF8_CHAR")
    found = byte_end > byte_begin
    return {
        "answer": tf.where(has_answer, text, ""),
        "span": text,
        "start_char": tf.where(found, start_char, -1),
        "end_char": tf.where(found, end_char, -1),
        "score": tf.cast(score, tf.float32),
        "no_answer_logit": tf.cast(no_answer_logit, tf.float32),
        "has_answer": has_answer,
    }
