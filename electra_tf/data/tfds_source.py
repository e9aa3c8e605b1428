"""Pre-training data from a TFDS text dataset (`--tfds=wiki40b/en:text`), for users with internet.

The dataset's text feature is exported once into a temporary corpus file (documents separated by blank lines, blank
lines inside a document collapsed), which then goes through the same builder as plain text files, so both sources
produce identical examples for identical text. Nothing is downloaded unless `download=True`.
"""

import os
import re
import uuid
from typing import Optional

import tensorflow as tf

from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.data.pretraining_data_builder import build_pretraining_data

_BLANK_LINES = re.compile(r"\n\s*\n")


def parse_spec(spec: str) -> tuple[str, str]:
    """Splits `NAME[/CONFIG][:VERSION]:FEATURE` into the dataset name and the text feature."""
    name, sep, feature = spec.rpartition(":")
    if not sep or not name or not feature:
        raise ValueError(f"--tfds expects NAME:FEATURE, e.g. wiki40b/en:text, but received {spec!r}.")
    return name, feature


def export_text(
    spec: str, output_file: str, split: str = "train", data_dir: Optional[str] = None, download: bool = False
) -> int:
    """Writes the text feature of a TFDS dataset as a corpus file, one document per example.

    Returns:
        The number of documents written.

    Raises:
        ValueError: if the dataset is not prepared and `download` is False, or the feature is missing.
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top; heavy, and only needed here.

    name, feature = parse_spec(spec)
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        if not download:
            raise ValueError(
                f"TFDS dataset {name} is not prepared in {builder.data_dir}. Pass --tfds_download to download and "
                "prepare it (this needs internet), or point --tfds_data_dir at a prepared copy."
            )
        builder.download_and_prepare()
    if feature not in builder.info.features:
        raise ValueError(
            f"TFDS dataset {name} has no feature {feature!r}; its features are {sorted(builder.info.features)}."
        )
    dataset = builder.as_dataset(split=split, shuffle_files=False).map(lambda ex: ex[feature])
    num_documents = 0
    with tf.io.gfile.GFile(output_file, "w") as f:
        for text in dataset.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
            document = _BLANK_LINES.sub("\n", text.decode("utf-8", errors="replace")).strip()
            if document:
                f.write(document + "\n\n")
                num_documents += 1
    return num_documents


def build_pretraining_data_from_tfds(
    spec: str,
    output_dir: str,
    split: str = "train",
    data_dir: Optional[str] = None,
    download: bool = False,
    **build_kwargs,
) -> PretrainingDataMetadata:
    """Exports a TFDS text feature to a temporary corpus file, then runs `build_pretraining_data` on it.

    Args:
        spec: str. `NAME:FEATURE`, e.g. `wiki40b/en:text`.
        output_dir: str. As in `build_pretraining_data`.
        split: str. The TFDS split. Defaults to "train".
        data_dir: str or None. TFDS data_dir. Defaults to TFDS's own.
        download: bool. Download and prepare the dataset if it is missing. Defaults to False.
        **build_kwargs: `vocab_file`, `config`, `num_workers`, `show_progress` for `build_pretraining_data`.
    """
    # Beside output_dir, never inside it: a URL keeps a trailing "/" that dirname would stop at.
    parent = (
        os.path.dirname(os.path.abspath(output_dir))
        if "://" not in output_dir
        else os.path.dirname(output_dir.rstrip("/"))
    )
    tf.io.gfile.makedirs(parent)
    corpus_file = os.path.join(parent, f".tfds-corpus-{uuid.uuid4().hex[:8]}.txt")
    try:
        export_text(spec, corpus_file, split=split, data_dir=data_dir, download=download)
        return build_pretraining_data(
            [corpus_file], output_dir=output_dir, source_description=f"tfds:{spec}[{split}]", **build_kwargs
        )
    finally:
        if tf.io.gfile.exists(corpus_file):
            tf.io.gfile.remove(corpus_file)
