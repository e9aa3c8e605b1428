"""Installs electra_tf: ELECTRA pre-training and fine-tuning on TensorFlow 2 and Keras 3."""

import pathlib

import setuptools

_ROOT = pathlib.Path(__file__).parent

# One entry per binary in bin/: (console script, module in electra_tf.cli). Only the electra-* console scripts are
# installed: bin/'s short names (convert, export, ...) would shadow other programs on PATH, ImageMagick's convert
# among them.
_BINARIES = {
    "electra-build-vocab": "build_vocab",
    "electra-build-pretraining-data": "build_pretraining_data",
    "electra-pretrain": "pretrain",
    "electra-benchmark": "benchmark",
    "electra-finetune": "finetune",
    "electra-export": "export",
    "electra-convert": "convert",
    "electra-experiment": "experiment",
}

setuptools.setup(
    name="electra_tf",
    version="0.1.0",
    description="ELECTRA pre-training (replaced token detection) on TensorFlow 2 and Keras 3.",
    long_description=(_ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.14",
    packages=setuptools.find_packages(include=["electra_tf", "electra_tf.*"]),
    package_data={"electra_tf.export": ["*.txt"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tensorflow-text>=2.21,<2.22",
        "keras>=3.15,<4",
        "keras-hub>=0.32,<0.33",
        "tensorflow-datasets>=4.9,<5",
        "absl-py>=2.1,<3",
        "tensorboard>=2.21,<2.22",
        # Vocabulary learning only; keras-hub already depends on it.
        "tokenizers>=0.20,<1",
        "numpy>=1.26,<3",
        "tqdm>=4.66,<5",
        # Reading and writing HF checkpoints through its numpy API: small, and no torch.
        "safetensors>=0.4,<1",
        # GLUE's Pearson and Spearman correlations.
        "scipy>=1.11,<2",
        # tensorflow-datasets imports it on every Python but declares it only for Python < 3.9.
        "importlib_resources>=6,<8",
    ],
    extras_require={
        # TF Serving warmup requests (PredictionLog protos) in exported SavedModels.
        "serving": ["tensorflow-serving-api>=2.21,<2.22"],
        # Parity tests against HF transformers and --reference=hf benchmarks. torch==2.13.0 resolves to the CPU
        # build kept on this project's machines; an unpinned torch pulls a multi-GB CUDA build.
        "interop": ["torch==2.13.0", "transformers>=4.46,<6", "safetensors>=0.4,<1"],
        # The equal-compute experiment's plot.
        "experiments": ["matplotlib>=3.8,<4"],
        # ruff: the lint and format check that .ci/run runs before the tests (settings in ruff.toml). pytest-xdist:
        # setup.cfg runs the tests in two worker processes.
        "test": [
            "pytest>=8,<10",
            "pytest-xdist>=3.6,<4",
            "tensorflow-serving-api>=2.21,<2.22",
            "matplotlib>=3.8,<4",
            "ruff>=0.16,<0.17",
        ],
    },
    entry_points={
        "console_scripts": [f"{script}=electra_tf.cli.{module}:run" for script, module in _BINARIES.items()],
    },
)
