"""Tag schemes: IOB1 and IOB2 (BIO) as the CoNLL files write them, and BIOES, which google-research/electra trains on.

- IOB1 (CoNLL-2003): `I-X` starts a chunk unless it follows a word of type X; `B-X` only separates two adjacent
  chunks of type X.
- IOB2: every chunk starts with `B-X`, and its other words are `I-X`.
- BIOES: `S-X` for a one-word chunk; otherwise `B-X`, `I-X` ..., `E-X` on its last word.

All three describe the same chunks (`tagging_metrics.chunks`); these functions move between them.
"""

from electra_tf.tasks.tagging_metrics import chunks

SCHEMES = ("BIOES", "IOB2")


def to_iob2(tags) -> list:
    """IOB1 (or loose IOB2) tags -> IOB2: an `I-X` that does not continue a chunk of type X becomes `B-X`."""
    result, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        result.append(tag)
        previous = tag
    return result


def from_chunks(found, length: int, scheme: str = "IOB2") -> list:
    """The tags of a sentence of `length` words with chunks `found` (`(type, start, end)`, end exclusive)."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, but received {scheme!r}.")
    tags = ["O"] * length
    for kind, start, end in found:
        for index in range(start, end):
            tags[index] = f"I-{kind}"
        if scheme == "BIOES":
            tags[end - 1] = f"E-{kind}"
        tags[start] = f"B-{kind}" if scheme == "IOB2" or end - start > 1 else f"S-{kind}"
    return tags


def convert(tags, scheme: str) -> list:
    """Tags of any of the schemes (read as conlleval reads them) -> `scheme`."""
    return from_chunks(chunks(tags), len(tags), scheme)


def labels_for(types, scheme: str = "BIOES") -> list:
    """The label list a tagger predicts for these chunk types: `O`, then each type's prefixes, types sorted."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, but received {scheme!r}.")
    prefixes = ("B", "I", "E", "S") if scheme == "BIOES" else ("B", "I")
    return ["O"] + [f"{prefix}-{kind}" for kind in sorted(types) for prefix in prefixes]
