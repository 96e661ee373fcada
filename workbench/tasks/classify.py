"""Sequence classification (single text or text pairs): head, preprocessing, metrics, predictions."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, DataCollatorWithPadding

from workbench.catalog import ResolvedModel, sentence_transformers_pooling
from workbench.config import RunConfig
from workbench.errors import ConfigError, ModelNotFoundError
from workbench.methods.freeze import check_depth
from workbench.methods.lora import target_modules as lora_target_modules
from workbench.tasks.pooled_classifier import PooledClassifier, encoder_auto_class, is_pooled_classifier

log = logging.getLogger("workbench.train")

NAME = "classification"
TEXT_COLUMNS = ("text", "text_pair", "row")


def is_causal_decoder(config) -> bool:
    """A decoder-only language model (Llama, SmolLM2, GPT-2, Qwen...): each token sees only the
    tokens before it. BERT-like encoders can also act as decoders, so "causal only" is the test."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = getattr(config, "model_type", None)
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def choose_pooling(cfg: RunConfig, model_path: str, config, trained_pooling: str | None = None) -> str:
    """The configured pooling, or the one that suits the checkpoint: what a sentence-transformers
    checkpoint was trained with, the last token for a causal decoder, else the mean. Raises
    ConfigError for [CLS] pooling on a causal decoder, whose first token has seen only itself."""
    decoder = is_causal_decoder(config)
    if cfg.task.pooling == "cls" and decoder:
        raise ConfigError([("task.pooling", f"'cls' takes the first token, and in a causal decoder "
                            f"({config.model_type}) the first token has seen nothing after it; use last "
                            "(the last token has read the whole text), mean, or auto")])
    if cfg.task.pooling != "auto":
        return cfg.task.pooling
    if trained_pooling:  # an earlier run's classifier: keep what its head was trained on
        return trained_pooling
    if decoder:
        return "last"
    # Mean pooling is the better default for encoders without a trained sentence head too:
    # a [CLS] vector only summarises a sentence after a pretraining task that asked it to.
    return sentence_transformers_pooling(model_path) or "mean"


def check_model(cfg: RunConfig, resolved: ResolvedModel) -> str:
    """What a run of `cfg` needs from its model, checked before the run exists (reads config.json
    only): a pooling that suits it, which is returned, and, for freeze, no more trainable layers
    than it has; for LoRA, a rank within its hidden size and modules it has."""
    require_adapter_base(resolved)
    config = model_config(cfg, resolved)
    check_architecture(config, cfg.model.name)
    trained = getattr(config, "workbench_pooling", None)
    pooling = choose_pooling(cfg, resolved.path, config, trained)
    if cfg.method.type == "freeze":
        check_depth(cfg.method.freeze.trainable_layers, getattr(config, "num_hidden_layers", None))
    check_max_length(cfg.task.max_length, config)
    if cfg.method.type == "lora":
        check_lora_rank(cfg.method.lora.r, getattr(config, "hidden_size", None))
    if cfg.method.type == "lora" and cfg.method.lora.target_modules != "auto":
        import torch
        with torch.device("meta"):  # the module names only: no weights read, no memory taken
            encoder = encoder_auto_class(config).from_config(config, trust_remote_code=cfg.model.trust_remote_code)
        lora_target_modules(cfg.method.lora.target_modules, encoder)
    return pooling


def check_architecture(config, name: str) -> None:
    """Refuse an encoder-decoder whose encoder transformers cannot build alone (BART, Pegasus,
    Whisper...): its full model wants decoder inputs as well as the text, so the run would start
    and then fail with "You must specify exactly one of input_ids or inputs_embeds". T5-family
    models (T5, mT5, UMT5) classify with their encoder (tasks/pooled_classifier.encoder_auto_class)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES

    model_type = getattr(config, "model_type", "?")
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    if getattr(text_config, "vocab_size", None) is None:  # ViT, wav2vec2's feature encoder...: no tokens to read
        raise ConfigError([("model.name", (
            f"'{name}' is not a text model ({model_type}): it has no vocabulary to read text with; " + _TEXT_MODELS))])
    if getattr(config, "is_encoder_decoder", False) and model_type not in MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES:
        raise ConfigError([("model.name", (
            f"'{name}' is an encoder-decoder model ({model_type}) whose encoder cannot be used alone; " + _TEXT_MODELS))])


_TEXT_MODELS = ("classification trains a text encoder (BERT, RoBERTa, DeBERTa, MiniLM, e.g. minilm-l6; T5's encoder "
                "too) or a decoder-only model (Llama, Qwen, GPT-2, e.g. smollm2-135m-instruct): choose one of those")


def model_config(cfg: RunConfig, resolved: ResolvedModel):
    """The encoder's config, without reading weights. A run's model folder (full weights or
    adapter) has its own config.json with the pooling its head was trained on; a LoRA adapter's
    folder lacks it, and its base has it."""
    from transformers import AutoConfig

    has_config = (Path(resolved.path) / "config.json").is_file()
    source = resolved.path if has_config else resolved.adapter_base or resolved.path
    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=cfg.model.trust_remote_code)
    except ValueError as err:  # transformers' own words name its argument, not the workbench's setting
        if cfg.model.trust_remote_code or "custom code" not in str(err):
            raise
        raise ConfigError([("model.trust_remote_code", (
            f"'{source}' brings its own model code (auto_map in its config.json), which runs only with "
            "model.trust_remote_code: true; set it (--set model.trust_remote_code=true) if you trust that "
            "code, or pick a model transformers has built in"))]) from None


def load_tokenizer(cfg: RunConfig, resolved: ResolvedModel):
    """The model's tokenizer, refused when it cannot be the one the model was trained with.

    A folder saved with model.save_pretrained alone has config.json and weights but no tokenizer
    files, and transformers then builds a tokenizer from config.json that knows only its special
    tokens (5 for BERT): every word becomes [UNK], and a run trains on that without an error."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=cfg.model.trust_remote_code)
    except (OSError, ValueError) as err:  # a damaged tokenizer.json, a tokenizer_config.json naming no class...
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0].rstrip(".: ")
        raise ModelNotFoundError(
            f"the tokenizer in '{resolved.path}' cannot be loaded ({reason}); copy its tokenizer files "
            "(tokenizer.json, tokenizer_config.json, vocab.txt, ...) again from the model it came from") from None
    vocab_size = getattr(model_config(cfg, resolved), "vocab_size", None)
    # Half, not all: models pad their embedding matrix past the tokenizer (GPT-2 50,257 of 50,304).
    if vocab_size and len(tokenizer) < vocab_size // 2:
        raise ModelNotFoundError(
            f"the tokenizer in '{resolved.path}' knows {len(tokenizer):,} tokens but the model has "
            f"{vocab_size:,}: the folder lacks its tokenizer files (tokenizer.json, vocab.txt, ...). Save "
            "them beside the model (tokenizer.save_pretrained(folder)), or copy them from the model it "
            "was trained from")
    return tokenizer


_meta_build_lock = threading.Lock()  # transformers' model construction is not re-entrant-safe


def meta_model(cfg: RunConfig, resolved: ResolvedModel, num_labels: int, with_method: bool = True):
    """The model a run of `cfg` trains (the method applied unless with_method is False), with
    shapes but no weights, on the meta device: which parameters train and how much they weigh,
    in milliseconds and without reading a weight file. Pooling has no parameters, so mean stands
    in for any (check_model checks the real one)."""
    from workbench.methods import METHODS

    labels = {i: f"label_{i}" for i in range(max(2, num_labels))}
    with _meta_build_lock, warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        config = model_config(cfg, resolved)
        encoder = encoder_auto_class(config).from_config(config, trust_remote_code=cfg.model.trust_remote_code)
        model = PooledClassifier.from_encoder_module(encoder, labels, "mean")
        return METHODS[cfg.method.type].apply(model, cfg) if with_method else model


def readable_positions(config) -> int | None:
    """How many tokens the model has position embeddings for. RoBERTa-style models number
    positions from padding_idx + 1, so two of their 514 are not usable."""
    positions = getattr(config, "max_position_embeddings", None)
    if positions and getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "longformer"):
        positions -= (getattr(config, "pad_token_id", None) or 1) + 1
    return positions


def check_lora_rank(r: int, hidden_size: int | None) -> None:
    """A rank past the hidden size makes adapter matrices larger than the layers they adapt (and a
    typo like 10000 runs out of memory building them)."""
    if hidden_size and r > hidden_size:
        raise ConfigError([("method.lora.r", f"{r:,} is more than the model's hidden size ({hidden_size}), so "
                            "the adapter would be larger than the layers it adapts; use 8 to 64, or method full")])


def check_max_length(max_length: int, config) -> None:
    """A text longer than the model's positions fails deep in the forward pass (a size mismatch
    of 902 against 512); refuse such a max_length before the run instead."""
    limit = readable_positions(config)
    if limit and max_length > limit:
        raise ConfigError([("task.max_length", f"{max_length} is more tokens than this model can read "
                            f"({limit}); set task.max_length to {limit} or less")])


def build_model(resolved: ResolvedModel, id2label: dict[int, str], cfg: RunConfig,
                attn_implementation: str | None = None) -> PooledClassifier:
    path = resolved.path
    pooling = check_model(cfg, resolved)
    if is_pooled_classifier(path):  # a classifier trained here: reuse its encoder
        # load_trained merges a LoRA run's adapter into its base, so LoRA runs chain like full ones.
        old, _ = load_trained(path, attn_implementation)
        model = PooledClassifier.from_encoder_module(old.encoder, id2label, pooling)
        # Its head too, when it answers the same question: the same classes in the same order, on
        # the same pooled vector (as from_pretrained keeps a head whose labels match). Else new.
        old_labels = [old.config.id2label[i] for i in range(old.config.num_labels)]
        if old_labels == [id2label[i] for i in range(len(id2label))] and old.pooling == pooling:
            model.classifier.load_state_dict(old.classifier.state_dict())
            log.info("head: kept from the earlier run's model (the same labels: %s)", ", ".join(old_labels))
        else:
            log.info("head: new (the earlier run's model was trained on the labels %s)", ", ".join(old_labels))
        return model
    return PooledClassifier.from_encoder(path, id2label, pooling, attn_implementation,
                                         trust_remote_code=cfg.model.trust_remote_code)


def tokenize(splits, tokenizer, max_length: int):
    def encode(batch):
        pair = batch.get("text_pair")
        return tokenizer(batch["text"], pair, truncation=True, max_length=max_length)

    def drop(dataset):
        return [c for c in dataset.column_names if c in TEXT_COLUMNS]

    tokenized = splits.map(encode, batched=True, desc="tokenizing")
    # Lengths let the length-grouped sampler batch similar sentences (less padding, same data)
    # without reading every row back; the model's forward ignores the extra column.
    tokenized = tokenized.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True)
    return tokenized.remove_columns(drop(tokenized["train"]))


def truncation_warning(tokenized, max_length: int, model_limit: int | None = None) -> str | None:
    """Say how many texts reach task.max_length, where tokenization cuts them: the model never
    reads their ends, silently, unless someone says so. None when nothing is cut."""
    # tokenize() gives every split its "length"; prepare_data's splits are these three.
    cut = {split: (sum(length >= max_length for length in tokenized[split]["length"]), len(tokenized[split]))
           for split in ("train", "validation", "test") if split in tokenized}
    parts = [f"{n:,} of {total:,} {split} texts ({100 * n / total:.1f} %)" for split, (n, total) in cut.items() if n]
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    room = f" (this model reads up to {model_limit:,})" if model_limit and model_limit > max_length else ""
    return (f"{listed} reach task.max_length ({max_length} tokens) and are cut there; "
            f"raise task.max_length{room} to keep them whole, at some cost in speed")


def collator(tokenizer, on_gpu: bool):
    # Dynamic padding to the longest in each batch; multiples of 8 suit tensor cores on GPUs.
    # Padding goes on the right: models with absolute positions (BERT, GPT-2) number them from
    # the first token, so left padding (which some decoder tokenizers set for generation) would
    # shift every position of a shorter text. The tokenizer is saved with the model, so
    # prediction pads the same way.
    tokenizer.padding_side = "right"
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if on_gpu else None)


def compute_metrics(eval_pred) -> dict:
    from sklearn.metrics import f1_score

    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    predicted = np.argmax(logits, axis=-1)
    return {"accuracy": float((predicted == labels).mean()),
            "f1_macro": float(f1_score(labels, predicted, average="macro", zero_division=0))}


def write_predictions(path: Path, split, logits: np.ndarray, label_names: list[str]) -> None:
    """One JSON line per example: the text, gold and predicted labels, class probabilities."""
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).numpy()
    predicted = probs.argmax(-1)
    tmp = path.with_suffix(".tmp")
    try:
        with tmp.open("w") as fh:
            for i, row in enumerate(split):
                record = {"index": i, "row": row.get("row"), "text": row["text"]}
                if "text_pair" in row:
                    record["text_pair"] = row["text_pair"]
                record.update({
                    "gold": label_names[row["label"]], "gold_id": int(row["label"]),
                    "predicted": label_names[predicted[i]], "predicted_id": int(predicted[i]),
                    "confidence": float(probs[i, predicted[i]]),
                    "probabilities": {name: round(float(p), 6) for name, p in zip(label_names, probs[i])},
                })
                fh.write(json.dumps(record) + "\n")
        tmp.replace(path)
    finally:  # a full disk must not leave half the file behind, taking the space
        tmp.unlink(missing_ok=True)


def load_trained(model_dir: str | Path, attn_implementation: str | None = None):
    """(model, tokenizer) of a finished classification run's model/ folder, ready to predict."""
    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if (model_dir / "adapter_config.json").is_file():
        from peft import PeftModel

        info = json.loads((model_dir / "workbench_model.json").read_text())
        base_path = _base_path(info, model_dir)
        id2label = {int(k): v for k, v in info["id2label"].items()}
        if is_pooled_classifier(base_path):  # trained on an earlier run's model: rebuild that first
            previous, _ = load_trained(base_path, attn_implementation)
            base = PooledClassifier.from_encoder_module(previous.encoder, id2label, info["pooling"])
        else:
            base = PooledClassifier.from_encoder(base_path, id2label, info["pooling"], attn_implementation)
        model = PeftModel.from_pretrained(base, model_dir).merge_and_unload()
    else:
        model = PooledClassifier.load(model_dir, attn_implementation)
    return model.eval(), tokenizer


def _base_path(info: dict, model_dir: Path) -> str:
    """The adapter's base model: by catalog name where possible, so a copied run still loads.
    An earlier run as the base is looked for beside this run first (a runs folder moved whole)."""
    from workbench.catalog import BUNDLED, names_gguf, resolve_model

    name = info.get("base_model_name") or ""
    if name in BUNDLED or names_gguf(name):
        return resolve_model(name).path  # converted again if the cache was emptied
    beside = model_dir.parent.parent / name.removeprefix("run:") / "model"
    if name and (beside / "workbench_model.json").is_file():
        return str(beside)
    base = info["base_model"]
    if Path(base).is_absolute() and not Path(base).exists():  # else from_pretrained takes it for a Hub id
        raise ModelNotFoundError(
            f"the LoRA adapter in '{model_dir}' applies to the model at '{base}', which is gone (deleted or "
            "moved); put that folder back there, or train on another base model")
    return base


def require_adapter_base(resolved: ResolvedModel) -> None:
    """A LoRA run's model is an adapter: without the base it was trained on it loads nothing."""
    info = Path(resolved.path) / "workbench_model.json"
    if resolved.adapter_base and info.is_file():
        _base_path(json.loads(info.read_text()), Path(resolved.path))
