"""The pre-training driver behind `bin/pretrain`: strategy, model, data, checkpoints, logging, export.

Reading order:
1. resolve the configuration against the data (vocabulary, sequence length) and the model_dir (same architecture);
2. build the strategy, the model and the optimizer; restore the latest checkpoint if there is one;
3. build the data *from the restored global step*: `fit`'s iterator cannot be checkpointed, so the data position,
   the masks and the generator's sampling noise are all functions of the step;
4. train: `fit` for the default, Mirrored and TPU strategies; a short custom loop over the same `train_step` for
   MultiWorkerMirroredStrategy, where Keras's `fit` fails (keras-team/keras#20585);
5. evaluate on held-out shards, save the discriminator and generator encoders for fine-tuning, and the
   discriminator as a keras-hub preset (`<model_dir>/discriminator/keras_hub`).
"""

import contextlib
import dataclasses
import json
import math
import os
import statistics
import tempfile
import time
from typing import Optional

import keras
import tensorflow as tf
from absl import logging

from electra_tf import config_io, io_utils, run_lock
from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.data.pretraining_dataset import check_batch_size, pretraining_dataset, usable_holdout_shards
from electra_tf.interop import initialization
from electra_tf.models import keras_hub_export, saving
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.models.flops_gr import gr_pretraining_flops_per_step
from electra_tf.optimizers.config import create_optimizer
from electra_tf.optimizers.schedules import WarmupLinearDecay
from electra_tf.tokenization.vocabulary import VOCAB_FILE, Vocabulary
from electra_tf.training import callbacks, nonfinite
from electra_tf.training.pretraining_config import PretrainingConfig

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
CONFIG_FILE = "pretraining_config.json"
RESULTS_FILE = "results.json"
HISTORY_FILE = "history.jsonl"  # Every logged training line and evaluation, kept across resumed invocations.
CHECKPOINT_DIR = "checkpoints"
# Fields that define the architecture: a model_dir's checkpoints only fit a config that agrees on them.
_ARCHITECTURE_FIELDS = ("encoder", "generator_fraction", "objective")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How to run (not what to train).

    Args:
        strategy: str. "default", "mirrored", "multi_worker" or "tpu". Defaults to "default".
        tpu: str or None. TPU name or address for the "tpu" strategy. Defaults to None.
        mixed_precision: str. "float32", "mixed_bfloat16" or "mixed_float16". Defaults to "float32".
        jit_compile: bool. Compile the step with XLA. Defaults to False.
        steps_per_execution: int. Steps per compiled call. Defaults to 1.
        init_from: str or None. A folder with `discriminator/` (and `generator/`) in electra_tf's converted form
            (`bin/convert`, or an earlier run's model_dir): a fresh run starts from those weights. Ignored when
            model_dir already has a checkpoint to resume. Defaults to None.
        force_unlock: bool. Take the model_dir's lock even if a run on another host holds it (`run_lock.py`).
            Defaults to False.
    """

    strategy: str = "default"
    tpu: Optional[str] = None
    mixed_precision: str = "float32"
    jit_compile: bool = False
    steps_per_execution: int = 1
    init_from: Optional[str] = None
    force_unlock: bool = False

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, but received strategy={self.strategy!r}.")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(f"mixed_precision must be one of {PRECISIONS}, but received {self.mixed_precision!r}.")
        if self.steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be positive, but received {self.steps_per_execution}.")
        if self.strategy == "tpu" and not self.tpu:
            raise ValueError("strategy='tpu' needs --tpu=NAME (the Cloud TPU name, or 'local').")


def create_strategy(options: RunOptions) -> tf.distribute.Strategy:
    if options.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if options.strategy == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if options.strategy == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=options.tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def resolve_config(
    config: PretrainingConfig, train_data: str, model_dir: str
) -> tuple[PretrainingConfig, Vocabulary, PretrainingDataMetadata]:
    """Checks the config against the data and model_dir; takes the vocabulary size from the data."""
    metadata = PretrainingDataMetadata.load(train_data)
    vocabulary = Vocabulary.load(os.path.join(train_data, VOCAB_FILE))
    metadata.check_compatible(vocabulary, config.max_seq_length, source=train_data)
    # Batches the data cannot fill fail now, before model_dir is written, not at the final evaluation.
    holdout = usable_holdout_shards(metadata, config.eval_holdout_shards)
    check_batch_size(metadata, train_data, config.train_batch_size, "train" if holdout else "all", holdout)
    if holdout:
        check_batch_size(metadata, train_data, config.eval_batch_size, "eval", holdout)
    if vocabulary.size != config.encoder.vocab_size:
        logging.info(
            "Using the data's vocabulary size %d (config said %d).", vocabulary.size, config.encoder.vocab_size
        )
        config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, vocab_size=vocabulary.size))
    # Saved with the optimizer's reference behaviour spelled out, so the file means the same to later versions.
    optimizer = dataclasses.replace(config.optimizer, bias_correction=config.optimizer.resolved_bias_correction)
    config = dataclasses.replace(config, optimizer=optimizer)
    saved = os.path.join(model_dir, CONFIG_FILE)
    if tf.io.gfile.exists(saved):
        if "bias_correction" not in io_utils.read_json(saved).get("optimizer", {}):
            raise ValueError(
                f"{model_dir} holds a run started before electra_tf followed google-research/electra's optimizer "
                f"({saved} has no optimizer.bias_correction): it trained with bias-corrected Adam and a warmup that "
                "switched to the decay, and resuming would change both mid-run. Use a new --model_dir."
            )
        previous = config_io.load(PretrainingConfig, saved)
        for field in _ARCHITECTURE_FIELDS:
            if getattr(previous, field) != getattr(config, field):
                raise ValueError(
                    f"{model_dir} holds a run with a different {field} ({getattr(previous, field)} there, "
                    f"{getattr(config, field)} now): its checkpoints cannot be resumed with this config. Use a new "
                    "--model_dir, or the config the run was started with."
                )
    return config, vocabulary, metadata


def _remove_interrupted_saves(checkpoint_dir: str) -> None:
    """Deletes the `ckpt-N_temp` folders of saves that were killed part-way.

    A save writes into `ckpt-N_temp/`, merges it into `ckpt-N.index` and `ckpt-N.data-*`, and only then rewrites the
    `checkpoint` state file (atomically), so an interrupted save never changes which checkpoint is the latest.
    """
    for path in tf.io.gfile.glob(os.path.join(checkpoint_dir, "ckpt-*_temp")):
        logging.warning("Removing %s, left by a save that was interrupted.", path)
        tf.io.gfile.rmtree(path)


def sweep_leaked_checkpoints(checkpoint_dir: str) -> list:
    """Deletes checkpoints older than every one the `checkpoint` state file lists, and absent from it; returns the
    removed prefixes.

    The manager saves `ckpt-N`, rewrites the state file, then deletes the oldest; a kill between the last two leaves
    that oldest checkpoint on disk, unlisted, for good. Checkpoints as new as the oldest listed one, listed or not,
    are never touched, nor is anything under `kept/`.
    """
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    if state is None:
        return []
    listed = {os.path.basename(path) for path in state.all_model_checkpoint_paths}
    listed.add(os.path.basename(state.model_checkpoint_path))
    listed_steps = [int(name.split("-")[-1]) for name in listed if name.split("-")[-1].isdigit()]
    if not listed_steps:
        return []
    removed = []
    for index in tf.io.gfile.glob(os.path.join(checkpoint_dir, "ckpt-*.index")):
        prefix = index[: -len(".index")]
        step = os.path.basename(prefix)[len("ckpt-") :]
        if step.isdigit() and int(step) < min(listed_steps) and os.path.basename(prefix) not in listed:
            for path in tf.io.gfile.glob(prefix + ".data-*") + [index]:
                tf.io.gfile.remove(path)
            removed.append(prefix)
    if removed:
        logging.warning(
            "Removed %d checkpoint(s) older than the kept window and missing from its state file (left by a run "
            "killed while rotating checkpoints): %s",
            len(removed),
            ", ".join(sorted(removed)),
        )
    return removed


def _datasets(config: PretrainingConfig, train_data: str, metadata: PretrainingDataMetadata, start_step: int):
    holdout = usable_holdout_shards(metadata, config.eval_holdout_shards)
    common = dict(masking_config=config.masking, max_seq_length=config.max_seq_length, holdout_shards=holdout)

    def train(input_context=None):
        return pretraining_dataset(
            train_data,
            config.train_batch_size,
            seed=config.seed,
            start_step=start_step,
            split="train" if holdout else "all",
            input_context=input_context,
            **common,
        )

    def evaluation(input_context=None):
        return pretraining_dataset(
            train_data,
            config.eval_batch_size,
            seed=config.seed + 1,
            split="eval",
            shuffle_buffer_size=1,
            input_context=input_context,
            **common,
        )

    return train, evaluation if holdout else None


def _metrics_reader(metrics):
    """Returns a function giving the metrics' results aggregated over every replica and worker (the variables are
    sum-on-read, so reading them in cross-replica context all-reduces them)."""
    read = tf.function(lambda: {m.name: m.result() for m in metrics})
    return lambda: {name: float(value) for name, value in read().items()}


def _custom_loop(
    model,
    strategy,
    config,
    train_fn,
    step_variable,
    manager,
    checkpoint_dir,
    worker_dir,
    logger,
    steps_per_execution,
    checkpoint,
    keep_steps,
):
    """Trains with `strategy.run(model.train_step)` over a distributed dataset (MultiWorkerMirroredStrategy).

    Every worker runs the same sequence of collective calls: the steps, the metric reads and the checkpoint saves.
    Metrics are reset at each checkpoint, as `fit` resets them at each epoch.
    """
    iterator = iter(strategy.distribute_datasets_from_function(train_fn))

    @tf.function
    def run_steps(iterator):
        strategy.run(model.train_step, args=(next(iterator),))
        for _ in tf.range(steps_per_execution - 1):
            strategy.run(model.train_step, args=(next(iterator),))

    read_metrics = _metrics_reader([m for m in model.metrics if m.name != "discriminator_auc"])
    logger.set_model(model)
    logger.on_train_begin()
    step = int(step_variable.numpy())
    saved_block = step // config.checkpoint_every
    while step < config.num_train_steps:
        previous = step
        run_steps(iterator)
        logs = read_metrics()
        step = int(step_variable.numpy())
        nonfinite.check(logs, step, lambda: tf.train.latest_checkpoint(checkpoint_dir), previous)
        logger.on_train_batch_end(0, logs)
        if step in keep_steps:  # Every worker writes (the collectives stay in step); the chief's is kept.
            callbacks.write_kept_checkpoint(checkpoint, worker_dir or checkpoint_dir, step)
            if worker_dir and tf.io.gfile.exists(worker_dir):
                tf.io.gfile.rmtree(worker_dir)
        if step // config.checkpoint_every > saved_block or step >= config.num_train_steps:
            # Every worker must take part in the save; only the chief's copy is kept.
            manager.save(checkpoint_number=step)
            if worker_dir and tf.io.gfile.exists(worker_dir):
                tf.io.gfile.rmtree(worker_dir)  # A non-chief's copy is written only to keep the collectives in step.
            saved_block = step // config.checkpoint_every
            logger.on_epoch_end(0)  # Writes the history up to this checkpoint.
            for metric in model.metrics:
                metric.reset_state()
    logger.on_train_end()


def _custom_evaluate(model, strategy, eval_fn, steps: int) -> dict:
    """`model.evaluate` for MultiWorkerMirroredStrategy: `steps` global batches, metrics aggregated over workers."""
    for metric in model.metrics:
        metric.reset_state()
    iterator = iter(strategy.distribute_datasets_from_function(eval_fn))

    @tf.function
    def run_steps(iterator):
        for _ in tf.range(steps):
            strategy.run(model.test_step, args=(next(iterator),))

    run_steps(iterator)
    return _metrics_reader(model.evaluation_metrics)()


def run_pretraining(
    config: PretrainingConfig, train_data: str, model_dir: str, options: RunOptions = RunOptions()
) -> dict:
    """Pre-trains, resuming from the latest checkpoint in `model_dir`, and saves the encoders.

    Args:
        config: `PretrainingConfig`.
        train_data: str. A folder written by `build_pretraining_data`.
        model_dir: str. Checkpoints, TensorBoard logs, the resolved config and the saved encoders go here.
        options: `RunOptions`.

    Returns:
        The summary written to `<model_dir>/results.json`: final step, last training metrics, evaluation metrics,
        median tokens/s, FLOPs per step (ours, and in google-research/electra's convention) and wall time.
    """
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(options.mixed_precision)
    try:
        return _run(config, train_data, model_dir, options)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


@dataclasses.dataclass
class _Session:
    """What the phases of one invocation share: the strategy, the model and its checkpointing, and the step it
    starts from."""

    strategy: tf.distribute.Strategy
    chief: bool
    model: ElectraPretrainer
    optimizer: keras.optimizers.Optimizer
    checkpoint: tf.train.Checkpoint
    checkpoint_dir: str
    worker_dir: Optional[str]  # A non-chief worker's throwaway save folder (the save is collective).
    manager: tf.train.CheckpointManager
    step_reader: callbacks.StepReader
    start_step: int
    keep_steps: tuple  # The kept-checkpoint steps still ahead.


def _run(config: PretrainingConfig, train_data: str, model_dir: str, options: RunOptions) -> dict:
    start_time = time.time()
    _check_options(config, options)
    config, vocabulary, metadata = resolve_config(config, train_data, model_dir)
    strategy = create_strategy(options)
    chief = is_chief(strategy)
    # One writer per model_dir: the chief holds its lock from before the first write to the end (run_lock.py).
    with run_lock.hold(model_dir, options.force_unlock) if chief else contextlib.nullcontext():
        session = _build_or_restore(config, model_dir, options, vocabulary, strategy, chief)
        # A step is one optimizer update; with gradient accumulation it consumes several batches.
        train_fn, eval_fn = _datasets(
            config, train_data, metadata, session.start_step * config.optimizer.gradient_accumulation_steps
        )
        flops, flops_gr = _flops_per_step(config)
        logger = _logger(config, model_dir, session, flops)
        if session.start_step < config.num_train_steps:
            _train(config, options, session, train_fn, eval_fn, logger)
        evaluation = _evaluate(config, options, session, eval_fn, logger)
        results = {
            "step": int(session.optimizer.iterations.numpy()),
            "train": logger.history[-1] if logger.history else {},
            "history": logger.history,
            "eval": evaluation,
            "eval_history": logger.eval_history,
            "median_tokens_per_second": statistics.median(r["tokens_per_second"] for r in logger.history)
            if logger.history
            else None,
            "flops_per_step": flops,
            "flops_per_step_gr": flops_gr,
            "wall_seconds": round(time.time() - start_time, 1),
        }
        if session.chief:
            _finalize(config, model_dir, session.model, vocabulary, metadata, results)
    return results


def _check_options(config: PretrainingConfig, options: RunOptions) -> None:
    skipped = [s for s in config.keep_checkpoint_steps if s % options.steps_per_execution]
    if skipped:
        raise ValueError(
            f"keep_checkpoint_steps {skipped} are not multiples of steps_per_execution="
            f"{options.steps_per_execution}: the run only stops to save at multiples of it."
        )


def _build_or_restore(
    config: PretrainingConfig,
    model_dir: str,
    options: RunOptions,
    vocabulary: Vocabulary,
    strategy: tf.distribute.Strategy,
    chief: bool,
) -> _Session:
    """Builds the model and its optimizer under `strategy`, and restores the latest checkpoint (or `--init_from`)."""
    tf.io.gfile.makedirs(model_dir)
    if chief:
        config_io.save(config, os.path.join(model_dir, CONFIG_FILE))

    # Seeded initialization: two runs of one config start from the same weights.
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = ElectraPretrainer(**config.pretrainer_kwargs())
        optimizer = create_optimizer(config.optimizer, config.num_train_steps, options.mixed_precision)
        model.compile(
            optimizer=optimizer, jit_compile=options.jit_compile, steps_per_execution=options.steps_per_execution
        )
        optimizer.build(model.trainable_variables)
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
        checkpoint_dir = os.path.join(model_dir, CHECKPOINT_DIR)
        # Non-chief workers save too (the save is collective) into a folder that is deleted after each save.
        worker_dir = (
            None if chief else os.path.join(tempfile.gettempdir(), f"electra_tf_worker_checkpoints_{os.getpid()}")
        )
        manager = tf.train.CheckpointManager(
            checkpoint, worker_dir or checkpoint_dir, max_to_keep=config.keep_checkpoints
        )
        if chief:
            _remove_interrupted_saves(checkpoint_dir)
            sweep_leaked_checkpoints(checkpoint_dir)
        latest = tf.train.latest_checkpoint(checkpoint_dir)
        if latest:
            checkpoint.restore(latest).assert_existing_objects_matched()
            logging.info("Resumed from %s at step %d.", latest, int(optimizer.iterations.numpy()))
            print(f"Resuming from {latest} at step {int(optimizer.iterations.numpy())}.", flush=True)
        elif options.init_from:
            initialization.initialize_pretrainer(model, options.init_from, vocabulary)
            print(f"Initialized from {options.init_from}.", flush=True)

    step = int(optimizer.iterations.numpy())
    if chief:
        callbacks.remove_kept_after(checkpoint_dir, step)
    return _Session(
        strategy,
        chief,
        model,
        optimizer,
        checkpoint,
        checkpoint_dir,
        worker_dir,
        manager,
        callbacks.StepReader(optimizer),  # Not optimizer.iterations itself: see StepReader.
        step,
        callbacks.pending_kept_steps(config.keep_checkpoint_steps, step),
    )


def _flops_per_step(config: PretrainingConfig) -> tuple[float, float]:
    """FLOPs of one step (one update, accumulated batches included): our count, and google-research/electra's
    convention (its flops_computation.py, which the paper uses)."""
    accumulation = config.optimizer.gradient_accumulation_steps
    shape = config.step_shape()
    flops, flops_gr = (
        accumulation * pretraining_flops_per_step(*shape),
        accumulation * gr_pretraining_flops_per_step(*shape),
    )
    logging.info("%.3e FLOPs per step (%.3e in google-research/electra's convention).", flops, flops_gr)
    return flops, flops_gr


def _logger(config: PretrainingConfig, model_dir: str, session: _Session, flops: float) -> callbacks.TrainingLogger:
    """Progress lines, TensorBoard (chief only) and `history.jsonl`."""
    return callbacks.TrainingLogger(
        os.path.join(model_dir, "logs") if session.chief else None,
        config.num_train_steps,
        config.train_batch_size * config.max_seq_length * config.optimizer.gradient_accumulation_steps,
        config.log_every,
        config_io.to_json(config),
        session.step_reader,
        WarmupLinearDecay(config.optimizer.learning_rate, config.optimizer.warmup_steps, config.num_train_steps),
        flops,
        history_path=os.path.join(model_dir, HISTORY_FILE) if session.chief else None,
    )


def _train(config: PretrainingConfig, options: RunOptions, session: _Session, train_fn, eval_fn, logger) -> None:
    """Trains from `session.start_step` to `config.num_train_steps`: `fit`, or the custom loop under
    MultiWorkerMirroredStrategy."""
    if options.strategy == "multi_worker":
        _custom_loop(
            session.model,
            session.strategy,
            config,
            train_fn,
            session.step_reader,
            session.manager,
            session.checkpoint_dir,
            session.worker_dir,
            logger,
            options.steps_per_execution,
            session.checkpoint,
            session.keep_steps,
        )
        return
    evaluate_every = max(1, config.eval_every // config.checkpoint_every) if config.eval_every else None
    session.model.fit(
        train_fn(),
        steps_per_epoch=config.checkpoint_every * config.optimizer.gradient_accumulation_steps,
        epochs=math.ceil(config.num_train_steps / config.checkpoint_every),
        initial_epoch=session.start_step // config.checkpoint_every,
        validation_data=eval_fn() if evaluate_every else None,
        validation_steps=config.eval_steps if evaluate_every else None,
        validation_freq=evaluate_every or 1,
        shuffle=False,  # The data is shuffled (deterministically, by step) in pretraining_dataset.
        callbacks=[
            callbacks.StopAtStep(config.num_train_steps, session.step_reader),
            nonfinite.NonFiniteGuard(session.checkpoint_dir, session.step_reader),
            # The logger resets the metrics after each line; the guard reads the step's logs, so it sees every count.
            logger,
            callbacks.KeepCheckpointsAt(
                session.checkpoint,
                session.worker_dir or session.checkpoint_dir,
                session.keep_steps,
                session.step_reader,
            ),
            callbacks.CheckpointEvery(session.manager, session.step_reader),
        ],
        verbose=0,
    )


def _evaluate(config: PretrainingConfig, options: RunOptions, session: _Session, eval_fn, logger) -> dict:
    """The final evaluation on the held-out shards ({} without them)."""
    if eval_fn is None:
        return {}
    if options.strategy == "multi_worker":
        evaluation = _custom_evaluate(session.model, session.strategy, eval_fn, config.eval_steps)
    else:
        evaluation = session.model.evaluate(eval_fn(), steps=config.eval_steps, return_dict=True, verbose=0)
    logger.on_test_end(evaluation)
    return {k: float(v) for k, v in evaluation.items()}


def _finalize(
    config: PretrainingConfig,
    model_dir: str,
    model: ElectraPretrainer,
    vocabulary: Vocabulary,
    metadata: PretrainingDataMetadata,
    results: dict,
) -> None:
    """Saves the encoders with their heads (`models.saving`), the keras-hub preset, and `results.json` (chief only)."""
    tokenizer = {k: metadata.tokenizer[k] for k in ("lower_case", "strip_accents")}
    head_act = config.encoder.hidden_act
    detection_head = model.heads.get("discriminator_head")
    disc_head = (
        dict(head=detection_head, kind=saving.DISCRIMINATOR, head_act=head_act) if detection_head is not None else {}
    )
    saving.save(
        saving.SavedEncoder(model.discriminator, vocabulary, tokenizer, **disc_head),
        os.path.join(model_dir, "discriminator"),
    )
    if config.encoder.hidden_act == "gelu_tanh":
        keras_hub_export.export_keras_hub_preset(
            model.discriminator,
            vocabulary,
            os.path.join(model_dir, "discriminator", "keras_hub"),
            tokenizer["lower_case"],
        )
    else:  # keras-hub's ElectraBackbone computes only the tanh GELU (see keras_hub_export).
        print(
            f"No keras-hub preset: hidden_act={config.encoder.hidden_act!r}, and keras-hub's ElectraBackbone "
            "hard-codes the tanh GELU. Pre-train with hidden_act='gelu_tanh' for one; "
            "`electra-convert --to=hf` exports this encoder exactly.",
            flush=True,
        )
    if model.generator is not None:
        saving.save(
            saving.SavedEncoder(
                model.generator, vocabulary, tokenizer, model.heads["generator_head"], saving.GENERATOR, head_act
            ),
            os.path.join(model_dir, "generator"),
        )
    io_utils.write_text_atomic(os.path.join(model_dir, RESULTS_FILE), json.dumps(results, indent=2) + "\n")
