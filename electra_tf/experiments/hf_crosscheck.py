"""Cross-checks our ELECTRA training curve against HF transformers' ELECTRA trained on the same batches.

When our pre-training shows something surprising (the discriminator falling back to the replace-rate prior, say),
this tells a bug from a property of the setup: HF's `ElectraForMaskedLM` + `ElectraForPreTraining` (built by
`benchmarks.hf_reference.build_hf_electra`: shared embeddings, tied generator output) are trained on the very batches
and masks our input pipeline gives `bin/pretrain` for the same config and seed, with the same loss (generator MLM at
the masked positions + `discriminator_weight` x replaced token detection on every real token), AdamW with the same
no-decay rule and bias-correction setting, global-norm clipping and google-research/electra's warmup-times-linear-
decay schedule. It logs the same metrics as `bin/pretrain`, each the mean over the steps since the previous line.
Curves agree in shape and level, not digit for digit: the initial weights and the sampling noise come from PyTorch's
random streams, and HF's layers differ in small ways (a plain-normal initialization with a zeroed [PAD] row, where
ours is truncated normal but Glorot for the embedding projection and the discriminator's output layer, as
google-research/electra's; an erf GELU in the generator's head even for `hidden_act="gelu_tanh"`; with bias
correction on, Adam's epsilon added after the correction, where Keras adds it before, which matters only in the
first few thousand steps). It runs in float32, and reproduces the `electra` objective with AdamW and no gradient
accumulation; other settings are refused.

    python -m electra_tf.experiments.hf_crosscheck --config=RUN_CONFIG.json --train_data=DATA --steps=350 \\
        --output=hf_curve.json

Needs `torch` and `transformers` (the `interop` extra). Slow on CPU (PyTorch eager, about 3k tokens/s for `tiny` on
2 cores): it is a diagnostic, not a trainer.
"""

import argparse
import dataclasses
import json
import time

from electra_tf import config_io, io_utils
from electra_tf.training.pretraining_config import PretrainingConfig


def _uncorrected_adamw(torch):
    """google-research/electra's `AdamWeightDecayOptimizer` as a torch optimizer: `m`, `v` as exponential means, no
    bias correction, and `p -= lr * (m / (sqrt(v) + eps) + weight_decay * p)`."""

    class UncorrectedAdamW(torch.optim.Optimizer):
        def __init__(self, params, lr, betas, eps):
            super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": 0.0})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                beta_1, beta_2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                    state["m"].mul_(beta_1).add_(p.grad, alpha=1 - beta_1)
                    state["v"].mul_(beta_2).addcmul_(p.grad, p.grad, value=1 - beta_2)
                    update = state["m"] / (state["v"].sqrt() + group["eps"]) + group["weight_decay"] * p
                    p.sub_(group["lr"] * update)

    return UncorrectedAdamW


def is_decayed(name: str) -> bool:
    """HF parameter names that weight decay applies to: not LayerNorm parameters, not biases (`NO_DECAY` in
    `optimizers.adamw`, in HF's naming)."""
    return "LayerNorm" not in name and not name.endswith("bias")


class _Window:
    """Sums since the last log line, reduced as Keras' metrics reduce them: losses as means over steps, accuracy,
    precision and recall as ratios of summed counts (a step with no positive prediction adds nothing to precision)."""

    def __init__(self):
        self.sums = {}
        self.steps = 0

    def add(self, **values):
        self.steps += 1
        for name, value in values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value

    def result(self) -> dict:
        s = self.sums
        return {
            "generator_loss": s["generator_loss"] / self.steps,
            "generator_accuracy": s["mlm_correct"] / max(s["mlm_weight"], 1e-9),
            "discriminator_loss": s["discriminator_loss"] / self.steps,
            "discriminator_accuracy": s["correct"] / s["real"],
            "replace_rate": s["replaced"] / s["real"],
            "replaced_precision": s["true_positive"] / s["predicted"] if s["predicted"] else 0.0,
            "replaced_recall": s["true_positive"] / s["replaced"] if s["replaced"] else 0.0,
        }


def hf_curve(config: PretrainingConfig, train_data: str, steps: int, log_every: int = 50, seed: int = 0) -> list[dict]:
    """Trains HF's ELECTRA for `steps` steps on the batches `bin/pretrain` would read; returns the logged records."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import torch  # pylint: disable=import-outside-toplevel

    from electra_tf.benchmarks.hf_reference import build_hf_electra  # pylint: disable=import-outside-toplevel
    from electra_tf.data.metadata import PretrainingDataMetadata  # pylint: disable=import-outside-toplevel
    from electra_tf.data.pretraining_dataset import (  # pylint: disable=import-outside-toplevel
        pretraining_dataset,
        usable_holdout_shards,
    )

    _check_supported(config)
    torch.manual_seed(seed)
    metadata = PretrainingDataMetadata.load(train_data)
    holdout = usable_holdout_shards(metadata, config.eval_holdout_shards)
    batches = (
        pretraining_dataset(
            train_data,
            config.train_batch_size,
            config.masking,
            seed=config.seed,
            split="train" if holdout else "all",
            holdout_shards=holdout,
            max_seq_length=config.max_seq_length,
        )
        .take(steps)
        .as_numpy_iterator()
    )

    encoder = dict(dataclasses.asdict(config.encoder), vocab_size=metadata.tokenizer["vocab_size"])
    generator, discriminator, parameters = build_hf_electra(encoder, config.generator_fraction)
    optimizer, schedule, rate = _hf_optimizer(torch, config, generator, discriminator, parameters)
    generator.train()
    discriminator.train()
    records, window, started = [], _Window(), time.perf_counter()
    for step, batch in enumerate(batches, start=1):
        tensors = {k: torch.from_numpy(np.array(v)) for k, v in batch.items()}
        loss, statistics = _hf_loss(torch, config, generator, discriminator, tensors)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.optimizer.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(parameters, config.optimizer.clip_norm)
        optimizer.step()
        schedule.step()
        window.add(**statistics)
        if step % log_every == 0 or step == steps:
            record = {
                "step": step,
                **window.result(),
                "learning_rate": config.optimizer.learning_rate * rate(step),
                "seconds": round(time.perf_counter() - started, 1),
            }
            records.append(record)
            window = _Window()
            print("hf step " + " ".join(f"{k}={v:.4g}" for k, v in record.items()), flush=True)
    return records


def _check_supported(config: PretrainingConfig) -> None:
    unsupported = {
        "objective": (config.objective, "electra"),
        "optimizer.name": (config.optimizer.name, "adamw"),
        "optimizer.gradient_accumulation_steps": (config.optimizer.gradient_accumulation_steps, 1),
    }
    for field, (value, supported) in unsupported.items():
        if value != supported:
            raise ValueError(f"The HF cross-check reproduces {field}={supported!r} only, but the config has {value!r}.")


def _hf_optimizer(torch, config: PretrainingConfig, generator, discriminator, parameters):
    """AdamW with the same no-decay rule and bias-correction setting, and google-research/electra's schedule.
    Returns the optimizer, its scheduler, and the schedule's factor of the peak rate as a function of the step."""
    named = {id(p): n for n, p in list(discriminator.named_parameters()) + list(generator.named_parameters())}
    decayed = [p for p in parameters if is_decayed(named[id(p)])]
    undecayed = [p for p in parameters if not is_decayed(named[id(p)])]
    opt = config.optimizer
    groups = [{"params": decayed, "weight_decay": opt.weight_decay}, {"params": undecayed, "weight_decay": 0.0}]
    # torch's AdamW corrects Adam's moments for their zero start; google-research/electra's optimizer does not.
    adam = torch.optim.AdamW if opt.resolved_bias_correction else _uncorrected_adamw(torch)
    optimizer = adam(groups, lr=opt.learning_rate, betas=(opt.beta_1, opt.beta_2), eps=opt.epsilon)

    def rate(step):  # google-research/electra's schedule, as `WarmupLinearDecay`: a factor of the peak rate.
        factor = max(0.0, 1.0 - step / max(1, config.num_train_steps))
        return factor * min(1.0, step / opt.warmup_steps) if opt.warmup_steps > 0 else factor

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, rate), rate


def _hf_loss(torch, config: PretrainingConfig, generator, discriminator, t: dict):
    """One step's loss (generator MLM + weighted replaced token detection) and the statistics `_Window` averages."""
    ids, original, positions = t["token_ids"].long(), t["original_token_ids"].long(), t["mask_positions"].long()
    attention, segments, weights = t["padding_mask"].long(), t["segment_ids"].long(), t["mask_weights"].float()
    hidden = generator.electra(input_ids=ids, attention_mask=attention, token_type_ids=segments).last_hidden_state
    hidden = torch.gather(hidden, 1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
    logits = generator.generator_lm_head(generator.generator_predictions(hidden))
    targets = t["mask_ids"].long()
    per_position = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    mlm_loss = (per_position * weights).sum() / weights.sum().clamp(min=1e-5)
    with torch.no_grad():
        noise = torch.rand_like(logits).clamp(1e-9, 1 - 1e-9)
        scores = logits / config.temperature - torch.log(-torch.log(noise))
        if config.disallow_correct:
            scores -= 1e4 * torch.nn.functional.one_hot(t["mask_ids"].long(), scores.shape[-1])
        sampled = scores.argmax(-1)
        used = weights > 0
        corrupted = ids.clone()
        corrupted.scatter_(1, positions, torch.where(used, sampled, torch.gather(ids, 1, positions)))
        real = attention.bool()
        labels = (corrupted != original) & real
    disc_logits = discriminator(input_ids=corrupted, attention_mask=attention, token_type_ids=segments).logits
    per_token = torch.nn.functional.binary_cross_entropy_with_logits(disc_logits, labels.float(), reduction="none")
    rtd_loss = (per_token * real).sum() / real.sum()
    loss = config.generator_weight * mlm_loss + config.discriminator_weight * rtd_loss
    with torch.no_grad():
        predicted = (disc_logits > 0) & real
        statistics = dict(
            generator_loss=float(mlm_loss),
            discriminator_loss=float(rtd_loss),
            mlm_correct=float(((logits.argmax(-1) == targets).float() * weights).sum()),
            mlm_weight=float(weights.sum()),
            correct=float(((predicted == labels) & real).sum()),
            real=float(real.sum()),
            replaced=float(labels.sum()),
            predicted=float(predicted.sum()),
            true_positive=float((predicted & labels).sum()),
        )
    return loss, statistics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--config", required=True, help="A PretrainingConfig JSON (a run's pretraining_config.json).")
    parser.add_argument("--train_data", required=True, help="A folder written by bin/build_pretraining_data.")
    parser.add_argument(
        "--steps", type=int, default=None, help="Steps to train; defaults to the config's num_train_steps."
    )
    parser.add_argument("--log_every", type=int, default=50)
    parser.add_argument("--output", default=None, help="Where to write the logged records as JSON.")
    parser.add_argument("--seed", type=int, default=0, help="PyTorch's seed (initial weights, sampling noise).")
    args = parser.parse_args()
    config = config_io.load(PretrainingConfig, args.config)
    records = hf_curve(config, args.train_data, args.steps or config.num_train_steps, args.log_every, args.seed)
    if args.output:
        io_utils.write_text_atomic(
            args.output, json.dumps({"config": args.config, "history": records}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
