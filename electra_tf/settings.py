"""Where electra_tf finds the shared real data and writes its default outputs."""

import os
import pathlib

DATA_DIR_ENV = "ELECTRA_DATA_DIR"


def repo_root() -> pathlib.Path:
    """Returns the checkout this package is imported from, or the working directory for a wheel install."""
    root = pathlib.Path(__file__).resolve().parent.parent
    if (root / "setup.py").is_file():
        return root
    return pathlib.Path.cwd()


def data_dir() -> pathlib.Path:
    """Returns the shared data folder (corpus/, glue/).

    It is `$ELECTRA_DATA_DIR` when set, else `../shared/data` relative to the repository root.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return pathlib.Path(configured).expanduser()
    return repo_root().parent / "shared" / "data"


def corpus_file(name: str = "gutenberg_10MB.txt") -> pathlib.Path:
    """Returns the path of a corpus file under `data_dir()/corpus`."""
    return data_dir() / "corpus" / name


def output_dir() -> pathlib.Path:
    """Returns the default folder for outputs (vocabularies, TFRecords): the repository's `data/`."""
    return repo_root() / "data"
