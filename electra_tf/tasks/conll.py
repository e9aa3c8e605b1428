"""Reads CoNLL-2000 chunking and CoNLL-2003 named-entity files into sentences of words and IOB2 tags.

Both formats have one word per line, with whitespace-separated columns, and a blank line after each sentence:
- CoNLL-2000 (`conll2000/{train,test}.txt`): word, POS tag, chunk tag, in IOB2 (`B-` starts every chunk);
- CoNLL-2003 (`conll2003/eng.{train,testa,testb}`): word, POS tag, chunk tag, NER tag, in **IOB1** (`I-` starts a
  chunk unless it follows a word of the same type; `B-` appears only between two adjacent chunks of one type), with
  `-DOCSTART-` lines between documents.

Tags are converted to IOB2 as they are read (`tag_schemes.to_iob2`): an `I-X` that does not follow `B-X` or `I-X`
becomes `B-X`. The conversion keeps every chunk: `tagging_metrics.chunks` finds the same spans in the file's tags
and in the converted ones. A line with the wrong number of columns, or a tag that is not `O`, `B-TYPE` or `I-TYPE`,
is an error naming the file and line.
"""

import dataclasses
import os
import re
from typing import Optional

from electra_tf.tasks.tag_schemes import to_iob2

_TAG = re.compile(r"^(O|[BI]-\S+)$")
DOCSTART = "-DOCSTART-"


class ConllFormatError(ValueError):
    """A CoNLL file, or one of its lines, that cannot be read."""


@dataclasses.dataclass(frozen=True)
class TaggingFormat:
    """A CoNLL-style file format and where a task's files are.

    Args:
        name: str. The task's name ("conll2000", "conll2003").
        columns: tuple of str. The column names, in order; every word line has exactly these.
        tag_column: int. The column of the tags the task learns.
        scheme: str. The tags' scheme in the files: "IOB1" or "IOB2".
        directory: str. The folder under the data root.
        files: dict split -> file name.
        metric: str. What the tags are, for messages and reports ("chunk", "entity").
    """

    name: str
    columns: tuple
    tag_column: int
    scheme: str
    directory: str
    files: dict
    metric: str = "chunk"

    def path(self, data_dir: str, split: str) -> str:
        if split not in self.files:
            raise ValueError(f"{self.name} has no {split!r} split; it has {sorted(self.files)}.")
        return os.path.join(data_dir, self.directory, self.files[split])


FORMATS = {
    "conll2000": TaggingFormat(
        "conll2000", ("word", "pos", "chunk"), 2, "IOB2", "conll2000", {"train": "train.txt", "test": "test.txt"}
    ),
    "conll2003": TaggingFormat(
        "conll2003",
        ("word", "pos", "chunk", "ner"),
        3,
        "IOB1",
        "conll2003",
        {"train": "eng.train", "dev": "eng.testa", "test": "eng.testb"},
        metric="entity",
    ),
}


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One sentence: its words, their IOB2 tags, and the file line of its first word."""

    words: tuple
    tags: tuple
    line: int = 0


@dataclasses.dataclass
class TaggedSet:
    """The sentences of a CoNLL file, in file order.

    Attributes:
        sentences: list of `Sentence`, tags in IOB2.
        source: str. The file read.
        scheme: str. The file's own scheme ("IOB1", "IOB2"), converted from.
        converted: int. Tags `to_iob2` changed (IOB1's chunk-initial `I-`, or a stray `I-` in an IOB2 file).
    """

    sentences: list
    source: str = ""
    scheme: str = "IOB2"
    converted: int = 0

    def __len__(self):
        return len(self.sentences)

    @property
    def words(self) -> list:
        return [list(s.words) for s in self.sentences]

    @property
    def tags(self) -> list:
        return [list(s.tags) for s in self.sentences]

    def types(self) -> list:
        """The chunk types (`NP`, `PER`, ...) of the set's tags, sorted."""
        return sorted({tag[2:] for sentence in self.sentences for tag in sentence.tags if tag != "O"})


def read_split(task: str, split: str, data_dir: str) -> TaggedSet:
    """Reads split ("train", "dev", "test") of task ("conll2000", "conll2003") from the data root `data_dir`."""
    if task not in FORMATS:
        raise ValueError(f"Unknown tagging task {task!r}; known: {sorted(FORMATS)}.")
    return read_conll(FORMATS[task].path(data_dir, split), FORMATS[task])


def read_conll(path: str, task_format: TaggingFormat) -> TaggedSet:
    """Reads a CoNLL file of `task_format`; tags come back in IOB2.

    Raises:
        ConllFormatError: a line with the wrong number of columns, a tag outside the IOB schemes, no sentences, or
            bytes that are not UTF-8; each names the file and line.
    """
    sentences, words, tags, first_line = [], [], [], 0
    expected = len(task_format.columns)
    for number, line in _lines(path):
        fields = line.split()
        if not fields or fields[0] == DOCSTART:
            if words:
                sentences.append(Sentence(tuple(words), tuple(tags), first_line))
                words, tags = [], []
            continue
        if len(fields) != expected:
            raise ConllFormatError(
                f"{path}: line {number}: expected {expected} columns ({' '.join(task_format.columns)}), found "
                f"{len(fields)}: {line.strip()!r}. Fix the line, or pass the file of the right task."
            )
        tag = fields[task_format.tag_column]
        if not _TAG.match(tag):
            raise ConllFormatError(
                f"{path}: line {number}: tag {tag!r} is not O, B-TYPE or I-TYPE; {task_format.name} files are "
                f"{task_format.scheme} (IOBES and other schemes are not read)."
            )
        if not words:
            first_line = number
        words.append(fields[0])
        tags.append(tag)
    if words:
        sentences.append(Sentence(tuple(words), tuple(tags), first_line))
    if not sentences:
        raise ConllFormatError(f"{path}: no sentences: a {task_format.name} file has one word per line.")
    converted = [dataclasses.replace(s, tags=tuple(to_iob2(s.tags))) for s in sentences]
    changes = sum(a != b for s, c in zip(sentences, converted) for a, b in zip(s.tags, c.tags))
    return TaggedSet(converted, path, task_format.scheme, changes)


def _lines(path: str):
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no such file. Pass the data root holding conll2000/ and conll2003/."
        ) from None
    with f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ConllFormatError(
                    f"{path}: line {number}: not UTF-8 text (byte {error.start} of the line). CoNLL files are read as "
                    "UTF-8: convert the file (e.g. iconv -f latin1 -t utf-8)."
                ) from None


def sentences_from_words(words, tags: Optional[list] = None) -> TaggedSet:
    """A `TaggedSet` from lists of words (and IOB1 or IOB2 tags), for `fit` and tests."""
    tags = tags if tags is not None else [["O"] * len(w) for w in words]
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} sentences of words but {len(tags)} of tags.")
    sentences = []
    for index, (w, t) in enumerate(zip(words, tags)):
        if len(w) != len(t):
            raise ValueError(f"Sentence {index}: {len(w)} words but {len(t)} tags.")
        bad = [tag for tag in t if not _TAG.match(tag)]
        if bad:
            raise ValueError(f"Sentence {index}: tag {bad[0]!r} is not O, B-TYPE or I-TYPE.")
        sentences.append(Sentence(tuple(w), tuple(to_iob2(t)), index))
    return TaggedSet(sentences, "python")
