"""Reads SQuAD 1.1 and 2.0 files (the official JSON format) into examples, and splits them by article.

The file is checked as it is read. A file that is not SQuAD (bad JSON, no `data` list, a paragraph without a
`context`) is always an error, named by file and place. A bad question (an answer whose text is not at its
`answer_start`, an empty question, an answerable question without answers, a duplicate id) is an error naming the
article, the question id and the fix, or, with `on_bad_example="skip"`, is skipped and counted.

Only dev files are available offline, so fine-tuning here trains on some articles of a dev file and evaluates on the
others: `split_by_article` holds out the last articles, in file order (`HELD_OUT_ARTICLES`).
"""

import dataclasses
import json
from typing import Optional

from absl import logging

ON_BAD_EXAMPLE = ("error", "skip")
# Articles held out for evaluation by default: the last 10 of the 48 in dev-v1.1.json (1,988 of its 10,570
# questions) and the last 4 of the 16 in dev-v2.0-half.json (1,629 of 6,078, 826 of them unanswerable).
HELD_OUT_ARTICLES = {"1.1": 10, "2.0": 4}


class SquadFormatError(ValueError):
    """A SQuAD file, or one of its questions, that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """A reference answer: its text and the character offset where it starts in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """The character offset one past the answer's last character."""
        return self.start + len(self.text)


@dataclasses.dataclass(frozen=True)
class Example:
    """One question on one context.

    Attributes:
        qid: str. The question id, the key of the predictions file.
        question: str.
        context: str. The paragraph.
        answers: tuple of `Answer`. Empty for unanswerable questions; dev files have several references.
        is_impossible: bool. SQuAD 2.0's unanswerable questions.
        title: str. The article's title.
        article: int. The article's index in the file.
    """

    qid: str
    question: str
    context: str
    answers: tuple
    is_impossible: bool = False
    title: str = ""
    article: int = 0


@dataclasses.dataclass
class SquadSet:
    """The questions of a SQuAD file, in file order, with the articles they came from.

    Attributes:
        examples: list of `Example`.
        version: str. The file's `version` field ("1.1", "2.0"); "2.0" when any question is unanswerable.
        titles: list of str. Article titles, in file order.
        skipped: list of str. One line per question skipped with `on_bad_example="skip"`.
        source: str. The file read.
    """

    examples: list
    version: str
    titles: list
    skipped: list = dataclasses.field(default_factory=list)
    source: str = ""

    def __len__(self):
        return len(self.examples)

    @property
    def has_unanswerable(self) -> bool:
        return any(example.is_impossible for example in self.examples)


def read_squad(path: str, on_bad_example: str = "error") -> SquadSet:
    """Reads a SQuAD file in the official format.

    Args:
        path: str. A `train-v1.1.json`, `dev-v2.0.json` or any file in their format.
        on_bad_example: "error" (the default) or "skip". What a bad question does: raise `SquadFormatError`, or be
            skipped and listed in `SquadSet.skipped`.

    Raises:
        SquadFormatError: a file that is not SQuAD, or a bad question under "error".
    """
    _check_on_bad_example(on_bad_example)  # Before the file is read.
    return from_document(_load_json(path), path, on_bad_example)


def from_document(document, path: str, on_bad_example: str = "error") -> SquadSet:
    """Reads a parsed SQuAD document (the official format's top-level object), with `read_squad`'s checks.

    Args:
        document: the parsed JSON: `{"version": ..., "data": [articles]}`.
        path: str. Where it came from, for messages and `SquadSet.source`.
        on_bad_example: "error" or "skip", as in `read_squad`.
    """
    _check_on_bad_example(on_bad_example)
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise SquadFormatError(f"{path}: not a SQuAD file: the top level must be an object with a `data` list.")
    squad = SquadSet(examples=[], version=str(document.get("version", "")).lstrip("v"), titles=[], source=path)
    seen = set()
    for index, article in enumerate(document["data"]):
        title = _article_title(path, index, article)
        squad.titles.append(title)
        for p_index, paragraph in enumerate(article["paragraphs"]):
            where = f"{path}: article {title!r} (#{index}), paragraph #{p_index}"
            for qa in _paragraph_questions(where, paragraph):
                try:
                    example = dataclasses.replace(_example(qa, paragraph["context"], title, seen), article=index)
                except SquadFormatError as error:
                    if on_bad_example == "error":
                        raise SquadFormatError(
                            f"{where}, {error} Fix the file, or pass --on_bad_example=skip to skip such questions."
                        ) from None
                    squad.skipped.append(f"{where}, {error}")
                    continue
                seen.add(example.qid)
                squad.examples.append(example)
    if squad.skipped:
        logging.warning("%s: skipped %d bad questions; the first: %s", path, len(squad.skipped), squad.skipped[0])
    if squad.has_unanswerable:
        squad.version = "2.0"
    return squad


def _check_on_bad_example(on_bad_example: str) -> None:
    if on_bad_example not in ON_BAD_EXAMPLE:
        raise ValueError(f"on_bad_example must be one of {ON_BAD_EXAMPLE}, but received {on_bad_example!r}.")


def _load_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise SquadFormatError(
            f"{path}: line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})."
        ) from None
    except UnicodeDecodeError as error:
        raise SquadFormatError(f"{path}: not UTF-8 text (byte {error.start}): SQuAD files are UTF-8 JSON.") from None


def _article_title(path: str, index: int, article) -> str:
    if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
        raise SquadFormatError(f"{path}: article #{index} is not an object with a `paragraphs` list.")
    return str(article.get("title", f"#{index}"))


def _paragraph_questions(where: str, paragraph) -> list:
    if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
        raise SquadFormatError(f"{where}: not an object with a `qas` list.")
    if not isinstance(paragraph.get("context"), str):
        raise SquadFormatError(f"{where}: no `context` string.")
    return paragraph["qas"]


def _example(qa, context: str, title: str, seen: set) -> Example:
    """One question, checked; raises `SquadFormatError` with the question's id and the fault."""
    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str):
        raise SquadFormatError("a question without a string `id`.")
    qid = qa["id"]
    if qid in seen:
        raise SquadFormatError(f"question {qid}: the id is used twice; ids key the predictions file.")
    question, answers, is_impossible = qa.get("question"), qa.get("answers"), qa.get("is_impossible", False)
    if not isinstance(question, str) or not question.strip():
        raise SquadFormatError(f"question {qid}: the `question` is missing or empty.")
    if not context.strip():
        raise SquadFormatError(f"question {qid}: the context is empty.")
    if not isinstance(answers, list) or not isinstance(is_impossible, bool):
        raise SquadFormatError(f"question {qid}: `answers` must be a list and `is_impossible` true or false.")
    if is_impossible and answers:
        raise SquadFormatError(f"question {qid}: marked `is_impossible` but has {len(answers)} answers.")
    if not is_impossible and not answers:
        raise SquadFormatError(f"question {qid}: no answers, and not marked `is_impossible` (SQuAD 2.0's flag).")
    return Example(
        qid=qid,
        question=question,
        context=context,
        answers=tuple(_answer(qid, context, answer) for answer in answers),
        is_impossible=is_impossible,
        title=title,
    )


def _answer(qid: str, context: str, answer) -> Answer:
    text, start = (answer.get("text"), answer.get("answer_start")) if isinstance(answer, dict) else (None, None)
    if not isinstance(text, str) or not text or isinstance(start, bool) or not isinstance(start, int):
        raise SquadFormatError(f"question {qid}: an answer needs a non-empty `text` and an integer `answer_start`.")
    found = context[start : start + len(text)] if start >= 0 else ""
    if found != text:
        occurs = context.find(text)
        hint = f"the text occurs at {occurs}" if occurs >= 0 else "the text does not occur in the context"
        raise SquadFormatError(
            f"question {qid}: the answer {text!r} is not at answer_start {start} (the context there reads "
            f"{found!r}; {hint})."
        )
    return Answer(text, start)


def split_by_article(squad: SquadSet, held_out: Optional[int] = None) -> tuple:
    """(train, held_out): the questions of all but the last `held_out` articles, and those of the last ones.

    Args:
        squad: `SquadSet`.
        held_out: int or None. Articles to hold out; None takes `HELD_OUT_ARTICLES` for the file's version.
    """
    if held_out is None:
        held_out = HELD_OUT_ARTICLES.get(squad.version, HELD_OUT_ARTICLES["1.1"])
    if not 0 < held_out < len(squad.titles):
        raise ValueError(f"{squad.source} has {len(squad.titles)} articles: cannot hold out {held_out} of them.")
    first_held_out = len(squad.titles) - held_out
    parts = (
        [e for e in squad.examples if e.article < first_held_out],
        [e for e in squad.examples if e.article >= first_held_out],
    )
    return tuple(dataclasses.replace(squad, examples=examples, skipped=[]) for examples in parts)
