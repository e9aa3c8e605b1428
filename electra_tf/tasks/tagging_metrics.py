"""Chunk and entity F1 as the CoNLL shared tasks' `conlleval` script defines them, and token accuracy.

A chunk is a maximal run of words with one type. Where it starts and ends follows conlleval's `startOfChunk` and
`endOfChunk`, so IOB1, IOB2 and IOBES tags are all read as conlleval reads them:
- a chunk ends before `B`, `S` or `O`, after `E` or `S`, and wherever the type changes;
- a chunk starts at `B` and `S`, at an `I` or `E` after `O`, `E` or `S`, and wherever the type changes.

A predicted chunk is correct when a gold chunk has the same type, start and end. Precision, recall and F1 are
micro-averaged over all chunks, and per type; token accuracy counts the words whose tag equals the gold tag, `O`
included (conlleval's "accuracy"). Sentences are scored separately: no chunk crosses a sentence boundary. The
readers convert gold tags to IOB2 and predictions are IOB2, so on CoNLL-2003 token accuracy compares IOB2 tags, where
conlleval run on the original IOB1 file would compare IOB1 ones; the chunk figures are the same either way.
"""


def chunks(tags) -> list:
    """The chunks of one sentence's tags: a list of `(type, start, end)`, `end` exclusive, in order."""
    found, start, kind = [], None, None
    previous_tag, previous_type = "O", ""
    for index, tag in enumerate(list(tags) + ["O"]):
        prefix, current_type = (tag[0], tag[2:]) if tag != "O" else ("O", "")
        if start is not None and _ends(previous_tag, prefix, previous_type, current_type):
            found.append((kind, start, index))
            start = None
        if _starts(previous_tag, prefix, previous_type, current_type):
            start, kind = index, current_type
        previous_tag, previous_type = prefix, current_type
    return found


def _ends(previous: str, tag: str, previous_type: str, current_type: str) -> bool:
    if previous in ("E", "S"):
        return True
    if previous in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return previous != "O" and previous_type != current_type


def _starts(previous: str, tag: str, previous_type: str, current_type: str) -> bool:
    if tag in ("B", "S"):
        return True
    if previous in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and previous_type != current_type


def evaluate(gold, predicted) -> dict:
    """Scores predicted tags against gold tags, sentence by sentence.

    Args:
        gold: list of lists of str. Each sentence's gold tags (IOB1, IOB2 or IOBES).
        predicted: list of lists of str. The same shape.

    Returns:
        dict: `f1`, `precision`, `recall` (micro over chunks, as fractions), `accuracy` (tokens), `gold_chunks`,
        `predicted_chunks`, `correct_chunks`, `tokens`, and `per_type`: {type: {precision, recall, f1, gold,
        predicted, correct}}. With no predicted (or gold) chunks, precision (recall) is 0, as in conlleval.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted.")
    counts, tokens, right = {}, 0, 0
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(f"Sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted.")
        tokens += len(gold_tags)
        right += sum(g == p for g, p in zip(gold_tags, predicted_tags))
        gold_chunks, predicted_chunks = set(chunks(gold_tags)), set(chunks(predicted_tags))
        for name, found in (
            ("gold", gold_chunks),
            ("predicted", predicted_chunks),
            ("correct", gold_chunks & predicted_chunks),
        ):
            for kind, _, _ in found:
                counts.setdefault(kind, {"gold": 0, "predicted": 0, "correct": 0})[name] += 1
    totals = {name: sum(c[name] for c in counts.values()) for name in ("gold", "predicted", "correct")}
    return {
        **_scores(totals),
        "accuracy": right / tokens if tokens else 0.0,
        "gold_chunks": totals["gold"],
        "predicted_chunks": totals["predicted"],
        "correct_chunks": totals["correct"],
        "tokens": tokens,
        "per_type": {kind: {**_scores(c), **c} for kind, c in sorted(counts.items())},
    }


def _scores(counts: dict) -> dict:
    precision = counts["correct"] / counts["predicted"] if counts["predicted"] else 0.0
    recall = counts["correct"] / counts["gold"] if counts["gold"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
