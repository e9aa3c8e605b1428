"""HF transformers checkpoints (a hub snapshot's `config.json`, `model.safetensors`, `vocab.txt`) to electra_tf, and
back. Tensors are read and written with the `safetensors` package's numpy API: no torch needed.

`ElectraForPreTraining` maps to an encoder plus the discriminator head, `ElectraForMaskedLM` to an encoder plus the
generator head, `ElectraModel` to an encoder alone, and `ElectraForQuestionAnswering` to a fine-tuned
`ElectraQuestionAnswerer` with HF's independent start and end logits (`qa_outputs`), and
`ElectraForTokenClassification` to a fine-tuned `ElectraTagger` (`classifier`, labels from `id2label`). HF
computes GELU exactly (`hidden_act="gelu"`, as google-research/electra does) except where a config says "gelu_new"
(the tanh form), and its generator head always uses the exact one; imports set ours to match.
Pickle-based `pytorch_model.bin` files run code when loaded, so they are refused unless `allow_pickle=True`.
"""

import json
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from electra_tf import io_utils
from electra_tf.interop import name_mapping
from electra_tf.models import saving
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.tokenization.tokenizer import tokenizer_settings
from electra_tf.tokenization.vocabulary import VOCAB_FILE, Vocabulary

ARCHITECTURES = {
    "ElectraForPreTraining": saving.DISCRIMINATOR,
    "ElectraForMaskedLM": saving.GENERATOR,
    "ElectraModel": None,
}
QUESTION_ANSWERING = "ElectraForQuestionAnswering"
TOKEN_CLASSIFICATION = "ElectraForTokenClassification"
FINETUNED = (QUESTION_ANSWERING, TOKEN_CLASSIFICATION)  # Fine-tuned models: bin/convert writes them whole.
ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh"}
PREFIX = "electra."
# Keys HF writes that hold no weights of ours: buffers, and the generator's output layer (tied to the embeddings).
IGNORED = ("electra.embeddings.position_ids", "electra.embeddings.token_type_ids", "generator_lm_head.weight")


def download(repo_id: str, cache_dir: Optional[str] = None) -> str:
    """Fetches a hub snapshot (config, safetensors, vocab and tokenizer files only) and returns its local folder.

    Needs internet and `huggingface_hub`; electra_tf never calls it on its own (`bin/convert --hub_download`)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ValueError("Downloading from the HF hub needs huggingface_hub: pip install huggingface_hub.") from None
    return snapshot_download(
        repo_id,
        cache_dir=cache_dir,
        allow_patterns=[
            "config.json",
            "model.safetensors",
            VOCAB_FILE,
            "tokenizer_config.json",
            "special_tokens_map.json",
        ],
    )


def read_config(src: str) -> dict:
    path = os.path.join(src, "config.json")
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{src} lacks config.json: it is not an HF model directory.")
    config = io_utils.read_json(path)
    architectures = config.get("architectures") or ["ElectraModel"]
    if config.get("model_type", "electra") != "electra" or architectures[0] not in (*ARCHITECTURES, *FINETUNED):
        raise ValueError(
            f"{path}: architecture {architectures[0]!r} (model_type {config.get('model_type')!r}) is not one "
            f"electra_tf imports; supported: {sorted([*ARCHITECTURES, *FINETUNED])}."
        )
    return config


def read_tensors(src: str, allow_pickle: bool = False) -> dict:
    """{name: numpy array} from `model.safetensors` (or, with `allow_pickle`, `pytorch_model.bin`)."""
    path = os.path.join(src, "model.safetensors")
    if tf.io.gfile.exists(path):
        from safetensors import SafetensorError
        from safetensors.numpy import load

        with tf.io.gfile.GFile(path, "rb") as f:
            data = f.read()
        try:
            return dict(load(data))
        except (SafetensorError, ValueError) as e:
            raise ValueError(
                f"{path} is not a readable safetensors file ({e}); it may be truncated. Download it again."
            ) from None
    bin_path = os.path.join(src, "pytorch_model.bin")
    if tf.io.gfile.exists(bin_path):
        if not allow_pickle:
            raise ValueError(
                f"{src} has only pytorch_model.bin, a pickle file that can run code when loaded. Convert it to "
                "safetensors, or pass allow_pickle=True (--allow_pickle) if you trust its source."
            )
        import torch

        state = torch.load(bin_path, map_location="cpu", weights_only=True)
        return {name: tensor.numpy() for name, tensor in state.items()}
    raise FileNotFoundError(f"{src} has neither model.safetensors nor pytorch_model.bin.")


def encoder_config_from_hf(config: dict) -> EncoderConfig:
    act = config.get("hidden_act", "gelu")
    if act not in ACTIVATIONS:
        raise ValueError(f"hidden_act {act!r} in config.json is not supported; expected one of {sorted(ACTIVATIONS)}.")
    return EncoderConfig(
        vocab_size=config["vocab_size"],
        hidden_size=config["hidden_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        intermediate_size=config["intermediate_size"],
        embedding_size=config.get("embedding_size", config["hidden_size"]),
        hidden_act=ACTIVATIONS[act],
        dropout=config.get("hidden_dropout_prob", 0.1),
        max_position_embeddings=config.get("max_position_embeddings", 512),
        type_vocab_size=config.get("type_vocab_size", 2),
        initializer_range=config.get("initializer_range", 0.02),
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-12),
    )


def assign(variables: dict, rows: list, tensors: dict, name_of, from_torch: bool, source: str) -> set:
    """Assigns `tensors[name_of(row)]` to `variables[row.ours]` for every row; returns the names used.

    Raises ValueError listing every missing tensor, or the first whose size does not match."""
    missing = [name_of(row) for row in rows if name_of(row) not in tensors]
    if missing:
        raise ValueError(
            f"{source} lacks {len(missing)} tensor(s) the model needs: "
            f"{missing[:12]}{' ...' if len(missing) > 12 else ''}."
        )
    for row in rows:
        variable = variables[row.ours]
        try:
            value = name_mapping.to_ours(tensors[name_of(row)], row.kind, tuple(variable.shape), from_torch)
        except ValueError as e:
            raise ValueError(
                f"{source}: tensor {name_of(row)} has {e} ({row.ours}); the config's sizes do not match the weights."
            ) from None
        variable.assign(value.astype(variable.dtype))
    return {name_of(row) for row in rows}


def architecture(src: str) -> str:
    """The HF architecture of `src` ("ElectraModel" when config.json names none)."""
    return (read_config(src).get("architectures") or ["ElectraModel"])[0]


def _encoder(src: str, config: dict, tensors: dict) -> tuple:
    """(encoder, vocabulary, tensor names used) from an HF directory's encoder tensors."""
    vocab_path = os.path.join(src, VOCAB_FILE)
    if not tf.io.gfile.exists(vocab_path):
        raise FileNotFoundError(f"{src} lacks {VOCAB_FILE}.")
    vocabulary = Vocabulary.load(vocab_path)
    encoder_config = encoder_config_from_hf(config)
    if vocabulary.size != encoder_config.vocab_size:
        raise ValueError(
            f"{src}: vocab.txt has {vocabulary.size} tokens but config.json says "
            f"vocab_size={encoder_config.vocab_size}."
        )
    encoder = ElectraEncoder.from_encoder_config(encoder_config)
    rows = name_mapping.encoder_rows(encoder_config.num_layers, encoder.embeddings_projection is not None)
    used = assign(saving.variables_by_path(encoder), rows, tensors, lambda r: PREFIX + r.hf, True, src)
    return encoder, vocabulary, used


def _check_all_used(src: str, tensors: dict, used: set) -> None:
    unexpected = sorted(set(tensors) - used - set(IGNORED))
    if unexpected:
        raise ValueError(
            f"{src} has tensor(s) electra_tf does not know: {unexpected[:12]}. Is it an ELECTRA checkpoint?"
        )


def load_hf(src: str, allow_pickle: bool = False) -> saving.SavedEncoder:
    """Builds our encoder (and head) from an HF directory."""
    config = read_config(src)
    kind_name = (config.get("architectures") or ["ElectraModel"])[0]
    if kind_name in FINETUNED:
        loader = "load_hf_question_answerer" if kind_name == QUESTION_ANSWERING else "load_hf_tagger"
        raise ValueError(
            f"{src} is an {kind_name} (a fine-tuned model, not a pre-trained encoder): import it with {loader}, "
            "which bin/convert uses for it."
        )
    tensors = read_tensors(src, allow_pickle)
    encoder, vocabulary, used = _encoder(src, config, tensors)
    encoder_config = encoder.encoder_config
    kind = ARCHITECTURES[kind_name]
    head, head_act = None, encoder_config.hidden_act
    if kind is not None:
        head_act = encoder_config.hidden_act if kind == saving.DISCRIMINATOR else "gelu"  # HF's generator head.
        head = saving.build_head(kind, encoder, head_act)
        used |= assign(saving.variables_by_path(head), name_mapping.head_rows(kind), tensors, lambda r: r.hf, True, src)
    _check_all_used(src, tensors, used)
    lower_case, strip_accents = _tokenizer_flags(src)
    return saving.SavedEncoder(
        encoder, vocabulary, tokenizer_settings(vocabulary, lower_case, strip_accents), head, kind, head_act
    )


def load_hf_question_answerer(src: str, allow_pickle: bool = False, **windows):
    """An `ElectraQuestionAnswerer` from an HF `ElectraForQuestionAnswering` directory.

    HF's head is one dense(2) per token, start and end logits independent (`SpanHead(joint=False)`), with no
    answerability classifier, so the imported model answers every question: a SQuAD 2.0 checkpoint's null score
    (BERT's `[CLS]` start + end against the best span) is not used yet. Our logits equal HF's where an answer may
    start or end (`[CLS]`, the context and its final `[SEP]`) and are 1000 lower elsewhere, google-research/electra's
    mask.

    Args:
        src: str. The HF directory.
        allow_pickle: bool. Allow a pickle-based `pytorch_model.bin`. Defaults to False.
        **windows: `QuestionAnsweringPreprocessor` settings (`sequence_length`, `doc_stride`, `max_query_length`);
            `sequence_length` defaults to 384 (HF's SQuAD examples) or the encoder's maximum if smaller.
    """
    from electra_tf.models.electra_question_answerer import ElectraQuestionAnswerer
    from electra_tf.models.qa_preprocessor import QuestionAnsweringPreprocessor

    config = read_config(src)
    if (config.get("architectures") or [None])[0] != QUESTION_ANSWERING:
        raise ValueError(f"{src} is not an {QUESTION_ANSWERING} checkpoint (config.json's architectures).")
    tensors = read_tensors(src, allow_pickle)
    encoder, vocabulary, used = _encoder(src, config, tensors)
    lower_case, strip_accents = _tokenizer_flags(src)
    windows.setdefault("sequence_length", min(384, encoder.encoder_config.max_position_embeddings))
    preprocessor = QuestionAnsweringPreprocessor(
        vocabulary, lower_case=lower_case, strip_accents=strip_accents, **windows
    )
    model = ElectraQuestionAnswerer(encoder, joint=False, answerable=False, preprocessor=preprocessor)
    length = 8
    model({name: tf.ones([1, length], tf.int32) for name in ("token_ids", "segment_ids", "padding_mask")})
    head = {"qa_outputs/kernel": model.head.qa_outputs.kernel, "qa_outputs/bias": model.head.qa_outputs.bias}
    used |= assign(head, name_mapping.QA_HEAD_ROWS, tensors, lambda r: r.hf, True, src)
    _check_all_used(src, tensors, used)
    return model


def load_hf_tagger(src: str, allow_pickle: bool = False, **windows):
    """An `ElectraTagger` from an HF `ElectraForTokenClassification` directory.

    HF's head is dropout and one dense layer per token (`classifier`), ours without the dropout (it acts in training
    only); the labels are `id2label`'s, in id order, and must be IOB2 or BIOES (`B-PER`, ...). The preprocessor
    uses HF's segment id 0 and labels each word at its first piece, as HF's token-classification fine-tuning does.

    Args:
        src: str. The HF directory.
        allow_pickle: bool. Allow a pickle-based `pytorch_model.bin`. Defaults to False.
        **windows: `TaggingPreprocessor` settings (`sequence_length`, `stride`); `sequence_length` defaults to the
            encoder's maximum.
    """
    from electra_tf.models.electra_tagger import ENCODER_INPUTS, ElectraTagger
    from electra_tf.models.tagging_preprocessor import TaggingPreprocessor

    config = read_config(src)
    if (config.get("architectures") or [None])[0] != TOKEN_CLASSIFICATION:
        raise ValueError(f"{src} is not an {TOKEN_CLASSIFICATION} checkpoint (config.json's architectures).")
    id2label = config.get("id2label") or {}
    labels = [id2label.get(str(i), id2label.get(i)) for i in range(len(id2label))]
    if not labels or None in labels:
        raise ValueError(f"{src}/config.json: id2label must name every label id from 0, but it is {id2label!r}.")
    tensors = read_tensors(src, allow_pickle)
    encoder, vocabulary, used = _encoder(src, config, tensors)
    lower_case, strip_accents = _tokenizer_flags(src)
    windows.setdefault("sequence_length", encoder.encoder_config.max_position_embeddings)
    preprocessor = TaggingPreprocessor(
        vocabulary, lower_case=lower_case, strip_accents=strip_accents, segment_id=0, **windows
    )
    try:
        model = ElectraTagger(encoder, labels, preprocessor=preprocessor)
    except ValueError as error:
        raise ValueError(f"{src}/config.json: id2label: {error}") from None
    model({name: tf.ones([1, 8], tf.int32) for name in ENCODER_INPUTS})
    head = {"classifier/kernel": model.head.kernel, "classifier/bias": model.head.bias}
    used |= assign(head, name_mapping.TAGGING_HEAD_ROWS, tensors, lambda r: r.hf, True, src)
    _check_all_used(src, tensors, used)
    return model


def _tokenizer_flags(src: str):
    path = os.path.join(src, "tokenizer_config.json")
    if not tf.io.gfile.exists(path):
        return True, None
    with tf.io.gfile.GFile(path) as f:
        config = json.load(f)
    return bool(config.get("do_lower_case", True)), config.get("strip_accents")


def hf_config(converted: saving.SavedEncoder) -> dict:
    config = converted.encoder.encoder_config
    architecture = {saving.DISCRIMINATOR: "ElectraForPreTraining", saving.GENERATOR: "ElectraForMaskedLM"}.get(
        converted.kind, "ElectraModel"
    )
    return {
        "architectures": [architecture],
        "model_type": "electra",
        "vocab_size": config.vocab_size,
        "embedding_size": config.resolved_embedding_size,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_size,
        "hidden_act": "gelu" if config.hidden_act == "gelu" else "gelu_new",
        "hidden_dropout_prob": config.dropout,
        "attention_probs_dropout_prob": config.dropout,
        "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size,
        "initializer_range": config.initializer_range,
        "layer_norm_eps": config.layer_norm_epsilon,
        "pad_token_id": converted.vocabulary.pad_id,
        "tie_word_embeddings": True,
    }


def hf_tensors(converted: saving.SavedEncoder) -> dict:
    encoder = converted.encoder
    variables = saving.variables_by_path(encoder)
    rows = name_mapping.encoder_rows(encoder.encoder_config.num_layers, encoder.embeddings_projection is not None)
    tensors = {PREFIX + r.hf: name_mapping.from_ours(variables[r.ours].numpy(), r, True) for r in rows}
    if converted.head is not None:
        head_variables = saving.variables_by_path(converted.head)
        for r in name_mapping.head_rows(converted.kind):
            tensors[r.hf] = name_mapping.from_ours(head_variables[r.ours].numpy(), r, True)
        if converted.kind == saving.GENERATOR:
            tensors["generator_lm_head.weight"] = tensors[PREFIX + "embeddings.word_embeddings.weight"]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in tensors.items()}


def save_hf(converted: saving.SavedEncoder, dst: str) -> None:
    """Writes an HF directory that `transformers.ElectraForPreTraining.from_pretrained(dst)` (or ForMaskedLM) loads.
    Written to a staging folder and renamed, so a failure leaves nothing at `dst`."""
    from safetensors.numpy import save

    if converted.kind == saving.GENERATOR and converted.head_act != "gelu":
        raise ValueError(
            f"HF's generator head computes GELU exactly, but this generator head uses {converted.head_act!r}; its "
            "logits would differ in PyTorch. Export the discriminator, or a generator trained with hidden_act='gelu'."
        )
    with io_utils.staged_directory(dst) as staging:
        with tf.io.gfile.GFile(os.path.join(staging, "model.safetensors"), "wb") as f:
            f.write(save(hf_tensors(converted), metadata={"format": "pt"}))
        _write_json(os.path.join(staging, "config.json"), hf_config(converted))
        converted.vocabulary.save(os.path.join(staging, VOCAB_FILE))
        settings = converted.tokenizer_settings
        _write_json(
            os.path.join(staging, "tokenizer_config.json"),
            {
                "tokenizer_class": "ElectraTokenizer",
                "do_lower_case": settings.get("lower_case", True),
                "strip_accents": settings.get("strip_accents"),
                "model_max_length": converted.encoder.encoder_config.max_position_embeddings,
            },
        )
        _write_json(
            os.path.join(staging, "special_tokens_map.json"),
            {
                "pad_token": "[PAD]",
                "unk_token": "[UNK]",
                "cls_token": "[CLS]",
                "sep_token": "[SEP]",
                "mask_token": "[MASK]",
            },
        )


def _write_json(path: str, value: dict) -> None:
    io_utils.write_text_atomic(path, json.dumps(value, indent=2) + "\n")
