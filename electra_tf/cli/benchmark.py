"""Measures electra_tf's throughput: one JSON line per figure, then a readable table.

    electra-benchmark --suite=data
"""

import json
import os
import tempfile

from absl import flags

from electra_tf import settings
from electra_tf.benchmarks import data_benchmarks
from electra_tf.cli import common
from electra_tf.data.pretraining_data_builder import build_pretraining_data

_SUITE = flags.DEFINE_enum("suite", "data", ["data"], "Which figures to measure.")
_CORPUS = flags.DEFINE_string(
    "corpus", str(settings.corpus_file("gutenberg_10MB.txt")), "Corpus for steady-state build and pipeline figures."
)
_END_TO_END_CORPUS = flags.DEFINE_string(
    "end_to_end_corpus", str(settings.corpus_file("gutenberg_100MB.txt")), "Corpus timed end to end."
)
_VOCAB_FILE = flags.DEFINE_string("vocab_file", str(settings.output_dir() / "vocab.txt"), "vocab.txt to use.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 0, "Workers of the end-to-end build; 0 uses every core.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 128, "Batch size of the input-pipeline figure.")


def _print_table(results: list[dict]) -> None:
    print(f"\n{'figure':<30} {'value':>14}  unit")
    for r in results:
        print(f"{r['name']:<30} {r['value']:>14}  {r['unit']}")


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    results = []

    def report(result: dict) -> None:
        print(json.dumps(result), flush=True)
        results.append(result)

    report(data_benchmarks.build_steady_state([_CORPUS.value], _VOCAB_FILE.value))
    report(
        data_benchmarks.build_end_to_end([_END_TO_END_CORPUS.value], _VOCAB_FILE.value, _NUM_WORKERS.value or os.cpu_count())
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        build_pretraining_data([_CORPUS.value], _VOCAB_FILE.value, data_dir, show_progress=False)
        report(data_benchmarks.input_pipeline(data_dir, batch_size=_BATCH_SIZE.value))
    _print_table(results)


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
