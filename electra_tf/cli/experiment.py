"""Runs an equal-compute experiment end to end and writes its table and plot:

    electra-experiment --config=configs/experiments/electra_vs_mlm.json

Stages whose outputs exist are skipped, so the same command resumes an interrupted run. See
`electra_tf/experiments/equal_compute.py` and `docs/experiments/`.
"""

import os
import sys
import time

from absl import flags

from electra_tf import config_io, settings
from electra_tf.cli import common
from electra_tf.experiments import equal_compute, report

_CONFIG = flags.DEFINE_string(
    "config",
    str(settings.repo_root() / "configs" / "experiments" / "electra_vs_mlm.json"),
    "An ExperimentConfig JSON file.",
)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Runs and checkpoints; defaults to data/experiments/<name>.")
_DOCS_DIR = flags.DEFINE_string("docs_dir", None, "Table and plot; defaults to docs/experiments/<name>.")
_GLUE_DIR = flags.DEFINE_string("glue_dir", str(settings.data_dir() / "glue"), "The GLUE root.")


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    config = config_io.load(equal_compute.ExperimentConfig, _CONFIG.value)
    output_dir = _OUTPUT_DIR.value or str(settings.output_dir() / "experiments" / config.name)
    docs_dir = _DOCS_DIR.value or str(settings.repo_root() / "docs" / "experiments" / config.name)
    started = time.time()
    summary = equal_compute.Experiment(config, output_dir, _GLUE_DIR.value).run()
    command = " ".join(["electra-experiment", *(a for a in sys.argv[1:] if not a.startswith("--glue_dir"))])
    wall = equal_compute.total_wall_seconds(output_dir) if summary else time.time() - started
    results = report.write_report(os.path.join(output_dir, "summary.json"), docs_dir, command, wall)
    print(f"Wrote {docs_dir}/results.md, results.json and the plots.")
    if results["positive_control"] is not None:
        print(f"Positive control: {'PASSED' if results['positive_control'] else 'NOT PASSED'} (see results.md).")
    if results["verdict"]:
        print(report.verdict_text(results))


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
