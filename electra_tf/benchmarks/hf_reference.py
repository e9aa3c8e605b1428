"""The reference the pre-training benchmark is compared with: HF transformers' ELECTRA on PyTorch.

`ElectraForMaskedLM` (the generator, at `generator_fraction` of the discriminator's width) and
`ElectraForPreTraining` (the discriminator) share one embedding module, and the generator's output layer is tied to
the token embeddings, as in the paper. A step is what a user of HF writes: generator forward on the masked batch,
Gumbel-max sampling, discriminator forward on the corrupted batch, 1 x MLM + 50 x RTD loss, backward, global-norm
clipping at 1.0, AdamW. The token ids are random: timing does not depend on their values.

Runs in its own process (`python -m electra_tf.benchmarks.hf_reference --config=...`), never beside TensorFlow:
two frameworks' thread pools in one process on 2 cores skew each other. Needs `torch` and `transformers`, which
electra_tf does not depend on.
"""

import argparse
import json
import os
import statistics
import time


def build_hf_electra(encoder: dict, generator_fraction: float):
    """HF's `ElectraForMaskedLM` (generator) and `ElectraForPreTraining` (discriminator) for an `EncoderConfig` dict,
    sharing one embedding module, the generator's output layer tied to the token embeddings (as in the paper).

    Returns:
        (generator, discriminator, parameters), `parameters` holding each shared tensor once.
    """
    import transformers

    hidden = encoder["hidden_size"]
    # `EncoderConfig.generator`'s rule, restated so that this process never imports TensorFlow.
    if generator_fraction == 1.0:
        generator_hidden, generator_heads, generator_ffn = hidden, encoder["num_heads"], encoder["intermediate_size"]
    else:
        generator_hidden = max(1, int(round(hidden * generator_fraction)))
        generator_heads, generator_ffn = max(1, generator_hidden // 64), 4 * generator_hidden
    common = dict(
        vocab_size=encoder["vocab_size"],
        embedding_size=encoder.get("embedding_size") or hidden,
        num_hidden_layers=encoder["num_layers"],
        max_position_embeddings=encoder["max_position_embeddings"],
        type_vocab_size=encoder["type_vocab_size"],
        hidden_act="gelu_new" if encoder.get("hidden_act", "gelu") == "gelu_tanh" else "gelu",
        hidden_dropout_prob=encoder["dropout"],
        attention_probs_dropout_prob=encoder["dropout"],
        layer_norm_eps=encoder["layer_norm_epsilon"],
        initializer_range=encoder.get("initializer_range", 0.02),
    )
    discriminator = transformers.ElectraForPreTraining(
        transformers.ElectraConfig(
            hidden_size=hidden,
            num_attention_heads=encoder["num_heads"],
            intermediate_size=encoder["intermediate_size"],
            **common,
        )
    )
    generator = transformers.ElectraForMaskedLM(
        transformers.ElectraConfig(
            hidden_size=generator_hidden, num_attention_heads=generator_heads, intermediate_size=generator_ffn, **common
        )
    )
    generator.electra.embeddings = discriminator.electra.embeddings
    generator.generator_lm_head.weight = discriminator.electra.embeddings.word_embeddings.weight
    parameters = list({id(p): p for p in list(discriminator.parameters()) + list(generator.parameters())}.values())
    return generator, discriminator, parameters


def hf_pretraining_step(
    encoder: dict,
    generator_fraction: float,
    batch_size: int,
    seq_len: int,
    num_predictions: int,
    windows: int = 5,
    steps_per_window: int = 10,
    seed: int = 0,
    device: str = "cpu",
    dtype: str = "float32",
) -> dict:
    """Median tokens/s of the HF step. `dtype="bfloat16"` runs the forward passes under `torch.autocast`, HF's usual
    mixed precision (the weights and the optimizer stay float32, as with Keras' `mixed_bfloat16`)."""
    import torch
    import transformers

    if dtype not in ("float32", "bfloat16"):
        raise ValueError(f"dtype={dtype!r}: expected 'float32' or 'bfloat16'.")
    torch.manual_seed(seed)
    torch.set_num_threads(os.cpu_count())
    generator, discriminator, parameters = build_hf_electra(encoder, generator_fraction)
    generator.to(device)
    discriminator.to(device)
    optimizer = torch.optim.AdamW(parameters, lr=1e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)
    generator.train()
    discriminator.train()

    step = _hf_step_function(
        torch,
        generator,
        discriminator,
        parameters,
        optimizer,
        encoder["vocab_size"],
        batch_size,
        seq_len,
        num_predictions,
        device,
        dtype,
    )

    def synchronize():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(torch.device(device))

    seconds = []
    for window in range(windows + 1):
        synchronize()
        start = time.perf_counter()
        for _ in range(steps_per_window):
            step()
        synchronize()
        if window:  # The first window is warm-up.
            seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {
        "name": "hf_pretraining_step",
        "value": round(steps_per_window * batch_size * seq_len / median),
        "unit": "tokens/s",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(torch.device(device)) if torch.device(device).type == "cuda" else "cpu",
        "dtype": dtype,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "windows": windows,
    }


def _hf_step_function(
    torch,
    generator,
    discriminator,
    parameters,
    optimizer,
    vocab_size: int,
    batch_size: int,
    seq_len: int,
    num_predictions: int,
    device: str,
    dtype: str,
):
    """One ELECTRA step of the HF models on a fixed random batch (MLM + 50 x replaced token detection, clipped)."""
    original = torch.randint(5, vocab_size, (batch_size, seq_len)).to(device)
    positions = torch.stack([torch.randperm(seq_len - 2)[:num_predictions] + 1 for _ in range(batch_size)]).to(device)
    masked = original.scatter(1, positions, 4)
    attention = torch.ones_like(original)
    segments = torch.zeros_like(original)

    autocast = torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=dtype == "bfloat16")

    def step():
        with autocast:
            loss = losses()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()

    def losses():
        logits = generator(input_ids=masked, attention_mask=attention, token_type_ids=segments).logits.float()
        logits = torch.gather(logits, 1, positions[..., None].expand(-1, -1, logits.shape[-1]))
        targets = torch.gather(original, 1, positions)
        mlm = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        noise = -torch.log(-torch.log(torch.rand_like(logits).clamp(1e-9, 1 - 1e-9)))
        sampled = (logits.detach() + noise).argmax(-1)
        corrupted = original.scatter(1, positions, sampled)
        labels = (corrupted != original).float()
        disc_logits = discriminator(
            input_ids=corrupted, attention_mask=attention, token_type_ids=segments
        ).logits.float()
        rtd = torch.nn.functional.binary_cross_entropy_with_logits(disc_logits, labels)
        return mlm + 50.0 * rtd

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="A pre-training config JSON (configs/pretraining/*.json).")
    parser.add_argument("--batch_size", type=int, default=32)
    # HF's eager step is slow on a CPU: few short windows keep the reference within minutes.
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--steps_per_window", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="A torch device: cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as f:
        config = json.load(f)
    seq_len = config.get("max_seq_length", 128)
    masking = config.get("masking", {})
    # MaskingConfig.num_predictions, without importing TensorFlow into this process.
    num_predictions = masking.get("max_predictions") or max(
        1, min(seq_len, int((masking.get("mask_prob", 0.15) + 0.005) * seq_len))
    )
    result = hf_pretraining_step(
        config["encoder"],
        config.get("generator_fraction", 0.25),
        args.batch_size,
        seq_len,
        num_predictions,
        args.windows,
        args.steps_per_window,
        device=args.device,
        dtype=args.dtype,
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
