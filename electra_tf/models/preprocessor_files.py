"""How a preprocessor is saved beside a fine-tuned model: its settings as JSON, and `vocab.txt`, tied by a hash."""

import json
import os

import tensorflow as tf

from electra_tf import io_utils
from electra_tf.tokenization.vocabulary import VOCAB_FILE, Vocabulary


class PreprocessorFiles:
    """Mixed into a preprocessor with `vocabulary` and `get_config()`: `save` and `load` through `CONFIG_FILE`."""

    CONFIG_FILE: str = ""

    def save(self, directory: str) -> None:
        """Writes `CONFIG_FILE` and `vocab.txt` into `directory`."""
        tf.io.gfile.makedirs(directory)
        self.vocabulary.save(os.path.join(directory, VOCAB_FILE))
        config = dict(self.get_config(), vocab_sha256=self.vocabulary.fingerprint())
        io_utils.write_text_atomic(
            os.path.join(directory, self.CONFIG_FILE), json.dumps(config, indent=2, sort_keys=True) + "\n"
        )

    @classmethod
    def load(cls, directory: str):
        vocabulary = Vocabulary.load(os.path.join(directory, VOCAB_FILE))
        with tf.io.gfile.GFile(os.path.join(directory, cls.CONFIG_FILE)) as f:
            config = json.load(f)
        if config.pop("vocab_sha256") != vocabulary.fingerprint():
            raise ValueError(f"{directory}: vocab.txt is not the vocabulary {cls.CONFIG_FILE} was saved with.")
        return cls(vocabulary, **config)
