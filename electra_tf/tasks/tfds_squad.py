"""SQuAD from TFDS's `squad/v1.1` and `squad/v2.0` builders: the real training sets, for machines with internet.

Nothing is downloaded unless asked (`download=True`, `bin/finetune --source=tfds --tfds_download`). TFDS stores one
row per question; the rows are grouped back into the official format (articles by title, paragraphs by context, in
the order first seen) and read by `squad.from_document`, so they get the file reader's checks. TFDS writes its
rows shuffled, so article order is not the original file's: use TFDS's own train and validation splits, not
`split_by_article`.
"""

from typing import Iterable, Optional

from electra_tf.tasks import squad

BUILDERS = {"1.1": "squad/v1.1", "2.0": "squad/v2.0"}
SPLITS = {"train": "train", "dev": "validation"}


def document_from_rows(rows: Iterable, version: str) -> dict:
    """The official-format document for TFDS rows (numpy dicts: id, title, context, question, answers, ...)."""
    articles, paragraphs = {}, {}
    for row in rows:
        title, context = _text(row["title"]), _text(row["context"])
        article = articles.setdefault(title, {"title": title, "paragraphs": []})
        paragraph = paragraphs.get((title, context))
        if paragraph is None:
            paragraph = paragraphs[(title, context)] = {"context": context, "qas": []}
            article["paragraphs"].append(paragraph)
        answers = row["answers"]
        qa = {
            "id": _text(row["id"]),
            "question": _text(row["question"]),
            "answers": [
                {"text": _text(text), "answer_start": int(start)}
                for text, start in zip(answers["text"], answers["answer_start"])
            ],
        }
        if "is_impossible" in row:
            qa["is_impossible"] = bool(row["is_impossible"])
        paragraph["qas"].append(qa)
    return {"version": version, "data": list(articles.values())}


def read_split(
    version: str,
    split: str,
    data_dir: Optional[str] = None,
    download: bool = False,
    on_bad_example: str = "error",
) -> squad.SquadSet:
    """Reads one split of SQuAD from TFDS.

    Args:
        version: str. "1.1" or "2.0".
        split: str. "train" or "dev" (TFDS's "validation").
        data_dir: str or None. TFDS data_dir; None is TFDS's default.
        download: bool. Download and prepare the dataset if it is missing (needs internet). Defaults to False.
        on_bad_example: "error" or "skip", as in `squad.read_squad`.
    """
    import tensorflow_datasets as tfds

    if version not in BUILDERS or split not in SPLITS:
        raise ValueError(
            f"No TFDS SQuAD for version {version!r}, split {split!r}: versions {sorted(BUILDERS)}, splits "
            f"{sorted(SPLITS)}."
        )
    builder = tfds.builder(BUILDERS[version], data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    try:
        dataset = builder.as_dataset(split=SPLITS[split], shuffle_files=False)
    except (AssertionError, FileNotFoundError) as e:
        raise FileNotFoundError(
            f"TFDS dataset {BUILDERS[version]} is not prepared in {builder.data_dir} ({e}). Pass --tfds_download on "
            "a machine with internet, or read a SQuAD file with --squad_file."
        ) from None
    source = f"tfds:{BUILDERS[version]}[{SPLITS[split]}]"
    return squad.from_document(document_from_rows(tfds.as_numpy(dataset), version), source, on_bad_example)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
