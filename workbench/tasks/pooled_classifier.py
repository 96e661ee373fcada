"""A sequence classifier with the pooling that suits its checkpoint.

`AutoModelForSequenceClassification` for BERT puts its head on the [CLS] vector after a tanh
"pooler". Sentence-transformers checkpoints (all-MiniLM-L6-v2, the bundled encoder) were trained
to produce sentence meaning as the *mean* of the token vectors; their [CLS] vector and pooler
never were. Classifying from the representation the checkpoint actually learned lets a small
budget go further: on SST-2 with 4,000 sentences and one epoch, mean pooling gives 0.850 dev
accuracy where the [CLS] pooler head gives 0.828 (same seed and settings otherwise).
A causal decoder (SmolLM2, Llama, GPT-2) is read at its last real token ("last"), as the
library's *ForSequenceClassification decoders do: only that token has seen the whole text.

The saved folder is a normal Hugging Face folder (config.json with `workbench_pooling`, id2label,
model.safetensors with `<encoder prefix>.*` and `classifier.*`); `load` reads it back. This file is
saved beside the weights and named in the config's auto_map, so plain transformers loads the same
model without the workbench: `AutoModelForSequenceClassification.from_pretrained(folder,
trust_remote_code=True)`. (Without it transformers would build its own [CLS]-pooler head over these
weights, with a random pooler, and predict nonsense.) So this file imports only torch and transformers.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoModelForTextEncoding, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

ARCHITECTURE = "WorkbenchPooledClassifier"


def encoder_auto_class(config):
    """The class that builds the text encoder for `config`: AutoModel, except for an encoder-decoder
    (T5, mT5), whose encoder alone reads the text (T5EncoderModel, as Sentence-T5 does); AutoModel
    would build the decoder too, and want decoder inputs. T5EncoderModel sets its config's
    is_encoder_decoder to False, so a classifier saved from one says so in its own key."""
    text_encoder = getattr(config, "is_encoder_decoder", False) or getattr(config, "workbench_text_encoder", False)
    return AutoModelForTextEncoding if text_encoder else AutoModel


class PooledClassifier(PreTrainedModel):
    config_class = PretrainedConfig
    supports_gradient_checkpointing = True
    # forward() takes **kwargs (attention backends pass extras) but returns the batch *mean* loss.
    # Without this the Trainer reads **kwargs as "normalises by num_items_in_batch itself" and
    # skips dividing by gradient_accumulation_steps: with 4 steps the loss and gradient were 4x.
    accepts_loss_kwargs = False
    _supports_sdpa = True
    _supports_attention_backend = True

    def __init__(self, config: PretrainedConfig, encoder: PreTrainedModel | None = None):
        super().__init__(config)
        encoder = encoder if encoder is not None else encoder_auto_class(config).from_config(config)
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None  # the [CLS] tanh pooler is unused with our pooling
        # Keep the checkpoint's own prefix ("bert", "roberta", ...) so the state dict reads
        # like the library's own *ForSequenceClassification models.
        self.encoder_prefix = encoder.base_model_prefix or "encoder"
        self.add_module(self.encoder_prefix, encoder)
        self.pooling = getattr(config, "workbench_pooling", "mean")
        dropout = getattr(config, "classifier_dropout", None)
        if dropout is None:
            dropout = getattr(config, "hidden_dropout_prob", 0.1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)
        # Not post_init(): it would re-initialise the pretrained encoder we were handed.
        self._init_done_without_post_init()

    def _init_done_without_post_init(self):
        # save_pretrained / peft read the tied-weights bookkeeping that post_init sets up.
        for name in ("_tied_weights_keys",):
            if not hasattr(self, name):
                setattr(self, name, None)
        # The encoder's own ties, under its prefix (T5's encoder.embed_tokens is its shared
        # embedding): save_pretrained writes such a weight once, and from_pretrained must tie it
        # back rather than initialise the missing name, which would overwrite the shared one.
        prefix = self.encoder_prefix
        self.all_tied_weights_keys = {f"{prefix}.{name}": f"{prefix}.{source}" for name, source in
                                      (getattr(self.encoder, "all_tied_weights_keys", None) or {}).items()}

    @property
    def encoder(self) -> PreTrainedModel:
        return getattr(self, self.encoder_prefix)

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if self.pooling == "last":
            if attention_mask is None:
                return hidden[:, -1]
            # The last real token, whichever side the tokenizer pads: the highest position whose
            # mask is 1 (argmax returns the first maximum, so weight positions by their index).
            positions = torch.arange(hidden.shape[1], device=hidden.device)
            last = (attention_mask.to(positions.dtype) * positions).argmax(dim=1)
            return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        if self.pooling == "cls" or attention_mask is None:
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, **kwargs):
        encoder_kwargs = {"attention_mask": attention_mask, "inputs_embeds": inputs_embeds,
                          "output_attentions": output_attentions,
                          "output_hidden_states": output_hidden_states}
        if token_type_ids is not None:
            encoder_kwargs["token_type_ids"] = token_type_ids
        out = self.encoder(input_ids=input_ids, **encoder_kwargs)
        pooled = self.pool(out.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float(), labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                        attentions=out.attentions)

    # ---- construction and loading -----------------------------------------------------------
    @classmethod
    def from_encoder(cls, path: str, id2label: dict[int, str], pooling: str,
                     attn_implementation: str | None = None, **load_kwargs) -> "PooledClassifier":
        """A new head on the pretrained encoder in `path`."""
        kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
        config = AutoConfig.from_pretrained(path, trust_remote_code=load_kwargs.get("trust_remote_code", False))
        encoder = encoder_auto_class(config).from_pretrained(path, **kwargs, **load_kwargs)
        return cls.from_encoder_module(encoder, id2label, pooling)

    @classmethod
    def from_encoder_module(cls, encoder: PreTrainedModel, id2label: dict[int, str],
                            pooling: str) -> "PooledClassifier":
        config = copy.deepcopy(encoder.config)
        config.id2label = {int(i): label for i, label in id2label.items()}
        config.label2id = {label: int(i) for i, label in id2label.items()}
        config.workbench_pooling = pooling
        if type(encoder).__name__.endswith("EncoderModel"):  # T5EncoderModel: an encoder-decoder's encoder
            config.workbench_text_encoder = True
        config.architectures = [ARCHITECTURE]
        return cls(config, encoder)

    @classmethod
    def load(cls, path: str | Path, attn_implementation: str | None = None) -> "PooledClassifier":
        """Read a folder written by `save_pretrained`."""
        from safetensors.torch import load_file

        config = AutoConfig.from_pretrained(path)
        if attn_implementation:
            config._attn_implementation = attn_implementation
        encoder = encoder_auto_class(config).from_config(config)
        model = cls(config, encoder)
        state = load_file(str(Path(path) / "model.safetensors"))
        missing, unexpected = model.load_state_dict(state, strict=False)
        # A tied weight (T5's encoder.embed_tokens is its shared embedding) is saved once, under
        # the other name; loading that name filled both.
        missing = [name for name in missing if name not in model.all_tied_weights_keys]
        if missing or unexpected:
            raise ValueError(f"{path}: weights do not match the model (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        return model.eval()


# save_pretrained copies this file into the folder and names it in config.json's auto_map.
PooledClassifier.register_for_auto_class("AutoModelForSequenceClassification")


def is_pooled_classifier(path: str | Path) -> bool:
    """A folder written by a workbench classification run, full weights or LoRA. The pooling key
    rather than `architectures`: save_pretrained writes the class name there, not ARCHITECTURE."""
    config = Path(path) / "config.json"
    return config.is_file() and "workbench_pooling" in json.loads(config.read_text())
