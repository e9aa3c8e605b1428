"""SQuAD windows in graph ops: GR's windows, max-context rule and labels, checked on the real dev file."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models.qa_preprocessor import QuestionAnsweringPreprocessor, byte_span
from electra_tf.tasks import squad
from electra_tf.tokenization.tokenizer import WordPieceTokenizer

DocSpan = collections.namedtuple("DocSpan", ["start", "length"])


def gr_doc_spans(num_tokens: int, max_tokens_for_doc: int, doc_stride: int) -> list:
    """google-research/electra's window loop (`QATask.featurize`), restated for the test."""
    spans, start = [], 0
    while start < num_tokens:
        length = min(num_tokens - start, max_tokens_for_doc)
        spans.append(DocSpan(start, length))
        if start + length == num_tokens:
            break
        start += min(length, doc_stride)
    return spans


def gr_is_max_context(spans: list, current: int, position: int) -> bool:
    """google-research/electra's `_check_is_max_context`, restated for the test."""
    best_score, best_index = None, None
    for index, span in enumerate(spans):
        end = span.start + span.length - 1
        if position < span.start or position > end:
            continue
        score = min(position - span.start, end - position) + 0.01 * span.length
        if best_score is None or score > best_score:
            best_score, best_index = score, index
    return current == best_index


@pytest.fixture(scope="module")
def dev_examples(data_dir):
    return squad.read_squad(str(data_dir / "squad" / "dev-v1.1.json")).examples


def _windows(preprocessor, example, answer=True):
    """`preprocessor.windows` as `tf.data` runs it: traced once per preprocessor, in graph mode."""
    if not hasattr(preprocessor, "traced_windows"):
        preprocessor.traced_windows = tf.function(preprocessor.windows)
    windows = preprocessor.traced_windows
    kwargs = {}
    if answer:
        kwargs["answer"] = tf.constant(byte_span(example.context, example.answers[0].start, example.answers[0].text))
    features = windows(tf.constant(example.question), tf.constant(example.context), **kwargs)
    return {key: value.numpy() for key, value in features.items()}


@pytest.mark.parametrize("sequence_length, doc_stride, max_query_length", [(64, 16, 12), (48, 7, 8), (384, 128, 64)])
def test_windows_and_max_context_follow_google_research_electra(
    vocabulary, dev_examples, sequence_length, doc_stride, max_query_length
):
    preprocessor = QuestionAnsweringPreprocessor(vocabulary, sequence_length, doc_stride, max_query_length)
    tokenizer = WordPieceTokenizer(vocabulary)
    for example in dev_examples[::500]:
        features = _windows(preprocessor, example, answer=False)
        context_ids = tokenizer.tokenize(tf.constant([example.context]))[0].numpy()
        query = tokenizer.tokenize(tf.constant([example.question]))[0].numpy()[:max_query_length]
        spans = gr_doc_spans(len(context_ids), sequence_length - len(query) - 3, doc_stride)
        assert features["token_ids"].shape == (len(spans), sequence_length)
        for index, span in enumerate(spans):
            expected = [vocabulary.cls_id, *query, vocabulary.sep_id]
            expected += [*context_ids[span.start : span.start + span.length], vocabulary.sep_id]
            assert features["token_ids"][index, : len(expected)].tolist() == expected
            assert (features["token_ids"][index, len(expected) :] == vocabulary.pad_id).all()
            assert features["padding_mask"][index].sum() == len(expected)
            assert features["segment_ids"][index].tolist() == [0] * (len(query) + 2) + [1] * (span.length + 1) + [0] * (
                sequence_length - len(expected)
            )
            first = len(query) + 2
            expected_max = [gr_is_max_context(spans, index, span.start + i) for i in range(span.length)]
            assert features["is_max_context"][index, first : first + span.length].tolist() == expected_max
            assert features["is_max_context"][index].sum() == sum(expected_max)


def test_labelled_spans_recover_the_answers_of_the_dev_file(vocabulary, dev_examples):
    """Every answer whose characters a window holds is labelled there, and its tokens' bytes give its text back."""
    preprocessor = QuestionAnsweringPreprocessor(vocabulary, sequence_length=128, doc_stride=32, max_query_length=32)
    exact = labelled_windows = labelled = total = 0
    for example in dev_examples[::25]:
        features = _windows(preprocessor, example)
        raw = example.context.encode("utf-8")
        answer = byte_span(example.context, example.answers[0].start, example.answers[0].text)
        total += 1
        starts, ends = features["start_positions"], features["end_positions"]
        assert ((starts == 0) == (ends == 0)).all() and (ends >= starts).all()
        for window in np.flatnonzero(starts):
            begin = features["token_starts"][window, starts[window]]
            end = features["token_ends"][window, ends[window]]
            assert begin <= answer[0] < answer[1] <= end  # The labelled tokens cover the answer, and no more:
            assert features["token_starts"][window, starts[window] + 1] > answer[0] or starts[window] == ends[window]
            exact += raw[begin:end] == raw[answer[0] : answer[1]]
            labelled_windows += 1
        labelled += bool(starts.any())
    assert labelled == total  # 128-token windows with a stride of 32 hold every answer of the sample somewhere.
    # 774 of 778 labelled windows: the rest are answers that end inside a word-piece, whose tokens hold more.
    assert exact / labelled_windows > 0.99


def test_unanswerable_questions_and_empty_contexts(vocabulary):
    preprocessor = QuestionAnsweringPreprocessor(vocabulary, sequence_length=16, doc_stride=4, max_query_length=4)
    context = "The Denver Broncos defeated the Carolina Panthers to earn their third Super Bowl title."
    features = preprocessor.windows(tf.constant("Who lost?"), tf.constant(context), is_impossible=tf.constant(True))
    assert features["token_ids"].shape[0] > 3
    assert not features["start_positions"].numpy().any() and features["is_impossible"].numpy().all()
    empty = preprocessor.windows(tf.constant("Who won?"), tf.constant(""), answer=tf.constant([0, 0]))
    assert empty["token_ids"].shape == (1, 16) and empty["segment_ids"].numpy().sum() == 1  # The final [SEP].
    assert empty["padding_mask"].numpy().sum() == 3 + 3 and empty["start_positions"].numpy().tolist() == [0]
    no_question = preprocessor.windows(tf.constant(""), tf.constant(context))
    assert no_question["token_ids"].numpy()[0, :2].tolist() == [vocabulary.cls_id, vocabulary.sep_id]


def test_offsets_point_into_the_original_non_ascii_text(vocabulary):
    preprocessor = QuestionAnsweringPreprocessor(vocabulary, sequence_length=32, doc_stride=8, max_query_length=8)
    context = "Ünïcode CAFÉ (1895–1943) naïveté"
    answer = byte_span(context, context.index("CAFÉ"), "CAFÉ")
    features = preprocessor.windows(tf.constant("Où?"), tf.constant(context), answer=tf.constant(answer))
    start, end = features["start_positions"].numpy()[0], features["end_positions"].numpy()[0]
    begin, stop = features["token_starts"].numpy()[0, start], features["token_ends"].numpy()[0, end]
    assert context.encode("utf-8")[begin:stop].decode("utf-8") == "CAFÉ"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sequence_length=10, max_query_length=8), "must hold \\[CLS\\], max_query_length=8 question tokens"),
        (dict(sequence_length=64, doc_stride=60, max_query_length=8), r"doc_stride=60 must lie in \[1, 53\]"),
        (dict(lower_case=True, strip_accents=False), "Offsets into the original text need lower_case and"),
    ],
)
def test_settings_that_cannot_work_are_refused(vocabulary, kwargs, message):
    with pytest.raises(ValueError, match=message):
        QuestionAnsweringPreprocessor(vocabulary, **kwargs)


def test_max_windows_keeps_the_first_windows(vocabulary, dev_examples):
    preprocessor = QuestionAnsweringPreprocessor(vocabulary, sequence_length=32, doc_stride=8, max_query_length=8)
    example = dev_examples[0]
    question, context = tf.constant(example.question), tf.constant(example.context)
    every = preprocessor.windows(question, context)
    first = preprocessor.windows(question, context, max_windows=3)
    assert every["token_ids"].shape[0] > 3 and first["token_ids"].shape[0] == 3
    np.testing.assert_array_equal(first["token_ids"].numpy(), every["token_ids"].numpy()[:3])
    # Only the last kept window can gain tokens: no later window competes for them any more.
    np.testing.assert_array_equal(first["is_max_context"].numpy()[:2], every["is_max_context"].numpy()[:2])
