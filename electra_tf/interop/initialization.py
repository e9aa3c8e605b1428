"""Starting pre-training from released (or earlier) weights: `bin/pretrain --init_from=DIR`.

DIR holds `discriminator/` and, for objectives with a generator, `generator/`, each a saved encoder with its head
(`bin/convert` writes them; so does `bin/pretrain` at the end of a run). The discriminator's embeddings become the
shared ones. The architecture must equal the run's config; a mismatch is an error naming both.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf
from absl import logging

from electra_tf.models import saving


def _copy(target_variables: dict, source_variables: dict, what: str, skip_prefix: str = None) -> None:
    for path, variable in target_variables.items():
        if skip_prefix and path.startswith(skip_prefix):
            continue
        if path not in source_variables:
            raise ValueError(f"--init_from: the {what} has no variable {path}.")
        source = source_variables[path]
        if tuple(source.shape) != tuple(variable.shape):
            raise ValueError(
                f"--init_from: {what} variable {path} is {tuple(source.shape)}, the run needs {tuple(variable.shape)}."
            )
        variable.assign(source.numpy())


def _check_architecture(run_config, source_config, what: str, directory: str) -> None:
    ignore = ("dropout",)
    run = {k: v for k, v in dataclasses.asdict(run_config).items() if k not in ignore}
    source = {k: v for k, v in dataclasses.asdict(source_config).items() if k not in ignore}
    source["embedding_size"] = source_config.resolved_embedding_size
    run["embedding_size"] = run_config.resolved_embedding_size
    different = {k: (run[k], source[k]) for k in run if run[k] != source[k]}
    if different:
        raise ValueError(
            f"--init_from {directory}: the {what} differs from the run's config (run, checkpoint): {different}. Use a "
            "config with the checkpoint's architecture."
        )


def initialize_pretrainer(model, directory: str, vocabulary) -> None:
    """Loads discriminator and generator weights (encoders and heads) into an `ElectraPretrainer`."""
    disc = saving.load(os.path.join(directory, "discriminator"))
    if disc.vocabulary.fingerprint() != vocabulary.fingerprint():
        raise ValueError(f"--init_from {directory}: its vocab.txt is not the training data's vocabulary.")
    _check_architecture(model.discriminator.encoder_config, disc.encoder.encoder_config, "discriminator", directory)
    _copy(saving.variables_by_path(model.discriminator), saving.variables_by_path(disc.encoder), "discriminator")
    heads = model.heads
    if "discriminator_head" in heads:
        if disc.head is None or disc.kind != saving.DISCRIMINATOR:
            raise ValueError(f"--init_from {directory}/discriminator has no discriminator head (head.json).")
        _copy(saving.head_weights(heads["discriminator_head"]), saving.head_weights(disc.head), "discriminator head")
    if model.generator is None:
        return
    generator_dir = os.path.join(directory, "generator")
    if not tf.io.gfile.isdir(generator_dir):
        logging.warning("--init_from %s has no generator/; the generator starts from random weights.", directory)
        return
    gen = saving.load(generator_dir)
    _check_architecture(model.generator.encoder_config, gen.encoder.encoder_config, "generator", directory)
    shared = gen.encoder.embeddings.token_embedding.embeddings.numpy()
    if not np.array_equal(shared, disc.encoder.embeddings.token_embedding.embeddings.numpy()):
        logging.warning(
            "--init_from: the generator's embeddings differ from the discriminator's; the discriminator's are kept "
            "(they are shared)."
        )
    _copy(
        saving.variables_by_path(model.generator),
        saving.variables_by_path(gen.encoder),
        "generator",
        skip_prefix="embeddings/",
    )
    if gen.head is None or gen.kind != saving.GENERATOR:
        raise ValueError(f"--init_from {generator_dir} has no generator head (head.json).")
    generator_head = heads["generator_head"]
    if gen.head_act != generator_head.hidden_act:
        logging.warning(
            "--init_from: the generator head was trained with %s GELU and continues with %s.",
            gen.head_act,
            generator_head.hidden_act,
        )
    _copy(saving.head_weights(generator_head), saving.head_weights(gen.head), "generator head")
