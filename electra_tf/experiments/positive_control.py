"""The positive control: evidence that pre-training learned something, before objectives are compared.

Two conditions, both required:

1. **Context.** The MLM baseline's held-out loss at the `[MASK]` slots ends at least `margin` nats below the unigram
   cross-entropy of the held-out tokens (`data/unigram.py`). The kept slots are excluded: their target is in the
   input, and copying it lowers an all-slots loss while the model is still on the unigram plateau.
2. **Transfer.** Every pre-trained objective, fine-tuned, beats the untrained initialization fine-tuned identically
   on each control task by more than the spread across fine-tuning seeds: its worst trial scores above the floor's
   best trial (the two ranges do not overlap).
"""

import statistics


def context_gate(unigram_cross_entropy: float, mlm_loss_at_mask: float, margin: float) -> dict:
    """The first condition, with the figures it was computed from."""
    below = unigram_cross_entropy - mlm_loss_at_mask
    return {
        "unigram_cross_entropy": unigram_cross_entropy,
        "mlm_loss_at_mask": mlm_loss_at_mask,
        "nats_below_unigram": below,
        "required_nats_below_unigram": margin,
        "passed": below >= margin,
    }


def transfer(floor: dict, pretrained: dict, tasks) -> dict:
    """The second condition.

    Args:
        floor: task -> list of scores of the untrained initialization (one per fine-tuning seed).
        pretrained: objective -> task -> list of scores.
        tasks: the control tasks.

    Returns:
        objective -> task -> {floor and pretrained median, min, max; margin of the medians; `beats_floor`}, plus
        `"passed"`: every objective beats the floor on every task.
    """
    result = {}
    passed = True
    for objective, by_task in pretrained.items():
        result[objective] = {}
        for task in tasks:
            low, ours = floor[task], by_task[task]
            beats = min(ours) > max(low)
            passed = passed and beats
            result[objective][task] = {
                "floor": _spread(low),
                "pretrained": _spread(ours),
                "median_margin": statistics.median(ours) - statistics.median(low),
                "beats_floor": beats,
            }
    result["passed"] = passed and bool(pretrained)
    return result


def _spread(values) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}
