"""Builds pre-training TFRecords from text: read, tokenize, pack, serialize, write; one shard per task.

The corpus is cut into shards at document boundaries (`corpus.plan_shards`). Each shard is built by one worker
process with its own random generator, seeded by (seed, shard index), so the output depends on the seed and the
inputs but not on `num_workers`. Shards are written into a staging folder beside `output_dir`, which replaces
`output_dir` only once every shard and `metadata.json` are complete: a failed or interrupted build leaves the
previous data untouched and no partial output.
"""

import dataclasses
import functools
import math
import multiprocessing
import os
import random
import sys
import time
import uuid
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
import tqdm
from absl import logging

from electra_tf import corpus
from electra_tf.data import example_codec, packing
from electra_tf.data.metadata import METADATA_FILE, PretrainingDataMetadata, ShardInfo
from electra_tf.data.packing import PackingConfig
from electra_tf.tokenization.tokenizer import WordPieceTokenizer, tokenizer_settings
from electra_tf.tokenization.vocabulary import VOCAB_FILE, Vocabulary

SHARD_PATTERN = "pretrain_data-{index:05d}-of-{count:05d}.tfrecord"
# The vocabulary is copied beside the shards, so training finds the exact one the data was built with.
_AUTO_SHARD_BYTES = 128 << 20
_MIN_AUTO_SHARDS = 16
_TOKENIZE_BATCH_LINES = 2048
_SERIALIZE_BATCH_EXAMPLES = 4096


@dataclasses.dataclass(frozen=True)
class PretrainingDataConfig:
    """How text becomes pre-training examples.

    Args:
        packing: `PackingConfig`. Sequence length and segment rules.
        lower_case: bool. Lower-case the text. Defaults to True.
        strip_accents: bool or None. Strip accents; None follows `lower_case`. Defaults to None.
        num_shards: int. Output shards; 0 picks max(16, one per 128 MiB of text). Defaults to 0.
        seed: int. Seed of the packing randomness. Defaults to 12345.
        on_decode_error: str. "replace" invalid UTF-8 with U+FFFD and count it, or "strict" to fail naming the file
            and line. Defaults to "replace".
    """

    packing: PackingConfig = dataclasses.field(default_factory=PackingConfig)
    lower_case: bool = True
    strip_accents: Optional[bool] = None
    num_shards: int = 0
    seed: int = 12345
    on_decode_error: str = "replace"

    def __post_init__(self):
        corpus.check_decode_policy(self.on_decode_error)
        if self.num_shards < 0:
            raise ValueError(f"num_shards must be 0 (automatic) or positive, but received {self.num_shards}.")


@dataclasses.dataclass(frozen=True)
class _ShardTask:
    index: int
    pieces: tuple
    output_path: str
    vocab_file: str
    config: PretrainingDataConfig

    @property
    def num_bytes(self) -> int:
        return sum(p.end - p.start for p in self.pieces)


@functools.lru_cache(maxsize=2)
def _shard_tools(vocab_file: str, lower_case: bool, strip_accents: Optional[bool]):
    """Builds the tokenizer once per worker process, not once per shard."""
    vocabulary = Vocabulary.load(vocab_file)
    tokenizer = WordPieceTokenizer(vocabulary, lower_case=lower_case, strip_accents=strip_accents)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(lines):
        tokens = tokenizer.tokenize(lines)
        return tokens.flat_values, tokens.row_lengths()

    return vocabulary, tokenize, packing.TokenTables.from_vocabulary(vocabulary)


def _tokenize_lines(tokenize, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Returns the concatenated token ids of `lines` and the number of tokens of each line."""
    ids, lengths = [], []
    for i in range(0, len(lines), _TOKENIZE_BATCH_LINES):
        flat_ids, row_lengths = tokenize(tf.constant(lines[i : i + _TOKENIZE_BATCH_LINES]))
        ids.append(flat_ids.numpy())
        lengths.append(row_lengths.numpy())
    if not ids:
        return np.zeros([0], np.int32), np.zeros([0], np.int64)
    return np.concatenate(ids), np.concatenate(lengths)


def _document_ranges(lines: Sequence[str], line_ends: np.ndarray) -> list[tuple[int, int]]:
    """Returns the non-empty documents as token ranges; a blank line ends a document."""
    blank = np.fromiter((not line.strip() for line in lines), dtype=bool, count=len(lines))
    ends = np.unique(np.concatenate([line_ends[blank], line_ends[-1:]]))
    starts = np.concatenate([[0], ends[:-1]])
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e > s]


def _build_shard(task: _ShardTask) -> dict:
    """Builds one shard and returns its statistics."""
    config = task.config
    vocabulary, tokenize, tables = _shard_tools(task.vocab_file, config.lower_case, config.strip_accents)
    lines, num_decode_errors = corpus.read_shard(task.pieces, config.on_decode_error)
    token_ids, line_lengths = _tokenize_lines(tokenize, lines)
    line_ends = np.cumsum(line_lengths)
    documents = _document_ranges(lines, line_ends) if len(token_ids) else []
    bounds = packing.unit_boundaries(token_ids, line_ends, tables, config.packing.unit_length)
    rng = random.Random(f"{config.seed}:{task.index}")
    starts, len_a, len_b = packing.pack_documents(bounds, documents, config.packing, rng)
    num_real_tokens = 0
    with tf.io.TFRecordWriter(task.output_path) as writer:
        for begin in range(0, len(starts), _SERIALIZE_BATCH_EXAMPLES):
            batch = slice(begin, begin + _SERIALIZE_BATCH_EXAMPLES)
            arrays = packing.assemble_examples(
                token_ids, starts[batch], len_a[batch], len_b[batch], config.packing.max_seq_length, vocabulary
            )
            num_real_tokens += int(arrays["input_mask"].sum())
            for record in example_codec.serialize_examples(arrays):
                writer.write(record)
    return {
        "index": task.index,
        "num_examples": len(starts),
        "num_shard_bytes": tf.io.gfile.stat(task.output_path).length,
        "num_bytes": task.num_bytes,
        "num_lines": sum(1 for line in lines if line.strip()),
        "num_documents": len(documents),
        "num_corpus_tokens": len(token_ids),
        "num_kept_tokens": int((len_a + len_b).sum()),
        "num_real_tokens": num_real_tokens,
        "num_single_segment": int((len_b == 0).sum()),
        "num_decode_errors": num_decode_errors,
    }


def _start_method() -> str:
    """Forks when this process has not started TensorFlow's runtime yet (cheap and safe), else uses a fork server."""
    if sys.platform != "linux":
        return "spawn"
    try:
        from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top

        runtime_started = context.context()._initialized  # pylint: disable=protected-access
    except (ImportError, AttributeError):
        runtime_started = True
    return "forkserver" if runtime_started else "fork"


def _run_tasks(tasks: list[_ShardTask], num_workers: int, show_progress: bool) -> list[dict]:
    total_bytes = sum(t.num_bytes for t in tasks)
    results = []
    with tqdm.tqdm(total=total_bytes, unit="B", unit_scale=True, desc="shards", disable=not show_progress) as bar:
        if num_workers <= 1 or len(tasks) == 1:
            for task in tasks:
                results.append(_build_shard(task))
                bar.update(task.num_bytes)
        else:
            context = multiprocessing.get_context(_start_method())
            with context.Pool(min(num_workers, len(tasks))) as pool:
                for result in pool.imap_unordered(_build_shard, tasks):
                    results.append(result)
                    bar.update(result["num_bytes"])
    return sorted(results, key=lambda r: r["index"])


def _check_output_dir(output_dir: str) -> None:
    if tf.io.gfile.exists(output_dir):
        if not tf.io.gfile.isdir(output_dir):
            raise ValueError(f"output_dir {output_dir} is a file. Pass a folder (it is created if missing).")
        entries = tf.io.gfile.listdir(output_dir)
        if entries and METADATA_FILE not in entries:
            raise ValueError(
                f"output_dir {output_dir} holds files that are not electra_tf pre-training data ({sorted(entries)[:3]}"
                "...). Pass a new or empty folder, or one that an earlier build wrote."
            )


def _commit(staging_dir: str, output_dir: str) -> None:
    """Puts the finished staging folder in place of `output_dir`."""
    previous = None
    if tf.io.gfile.exists(output_dir):
        previous = f"{output_dir}.previous-{uuid.uuid4().hex[:8]}"
        tf.io.gfile.rename(output_dir, previous)
    tf.io.gfile.rename(staging_dir, output_dir)
    if previous:
        tf.io.gfile.rmtree(previous)


def _statistics(results: list[dict], elapsed: float) -> dict:
    totals = {key: sum(r[key] for r in results) for key in results[0] if key != "index"}
    return {
        **totals,
        "token_keep_share": totals["num_kept_tokens"] / max(1, totals["num_corpus_tokens"]),
        "single_segment_share": totals["num_single_segment"] / max(1, totals["num_examples"]),
        "build_seconds": round(elapsed, 3),
    }


def build_pretraining_data(
    inputs: Sequence[str],
    vocab_file: str,
    output_dir: str,
    config: PretrainingDataConfig = PretrainingDataConfig(),
    num_workers: Optional[int] = None,
    show_progress: bool = True,
    source_description: Optional[str] = None,
) -> PretrainingDataMetadata:
    """Turns text files into sharded pre-training TFRecords plus `metadata.json`.

    Args:
        inputs: list of str. Text files or globs: one sentence or paragraph per line, a blank line between
            documents.
        vocab_file: str. A `vocab.txt` holding `[PAD] [UNK] [CLS] [SEP] [MASK]`.
        output_dir: str. Folder for the shards, `metadata.json` and a copy of the vocabulary; replaced whole when the
            build succeeds.
        config: `PretrainingDataConfig`.
        num_workers: int or None. Worker processes; None uses every core. Defaults to None.
        show_progress: bool. Show a progress bar. Defaults to True.
        source_description: str or None. What the inputs are, for the metadata (e.g. a TFDS name). Defaults to None.

    Returns:
        The `PretrainingDataMetadata` that was written.

    Raises:
        FileNotFoundError: for a missing corpus file or vocabulary.
        ValueError: for an empty corpus, a vocabulary without a special token, undecodable text under the
            "strict" policy, or an output folder that holds other files.
    """
    start_time = time.time()
    vocabulary = Vocabulary.load(vocab_file)
    paths = corpus.resolve_corpus_files(inputs)
    _check_output_dir(output_dir)
    total_bytes = sum(tf.io.gfile.stat(p).length for p in paths)
    num_shards = config.num_shards or max(_MIN_AUTO_SHARDS, math.ceil(total_bytes / _AUTO_SHARD_BYTES))
    plan = corpus.plan_shards(paths, num_shards)
    num_workers = num_workers or os.cpu_count() or 1

    staging_dir = f"{output_dir.rstrip('/')}.partial-{uuid.uuid4().hex[:8]}"
    tf.io.gfile.makedirs(staging_dir)
    try:
        names = [SHARD_PATTERN.format(index=i, count=len(plan)) for i in range(len(plan))]
        tasks = [
            _ShardTask(i, tuple(pieces), os.path.join(staging_dir, name), vocab_file, config)
            for i, (pieces, name) in enumerate(zip(plan, names))
        ]
        results = _run_tasks(tasks, num_workers, show_progress)
        statistics = _statistics(results, time.time() - start_time)
        if statistics["num_examples"] == 0:
            raise ValueError(f"The corpus {', '.join(paths)} holds no text: no line has a token.")
        metadata = PretrainingDataMetadata(
            max_seq_length=config.packing.max_seq_length,
            num_examples=statistics["num_examples"],
            shards=[ShardInfo(name, r["num_examples"], r["num_shard_bytes"]) for name, r in zip(names, results)],
            tokenizer=tokenizer_settings(vocabulary, config.lower_case, config.strip_accents),
            special_token_ids=vocabulary.special_token_ids(),
            statistics=statistics,
            build={
                "config": dataclasses.asdict(config),
                "inputs": source_description or list(paths),
                "vocab_file": vocab_file,
                "num_workers": num_workers,
            },
        )
        vocabulary.save(os.path.join(staging_dir, VOCAB_FILE))
        metadata.save(staging_dir)
        _commit(staging_dir, output_dir)
    finally:
        if tf.io.gfile.exists(staging_dir):
            tf.io.gfile.rmtree(staging_dir)
    if statistics["num_decode_errors"]:
        logging.warning(
            "Replaced %d invalid UTF-8 sequence(s) with U+FFFD; metadata.json records the count. Re-encode the "
            "corpus as UTF-8, or build with on_decode_error='strict' (--on_decode_error=strict) to stop at the first "
            "one with its file and line.",
            statistics["num_decode_errors"],
        )
    return metadata
