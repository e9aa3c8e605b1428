"""From a tagger's window logits to tags per word and to chunks, in graph ops (so `predict` and serving agree).

Chunks are read from the predicted labels with conlleval's rules (`tasks/tagging_metrics.chunks`, the reference
that a test holds this to), so a tagger trained on BIOES (google-research/electra's) and one imported from HF with
IOB2 labels decode alike, and an ill-formed sequence (`O I-X`, `B-X I-Y`) decodes as conlleval would score it.
"""

import tensorflow as tf

from electra_tf.models.tagging_preprocessor import IGNORED

PREFIXES = ("O", "B", "I", "E", "S")
_O, _B, _I, _E, _S = range(len(PREFIXES))


def label_tables(labels) -> tuple:
    """`(prefix_codes, type_codes, types)`: each label's prefix (an index into `PREFIXES`) and type (an index into
    `types`, -1 for `O`), and the sorted chunk types. The labels must include `O` once."""
    types = sorted({label[2:] for label in labels if label != "O"})
    for label in labels:
        if label != "O" and (len(label) < 3 or label[0] not in "BIES" or label[1] != "-"):
            raise ValueError(f"Label {label!r} is not O or B-, I-, E-, S- and a type; taggers read IOB2 or BIOES.")
    if list(labels).count("O") != 1 or len(set(labels)) != len(labels):
        raise ValueError(f"The labels {list(labels)} must hold O exactly once and no label twice.")
    prefixes = [PREFIXES.index(label[0]) if label != "O" else _O for label in labels]
    kinds = [types.index(label[2:]) if label != "O" else -1 for label in labels]
    return prefixes, kinds, types


def word_labels(logits: tf.Tensor, word_index: tf.Tensor, num_words, outside: int) -> tf.Tensor:
    """int32 `(W,)`: each word's label, the argmax at the position where it counts; `outside` (the id of `O`) for a
    word without one (beyond `max_windows`).

    Args:
        logits: float `(N, L, C)`.
        word_index: int32 `(N, L)`, from `TaggingPreprocessor.windows`.
        num_words: scalar int32.
        outside: int. The label id of `O`.
    """
    where = tf.where(word_index != IGNORED)
    predicted = tf.argmax(tf.gather_nd(logits, where), axis=-1, output_type=tf.int32)
    words = tf.gather_nd(word_index, where)
    return tf.tensor_scatter_nd_update(tf.fill([num_words], outside), words[:, tf.newaxis], predicted)


def chunk_spans(labels: tf.Tensor, prefix_codes, type_codes) -> tuple:
    """`(types, starts, ends)`, int32 `(K,)` each: the chunks of one sentence's label ids, ends exclusive."""
    prefix = tf.gather(tf.constant(prefix_codes, tf.int32), labels)
    kind = tf.gather(tf.constant(type_codes, tf.int32), labels)
    current = tf.concat([prefix, [_O]], 0)  # A final O closes the last chunk.
    current_kind = tf.concat([kind, [-1]], 0)
    previous = tf.concat([[_O], prefix], 0)
    previous_kind = tf.concat([[-1], kind], 0)
    inside = (previous == _B) | (previous == _I)
    ends = (
        (previous == _E)
        | (previous == _S)
        | (inside & ((current == _B) | (current == _S) | (current == _O)))
        | ((previous != _O) & (previous_kind != current_kind))
    )
    starts = (
        (current == _B)
        | (current == _S)
        | (((previous == _E) | (previous == _S) | (previous == _O)) & ((current == _I) | (current == _E)))
        | ((current != _O) & (previous_kind != current_kind))
    )
    start_positions = tf.cast(tf.where(starts)[:, 0], tf.int32)
    end_positions = tf.cast(tf.where(ends)[:, 0], tf.int32)
    following = tf.searchsorted(end_positions, start_positions, side="right")
    end_of_start = tf.gather(end_positions, tf.minimum(following, tf.maximum(tf.size(end_positions) - 1, 0)))
    return tf.gather(current_kind, start_positions), start_positions, end_of_start


def split_words(text: tf.Tensor) -> tuple:
    """`(words, begins, ends)`: a text's whitespace-separated words and their bytes `[begin, end)` in it."""
    import tensorflow_text as tf_text

    words, begins, ends = tf_text.WhitespaceTokenizer().tokenize_with_offsets(tf.reshape(text, [1]))
    return words[0], tf.cast(begins[0], tf.int32), tf.cast(ends[0], tf.int32)


def span_outputs(text, begins, ends, kinds, first, last, types) -> dict:
    """The serving outputs for chunks `(kinds, first, last)` over words at bytes `[begins, ends)` of `text`:
    `type`, `start_char`, `end_char` (character offsets, end exclusive) and `text`, each `(K,)`."""
    byte_begin = tf.gather(begins, first)
    byte_end = tf.gather(ends, last - 1)
    spans = tf.strings.substr(tf.fill(tf.shape(first), text), byte_begin, byte_end - byte_begin)
    before = tf.strings.substr(tf.fill(tf.shape(first), text), tf.zeros_like(byte_begin), byte_begin)
    start_char = tf.strings.length(before, unit="UTF8_CHAR")
    return {
        "type": tf.gather(tf.constant(list(types) or [""], tf.string), tf.maximum(kinds, 0)),
        "start_char": start_char,
        "end_char": start_char + tf.strings.length(spans, unit="UTF8_CHAR"),
        "text": spans,
    }
