"""`metadata.json`, written beside the pre-training shards: what the data is and how it was made.

Training reads it to find the shards and the example count, and checks it against its own configuration, so that a
vocabulary or sequence-length mismatch fails before the first step rather than silently training on wrong ids.
Loading also checks that every shard is there at the size recorded when it was built, so a truncated copy is refused
by name rather than failing mid-training.
"""

import dataclasses
import json
import os
from typing import Any, Optional

import tensorflow as tf

from electra_tf import config_io, io_utils
from electra_tf.tokenization.vocabulary import Vocabulary

METADATA_FILE = "metadata.json"
FORMAT = "electra_tf.pretraining_data.v1"


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """One shard of the data.

    Args:
        file: str. File name, relative to the data folder.
        num_examples: int. Records in the file.
        num_bytes: int or None. Size of the file when it was built; loading compares it with the file on disk, so a
            truncated copy is refused by name instead of failing mid-training. None in data built before it was
            recorded. Defaults to None.
    """

    file: str
    num_examples: int
    num_bytes: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class PretrainingDataMetadata:
    """Describes a folder of pre-training TFRecords.

    Args:
        max_seq_length: int. Length of every example.
        num_examples: int. Examples across all shards.
        shards: list of `ShardInfo`, file names relative to the folder.
        tokenizer: dict. `WordPieceTokenizer.settings()`: lower_case, strip_accents, vocab_size, vocab_sha256.
        special_token_ids: dict. Ids of `[PAD] [UNK] [CLS] [SEP] [MASK]`.
        statistics: dict. Token counts, the share of tokens kept, the share of single-segment examples, and so on.
        build: dict. The resolved build configuration and inputs.
        format: str. Format tag. Defaults to the current one.
    """

    max_seq_length: int
    num_examples: int
    shards: list
    tokenizer: dict
    special_token_ids: dict
    statistics: dict
    build: dict
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def save(self, directory: str) -> None:
        io_utils.write_text_atomic(os.path.join(directory, METADATA_FILE), self.to_json())

    @classmethod
    def load(cls, directory: str) -> "PretrainingDataMetadata":
        """Reads `<directory>/metadata.json`, failing clearly if it is missing or not ours."""
        path = os.path.join(directory, METADATA_FILE)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(
                f"{path} does not exist: {directory} is not a folder written by bin/build_pretraining_data. Build "
                "the data first, or pass the folder that holds metadata.json."
            )
        with tf.io.gfile.GFile(path, "r") as f:
            try:
                raw: dict[str, Any] = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} is not valid JSON ({e}). Rebuild the data.") from e
        if raw.get("format") != FORMAT:
            raise ValueError(
                f"{path} has format {raw.get('format')!r}; this version reads {FORMAT!r}. Rebuild the data."
            )
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - fields)
        if unknown:
            raise ValueError(f"{path} has unknown keys {unknown}. Rebuild the data with this version of electra_tf.")
        try:
            raw["shards"] = [
                config_io.from_dict(ShardInfo, shard, f"{path}:shards[{i}]") for i, shard in enumerate(raw["shards"])
            ]
            metadata = cls(**raw)
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path} lacks a required entry ({e}). Rebuild the data.") from None
        metadata.check_shards(directory)
        return metadata

    def shard_paths(self, directory: str) -> list[str]:
        return [os.path.join(directory, shard.file) for shard in self.shards]

    def check_shards(self, directory: str) -> None:
        """Raises naming the first shard that is missing or whose size differs from the one recorded at build time.

        A shard cut short by an interrupted copy would otherwise surface as a `DataLossError` deep inside training.
        """
        for path, shard in zip(self.shard_paths(directory), self.shards):
            if not tf.io.gfile.exists(path):
                raise FileNotFoundError(
                    f"Shard {path} is missing, but {METADATA_FILE} lists it. Copy the whole data folder again, or "
                    "rebuild it with bin/build_pretraining_data."
                )
            size = tf.io.gfile.stat(path).length
            if shard.num_bytes is not None and size != shard.num_bytes:
                raise ValueError(
                    f"Shard {path} has {size} bytes, but {METADATA_FILE} records {shard.num_bytes}: it was truncated "
                    "or changed after the build. Rebuild the data with bin/build_pretraining_data, or copy the whole "
                    "folder again."
                )

    def check_compatible(
        self, vocabulary: Optional[Vocabulary] = None, max_seq_length: Optional[int] = None, source: str = "the data"
    ) -> None:
        """Raises `ValueError` naming the setting where the data disagrees with a model's vocabulary or length."""
        if max_seq_length is not None and max_seq_length != self.max_seq_length:
            raise ValueError(
                f"{source} was built with max_seq_length={self.max_seq_length}, but the configuration asks for "
                f"max_seq_length={max_seq_length}. Rebuild the data or change the configuration."
            )
        if vocabulary is not None:
            if vocabulary.size != self.tokenizer["vocab_size"]:
                raise ValueError(
                    f"{source} was built with a vocabulary of {self.tokenizer['vocab_size']} tokens, but "
                    f"{vocabulary.source} has {vocabulary.size}. Use the vocabulary the data was built with."
                )
            if vocabulary.fingerprint() != self.tokenizer["vocab_sha256"]:
                raise ValueError(
                    f"{source} was built with a different vocabulary than {vocabulary.source} (sha256 "
                    f"{self.tokenizer['vocab_sha256'][:12]}... vs {vocabulary.fingerprint()[:12]}...). Use the "
                    "vocabulary the data was built with."
                )
