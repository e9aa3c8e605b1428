"""GLUE from TFDS's `glue/*` builders: an alternative to the TSV files, for machines with internet.

Nothing is downloaded unless asked (`download=True`, `bin/finetune --source=tfds --tfds_download`). TFDS's label
order is not always GLUE's files' order (MNLI: entailment, neutral, contradiction), so labels are mapped by name.
"""

from typing import Optional

import numpy as np

from electra_tf.tasks.reader import Examples
from electra_tf.tasks.task import Task

# Text features of each builder, in (text_a, text_b) order.
TEXT_FEATURES = {
    "glue/cola": ("sentence",),
    "glue/sst2": ("sentence",),
    "glue/mrpc": ("sentence1", "sentence2"),
    "glue/stsb": ("sentence1", "sentence2"),
    "glue/qqp": ("question1", "question2"),
    "glue/mnli": ("premise", "hypothesis"),
    "glue/qnli": ("question", "sentence"),
    "glue/rte": ("sentence1", "sentence2"),
    "glue/wnli": ("sentence1", "sentence2"),
}


def tfds_split(task: Task, split: str) -> str:
    """Our split name -> TFDS's ("dev" -> "validation"; MNLI's "dev" -> "validation_matched")."""
    mnli = task.tfds_name == "glue/mnli"
    names = {
        "train": "train",
        "dev": "validation_matched" if mnli else "validation",
        "dev_mismatched": "validation_mismatched",
        "test": "test_matched" if mnli else "test",
        "test_mismatched": "test_mismatched",
    }
    if split not in names:
        raise ValueError(f"No TFDS split for {split!r}; known: {sorted(names)}.")
    return names[split]


def label_map(task: Task, tfds_names: Optional[list]) -> np.ndarray:
    """Maps TFDS label ids to the task's: by name where the names agree, else by position ("0", "1", ...)."""
    if tfds_names is None:
        raise ValueError(f"TFDS's {task.tfds_name} has no label names to map.")
    if set(tfds_names) == set(task.labels):
        return np.array([task.labels.index(name) for name in tfds_names], dtype=np.int32)
    if list(task.labels) == [str(i) for i in range(len(tfds_names))]:
        return np.arange(len(tfds_names), dtype=np.int32)
    raise ValueError(f"Cannot map TFDS {task.tfds_name} labels {tfds_names} to the task's labels {list(task.labels)}.")


def examples_from_tfds(task: Task, dataset, label_names: Optional[list], labelled: bool) -> Examples:
    """Converts an iterable of TFDS GLUE examples (numpy dicts) into `Examples`."""
    keys = TEXT_FEATURES[task.tfds_name]
    mapping = None if task.is_regression or not labelled else label_map(task, label_names)
    text_a, text_b, labels, ids = [], [] if len(keys) == 2 else None, [], []
    for example in dataset:
        text_a.append(_text(example[keys[0]]))
        if text_b is not None:
            text_b.append(_text(example[keys[1]]))
        if labelled:
            label = example["label"]
            labels.append(float(label) if task.is_regression else int(mapping[int(label)]))
        ids.append(str(int(example["idx"])) if "idx" in example else str(len(ids)))
    label_array = None
    if labelled:
        label_array = np.asarray(labels, dtype=np.float32 if task.is_regression else np.int32)
    return Examples(text_a, text_b, label_array, ids, 0, f"tfds:{task.tfds_name}")


def read_split(task: Task, split: str, data_dir: Optional[str] = None, download: bool = False) -> Examples:
    """Reads one split of a GLUE task from TFDS.

    Args:
        task: `Task` with a `tfds_name`.
        split: str. "train", "dev", "dev_mismatched", "test" or "test_mismatched".
        data_dir: str or None. TFDS data_dir; None is TFDS's default.
        download: bool. Download and prepare the dataset if it is missing (needs internet). Defaults to False.
    """
    import tensorflow_datasets as tfds

    if not task.tfds_name or task.tfds_name not in TEXT_FEATURES:
        raise ValueError(f"Task {task.name!r} has no TFDS builder; read its TSV files instead (--source=tsv).")
    builder = tfds.builder(task.tfds_name, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    try:
        dataset = builder.as_dataset(split=tfds_split(task, split), shuffle_files=False)
    except (AssertionError, FileNotFoundError) as e:
        raise FileNotFoundError(
            f"TFDS dataset {task.tfds_name} is not prepared in {builder.data_dir} ({e}). Pass --tfds_download on a "
            "machine with internet, or read the GLUE TSV files with --source=tsv."
        ) from None
    label_feature = builder.info.features["label"]
    names = getattr(label_feature, "names", None)
    labelled = not split.startswith("test")
    return examples_from_tfds(task, tfds.as_numpy(dataset), names, labelled)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
