"""Token attributions of a fine-tuned classifier: SHAP (Partition), Integrated Gradients, gradient x input.

All three explain the same number, so they can be compared and checked:

    score_c(x) = log-odds of class c = logit_c - logsumexp(other logits)

(for two classes, the logit margin). It is additive-friendly and does not saturate like a
probability does, so gradients stay informative on confident predictions. SHAP and IG both explain
the difference to an "absent" text made of [MASK] tokens ([CLS]/[SEP] kept): IG integrates from the
sentence with every word piece replaced by [MASK]; SHAP reads a run of masked word pieces as one
[MASK] (see `one_mask_per_run`), so its baseline is "[CLS] [MASK] [SEP]". Each satisfies
sum(attributions) = score(x) - score(its baseline) (IG up to its convergence delta), which the
tests check. Models without a [MASK] token (decoders like SmolLM2) mask with their padding token
(IG) or shap's "..." (SHAP); IG's delta can stay large there, and the result says so.

Text pairs (MRPC, NLI) are explained as the model read them in training, "[CLS] a [SEP] b [SEP]" with
token type 0 on the first text and 1 on the second: the word pieces of both texts are explained,
the separators never masked (SHAP's baseline is "[CLS] [MASK] [SEP] [MASK] [SEP]"), and each word
says which text it is in.

SHAP speed: `shap.Explainer(transformers_pipeline)` takes ~17 s a sentence here, because the text
masker turns every coalition back into a string, the pipeline re-tokenizes it, and the default batch
is 5. Here the masker returns token ids (no string round trip, no re-tokenizing), a run of masked
word pieces is read as one [MASK] (shorter inputs), the model is called directly in length-sorted
batches of 64 (bfloat16 where the CPU computes it natively), and max_evals is bounded
(bench/bench_analysis.py measures what that costs in faithfulness).
"""

from __future__ import annotations

import contextlib
import functools
import html
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from workbench.analysis.tokens import readable_tokens
from workbench.errors import WorkbenchError

DEFAULT_SHAP_MAX_EVALS = 300
DEFAULT_SHAP_BATCH = 64
DEFAULT_IG_STEPS = 32


@dataclass
class Attribution:
    method: str
    tokens: list[str]                 # word pieces, special tokens included
    scores: np.ndarray                # one per word piece; 0 on special tokens
    special: np.ndarray               # True on [CLS]/[SEP]/padding
    target: int
    target_name: str
    score_input: float                # score_c(x)
    score_baseline: float | None      # score_c(all masked); None for gradient x input
    delta: float | None = None        # IG convergence delta: sum(scores) - (score_input - score_baseline)
    evaluations: int = 0              # model evaluations (forward, or forward+backward for gradients)
    tokens_read: int = 0              # word pieces the model read in those evaluations (the real cost)
    seconds: float = 0.0
    precision: str = "fp32"           # what the explainer's evaluations ran at (see explainer_precision)
    words: list[str] = field(default_factory=list)        # word pieces merged back to words
    word_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    word_pieces: list[list[int]] = field(default_factory=list)  # word -> its word-piece positions
    segments: list[int | None] = field(default_factory=list)    # word piece -> its text (1: a pair's second)
    word_segments: list[int] = field(default_factory=list)      # word -> its text

    @property
    def pair(self) -> bool:
        """Whether the input was a text pair (some word pieces are of the second text)."""
        return 1 in self.segments

    @property
    def total(self) -> float:
        return float(self.scores.sum())

    @property
    def unconverged(self) -> bool:
        """IG's sum misses the score change by more than a tenth of it: the path integral was not
        approximated well (deep decoders with RMSNorm have sharp turns on the path to the baseline)."""
        if self.delta is None or self.score_baseline is None:
            return False
        change = abs(self.score_input - self.score_baseline)
        return abs(self.delta) > max(0.1 * change, 0.01)


@dataclass
class Prepared:
    """One input (a text, or a text pair), tokenized once for every explainer."""
    text: str                         # truncated to max_length word pieces, as the model sees it
    input_ids: torch.Tensor           # [1, L]
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor | None
    special: np.ndarray               # [L] bool: [CLS] and every [SEP] (never masked nor credited)
    tokens: list[str]
    word_ids: list[int | None]        # word of each word piece, counted from 0 in each text
    offsets: list[tuple[int, int]]    # character span of each word piece in its own text
    pair: str | None = None           # a pair's second text, truncated like `text`
    segments: list[int | None] = field(default_factory=list)  # text of each word piece: 0, 1; None on special tokens


# ---- how the model is run -------------------------------------------------------------------------
def fast_precision(model, precision: str = "auto"):
    """Autocast to bfloat16 where the hardware computes it natively (CPUs with AVX512-BF16 or AMX,
    recent GPUs): the explainers' hundreds of evaluations run ~1.8x faster here, and on the MiniLM
    the logits move by < 0.01 (explainer_precision checks that per input before an explainer uses
    it). Elsewhere bf16 is emulated and slower, so "auto" stays in float32 there.
    The explainers' own checks (SHAP additivity, IG completeness) hold for the function evaluated."""
    device = next(model.parameters()).device
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16" or (precision == "auto" and _native_bf16(device)):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@functools.cache
def _native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(cpu, "_is_amx_tile_supported", lambda: False)())
    return False


@contextlib.contextmanager
def input_gradients_only(model):
    """Gradient explainers need d(score)/d(embeddings), never the weights' gradients: switching
    those off skips about a third of the backward pass. The flags are restored afterwards."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        with torch.enable_grad():
            yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _device(model) -> torch.device:
    return next(model.parameters()).device


# ---- the explained score --------------------------------------------------------------------------
def log_odds(logits: torch.Tensor, target: int) -> torch.Tensor:
    """logit_t - logsumexp(logit_j, j != t): log(p_t / (1 - p_t)), computed without rounding p to 1."""
    others = torch.cat([logits[..., :target], logits[..., target + 1:]], dim=-1)
    return logits[..., target] - torch.logsumexp(others, dim=-1)


def prepare(tokenizer, text: str, max_length: int = 128, pair: str | None = None) -> Prepared:
    """Tokenize one input as training did: a pair as tokenizer(text, pair, truncation=True), which
    shortens the longer text first, with its token types."""
    if not text or not text.strip():
        raise WorkbenchError("Enter a text to explain (the input is empty).")
    if pair is not None and not pair.strip():
        raise WorkbenchError("Enter the second text of the pair (it is empty).")
    if not getattr(tokenizer, "is_fast", False):
        raise WorkbenchError("token attributions need a fast (Rust) tokenizer for word offsets")
    enc = tokenizer(text, pair, truncation=True, max_length=max_length, return_offsets_mapping=True,
                    return_special_tokens_mask=True, return_tensors="pt")
    offsets = [tuple(o) for o in enc["offset_mapping"][0].tolist()]
    special = enc["special_tokens_mask"][0].numpy().astype(bool)
    segments = enc.sequence_ids(0)

    def cut(source: str, segment: int, name: str) -> str:
        # Cut the text where the model's view of it ends, so the SHAP masker (which tokenizes the
        # string itself, without truncation) sees exactly the same word pieces.
        last_end = max((end for (_, end), s, seg in zip(offsets, special, segments) if not s and seg == segment),
                       default=0)
        if not source[:last_end].strip():
            raise WorkbenchError(f"{name} has no tokens to explain.")
        return source[:last_end]

    return Prepared(text=cut(text, 0, "The text"), input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                    token_type_ids=enc.get("token_type_ids"), special=special,
                    tokens=readable_tokens(tokenizer, enc["input_ids"][0].tolist()),
                    word_ids=enc.word_ids(0), offsets=offsets,
                    pair=None if pair is None else cut(pair, 1, "The second text"), segments=segments)


def baseline_ids(prepared: Prepared, tokenizer) -> torch.Tensor:
    """The input with every word piece replaced by [MASK] (special tokens kept): the 'absent' text."""
    mask_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.pad_token_id
    ids = prepared.input_ids.clone()
    ids[0, torch.as_tensor(~prepared.special)] = mask_id
    return ids


def resolve_target(model, logits: torch.Tensor, target: int | str | None) -> int:
    """The predicted class when target is None, else the class by id or by name."""
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    if target is None or target == "":
        return int(logits.argmax())
    if isinstance(target, str) and not target.isdigit():
        for i, name in id2label.items():
            if name == target:
                return i
        raise WorkbenchError(f"unknown class '{target}'; the model's classes are {list(id2label.values())}")
    target = int(target)
    if target not in id2label:
        raise WorkbenchError(f"class id {target} is out of range 0-{len(id2label) - 1}")
    return target


def _scores(model, sequences, target: int, batch_size: int = 64, precision: str = "auto",
            pad_id: int = 0, output: str = "log_odds", types=None) -> np.ndarray:
    """score_target (or p_target) for id sequences of any lengths, in their order.

    Batches are formed from length-sorted sequences and padded to their longest, so a batch of
    masked sentences costs only their real tokens. types: each sequence's token type ids (a pair's
    second text is type 1), or None for a model without them.
    """
    sequences = list(sequences)
    device = _device(model)
    order = np.argsort([len(s) for s in sequences], kind="stable")
    out = np.zeros(len(sequences), dtype=np.float64)
    with torch.inference_mode(), fast_precision(model, precision):
        for start in range(0, len(sequences), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(sequences[i]) for i in idx)
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            type_ids = torch.zeros_like(ids)
            for row, i in enumerate(idx):
                ids[row, :len(sequences[i])] = torch.as_tensor(sequences[i])
                mask[row, :len(sequences[i])] = 1
                if types is not None:
                    type_ids[row, :len(sequences[i])] = torch.as_tensor(types[i])
            extra = {} if types is None else {"token_type_ids": type_ids.to(device)}
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), **extra).logits.float()
            values = log_odds(logits, target) if output == "log_odds" else torch.softmax(logits, -1)[:, target]
            out[idx] = values.cpu().numpy()
    return out


def one_mask_per_run(ids: np.ndarray, mask_id: int) -> np.ndarray:
    """The positions to keep for one [MASK] per run of consecutive [MASK]s: "the ... was" rather
    than "the [MASK] [MASK] [MASK] was".

    SHAP's coalitions mask whole subtrees of the sentence, so most masked word pieces sit in a few
    long runs; collapsing them roughly halves the tokens the model has to read."""
    ids = np.asarray(ids)
    keep = np.ones(len(ids), bool)
    keep[1:] = ~((ids[1:] == mask_id) & (ids[:-1] == mask_id))
    return keep


def kept_rows(prepared: Prepared, rows, keeps) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Each row (as long as the input) cut to its kept positions, and the input's token types cut
    alike: a piece of a pair's second text stays type 1 wherever deletions or collapsed masks move it."""
    types = None if prepared.token_type_ids is None else prepared.token_type_ids[0].numpy()
    return ([np.asarray(r)[k] for r, k in zip(rows, keeps)],
            None if types is None else [types[k] for k in keeps])


def _masked_rows(prepared: Prepared, ids, mask_id: int, collapse: bool):
    """The rows shap's masker made, as the model reads them: special tokens put back (to the masker
    the [SEP] between a pair's texts is a word piece like the others: it must never be masked),
    runs of [MASK] read as one if `collapse`, with their token types."""
    rows = np.array(ids, dtype=np.int64)
    rows[:, prepared.special] = prepared.input_ids[0].numpy()[prepared.special]
    keeps = [one_mask_per_run(r, mask_id) if collapse else np.ones(len(r), bool) for r in rows]
    return kept_rows(prepared, rows, keeps)


def _finish(attr: Attribution, prepared: Prepared) -> Attribution:
    attr.scores = np.where(prepared.special, 0.0, attr.scores)
    attr.words, attr.word_scores, attr.word_pieces, attr.word_segments = merge_words(prepared, attr.scores)
    attr.segments = list(prepared.segments)
    return attr


def _score_of(model, prepared: Prepared, target: int, precision: str) -> float:
    """score_target of the input itself, through the batched path the explainers evaluate."""
    return float(_scores(model, prepared.input_ids, target, precision=precision, types=prepared.token_type_ids)[0])


def _target_and_input_score(model, prepared: Prepared, target, precision: str = "fp32") -> tuple[int, float]:
    """The explained class (the predicted one by default, from full-precision logits) and its score."""
    with torch.inference_mode():
        logits = model(**_inputs(model, prepared)).logits[0].float().cpu()
    t = resolve_target(model, logits, target)
    if precision == "fp32":
        return t, float(log_odds(logits, t))
    return t, _score_of(model, prepared, t, precision)


BF16_TOLERANCE = 0.02  # largest move of the explained score that bfloat16 may cause, in log-odds


def explainer_precision(model, prepared: Prepared, target: int, score_fp32: float, precision: str) -> str:
    """The precision an explainer runs at. "auto" takes bfloat16 where the hardware computes it
    natively *and* it moves the explained score at this input by less than BF16_TOLERANCE: the
    6-layer MiniLM moves by < 0.01, but the 30-layer SmolLM2 moved by 0.07, and an explanation
    of a different function than the one the user sees is no explanation of it."""
    if precision != "auto" or not _native_bf16(_device(model)):
        return precision
    score_bf16 = _score_of(model, prepared, target, "bf16")
    return "bf16" if abs(score_bf16 - score_fp32) < BF16_TOLERANCE else "fp32"


def _inputs(model, prepared: Prepared) -> dict:
    device = _device(model)
    inputs = {"input_ids": prepared.input_ids.to(device), "attention_mask": prepared.attention_mask.to(device)}
    if prepared.token_type_ids is not None:
        inputs["token_type_ids"] = prepared.token_type_ids.to(device)
    return inputs


def _label(model, target: int) -> str:
    return str({int(k): v for k, v in model.config.id2label.items()}[target])


# ---- SHAP --------------------------------------------------------------------------------------------
def shap_masker(tokenizer):
    """shap's Text masker on the model's own tokenizer, returning token ids (see the module doc)."""
    import shap

    return shap.maskers.Text(tokenizer, output_type="token_ids")


def masker_text(tokenizer, prepared: Prepared) -> str:
    """The string shap's masker explains. The masker tokenizes it itself, so it has to come out as
    exactly the word pieces the model reads: a single text is its truncated self; a pair is its two
    texts joined by the special tokens the tokenizer puts between them. "a [SEP] b" reads as
    "[CLS] a [SEP] b [SEP]" for BERT-style tokenizers; byte-level BPE (RoBERTa, BART) reads a space
    as a word piece of its own and starts the second text without one, so there it is
    "a</s></s>b" for "<s> a </s></s> b </s>". The match is checked. A decoder puts no separator
    between the texts at all: its two texts run together, and whether they happen to tokenize as
    the pair depends on the words, so it is refused every time rather than for some pairs only."""
    if prepared.pair is None:
        return prepared.text
    segments = prepared.segments
    end_of_first = max(i for i, segment in enumerate(segments) if segment == 0) + 1
    between = tokenizer.convert_ids_to_tokens(prepared.input_ids[0, end_of_first:segments.index(1)].tolist())
    expected = prepared.input_ids[0].tolist()
    joins = (f"{prepared.text} {' '.join(between)} {prepared.pair}", f"{prepared.text}{''.join(between)}{prepared.pair}")
    for joined in joins if between else ():
        if tokenizer(joined)["input_ids"] == expected:
            return joined
    raise WorkbenchError("SHAP cannot explain text pairs with this model's tokenizer: it does not read the two "
                         "texts joined by their separator as the pair; Integrated Gradients and gradient x "
                         "input can")


def shap_plan(tokenizer, text: str, max_evals: int = DEFAULT_SHAP_MAX_EVALS, max_length: int = 128,
              collapse: bool = True, batch_size: int = DEFAULT_SHAP_BATCH, pair: str | None = None) -> tuple[int, int]:
    """(evaluations, word pieces read) the Partition explainer will need on this text, without the
    model: a dry run of the same explainer with a stand-in function that returns zeros.

    The number of evaluations is exact (min of max_evals and what the token tree needs); the word
    pieces are those of the stand-in's traversal, which the real one matches closely in total.
    """
    import shap

    prepared = prepare(tokenizer, text, max_length, pair)
    mask_id = tokenizer.mask_token_id
    counts = {"evaluations": 0, "tokens": 0}

    def stand_in(ids) -> np.ndarray:
        rows, _ = _masked_rows(prepared, ids, mask_id, collapse)
        counts["evaluations"] += len(rows)
        counts["tokens"] += sum(len(r) for r in rows)
        return np.zeros(len(rows))

    shap.PartitionExplainer(stand_in, shap_masker(tokenizer))(
        [masker_text(tokenizer, prepared)], max_evals=max_evals, batch_size=batch_size, silent=True)
    return counts["evaluations"], counts["tokens"]


def lower_credit(hierarchical: np.ndarray, clustering: np.ndarray, maskable: np.ndarray) -> np.ndarray:
    """Push the credit left on the partition tree's internal nodes down to its word pieces.

    When max_evals runs out, shap leaves the unexplored subtrees' value differences on their
    internal nodes and splits each evenly over the node's leaves, [CLS] and [SEP] included. The
    masker never masks those two, so their share is not theirs: zeroing it (they cannot matter)
    would lose part of f(x) - f(baseline). Here a node's value is split over the word pieces that
    can be masked, so the attributions keep summing to the score difference exactly.
    """
    leaves = len(maskable)
    nodes = len(clustering)
    size = np.zeros(leaves + nodes)
    size[:leaves] = maskable.astype(float)
    for j in range(nodes):  # children always come before their parent in a linkage matrix
        size[leaves + j] = size[int(clustering[j, 0])] + size[int(clustering[j, 1])]
    values = np.zeros(leaves)
    stack = [(leaves + nodes - 1, 0.0)]
    while stack:
        node, carried = stack.pop()
        total = hierarchical[node] + carried
        if node < leaves:
            values[node] += total
            continue
        left, right = int(clustering[node - leaves, 0]), int(clustering[node - leaves, 1])
        both = size[left] + size[right]
        share = size[left] / both if both > 0 else 0.5
        stack.append((left, total * share))
        stack.append((right, total * (1 - share)))
    return values


def shap_attributions(model, tokenizer, text: str, target: int | str | None = None,
                      max_evals: int = DEFAULT_SHAP_MAX_EVALS, batch_size: int = DEFAULT_SHAP_BATCH,
                      max_length: int = 128, precision: str = "auto", collapse: bool = True,
                      pair: str | None = None) -> Attribution:
    """SHAP values (Owen values, shap's Partition explainer with the Text masker) of score_target.

    collapse: read a run of masked word pieces as one [MASK] (see `one_mask_per_run`); the baseline
    is then "[CLS] [MASK] [SEP]", the absent sentence ("[CLS] [MASK] [SEP] [MASK] [SEP]" for a pair).
    """
    import shap

    start = time.perf_counter()
    prepared = prepare(tokenizer, text, max_length, pair)
    shown = masker_text(tokenizer, prepared)
    target, score_fp32 = _target_and_input_score(model, prepared, target)
    precision = explainer_precision(model, prepared, target, score_fp32, precision)
    evaluations = tokens = 0
    mask_id, pad_id = tokenizer.mask_token_id, tokenizer.pad_token_id or 0

    def f(ids) -> np.ndarray:  # [n, L] masked token ids -> [n] scores
        nonlocal evaluations, tokens
        rows, types = _masked_rows(prepared, ids, mask_id, collapse)
        evaluations += len(rows)
        tokens += sum(len(r) for r in rows)
        return _scores(model, rows, target, batch_size, precision, pad_id, types=types)

    masker = shap_masker(tokenizer)
    explainer = shap.PartitionExplainer(f, masker)
    explanation = explainer([shown], max_evals=max_evals, batch_size=batch_size, silent=True)
    values = np.asarray(explanation.values[0], dtype=np.float64)
    if len(values) != prepared.input_ids.shape[1]:  # the masker and the model disagree on word pieces
        raise WorkbenchError("SHAP's masker split the text differently from the model's tokenizer")
    hierarchical = getattr(explanation, "hierarchical_values", None)
    clustering = getattr(explanation, "clustering", None)
    if hierarchical is not None and clustering is not None:
        values = lower_credit(np.asarray(hierarchical[0], np.float64), np.asarray(clustering[0]),
                              ~prepared.special)
    # The input's score from the same function SHAP evaluated, so additivity can be checked exactly.
    score_input = float(f(prepared.input_ids.numpy())[0])
    attr = Attribution(method="shap", tokens=prepared.tokens, scores=values, special=prepared.special,
                       target=target, target_name=_label(model, target), score_input=score_input,
                       score_baseline=float(np.asarray(explanation.base_values).reshape(-1)[0]),
                       evaluations=evaluations - 1, tokens_read=tokens - len(prepared.tokens),
                       precision=precision)
    attr = _finish(attr, prepared)
    attr.seconds = time.perf_counter() - start
    return attr


# ---- Captum ------------------------------------------------------------------------------------------
def _forward_for(model, target: int, precision: str):
    def forward(input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None):
        kwargs = {"attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        with fast_precision(model, precision):
            logits = model(input_ids=input_ids, inputs_embeds=inputs_embeds, **kwargs).logits.float()
        return log_odds(logits, target)
    return forward


def integrated_gradients(model, tokenizer, text: str, target: int | str | None = None,
                         n_steps: int = DEFAULT_IG_STEPS, max_length: int = 128,
                         precision: str = "auto", pair: str | None = None) -> Attribution:
    """Captum LayerIntegratedGradients on the word-embedding layer, from the all-[MASK] baseline.

    The convergence delta (sum of attributions minus the score difference it should equal) says how
    well n_steps approximated the integral; Gauss-Legendre steps keep it small with few steps.
    A pair's token types are the same at both ends of the path (only word embeddings move).
    """
    from captum.attr import LayerIntegratedGradients

    start = time.perf_counter()
    prepared = prepare(tokenizer, text, max_length, pair)
    target, score_fp32 = _target_and_input_score(model, prepared, target)
    precision = explainer_precision(model, prepared, target, score_fp32, precision)
    inputs = _inputs(model, prepared)
    baseline = baseline_ids(prepared, tokenizer).to(inputs["input_ids"].device)
    forward = _forward_for(model, target, precision)
    lig = LayerIntegratedGradients(forward, word_embedding_layer(model))
    extra = (inputs["attention_mask"], inputs.get("token_type_ids"))
    with input_gradients_only(model):
        attributions, delta = lig.attribute(
            inputs["input_ids"], baselines=baseline, additional_forward_args=extra, n_steps=n_steps,
            method="gausslegendre", internal_batch_size=n_steps, return_convergence_delta=True)
    with torch.inference_mode():  # the two ends of the path, from the function IG integrated
        ends = forward(torch.cat([inputs["input_ids"], baseline]), extra[0].expand(2, -1),
                       None if extra[1] is None else extra[1].expand(2, -1)).double().cpu().numpy()
    attr = Attribution(method="integrated_gradients", tokens=prepared.tokens,
                       scores=attributions[0].sum(-1).detach().double().cpu().numpy(),
                       special=prepared.special, target=target, target_name=_label(model, target),
                       score_input=float(ends[0]), score_baseline=float(ends[1]),
                       delta=float(delta.reshape(-1)[0]), evaluations=n_steps + 2,
                       tokens_read=(n_steps + 2) * len(prepared.tokens), precision=precision)
    attr = _finish(attr, prepared)
    attr.seconds = time.perf_counter() - start
    return attr


def token_vectors_layer(model):
    """The module whose output is the sequence of token vectors the first transformer layer reads
    (word + position + type embeddings after their LayerNorm); the word embeddings if there is none."""
    encoder = getattr(model, "encoder", model)
    for candidate in (getattr(encoder, "embeddings", None), getattr(getattr(encoder, "base_model", None),
                                                                    "embeddings", None)):
        if isinstance(candidate, torch.nn.Module):
            return candidate
    return word_embedding_layer(model)


def word_embedding_layer(model):
    """The word-embedding module the forward pass calls: get_input_embeddings(), or a second module
    on the same weight that is the one called (T5EncoderModel embeds through encoder.embed_tokens,
    not its `shared`, so a hook on `shared` never fires)."""
    embeddings = model.get_input_embeddings()
    encoder = getattr(model, "encoder", model)
    stack = getattr(encoder, "encoder", None)
    inner = getattr(stack, "embed_tokens", None)
    if isinstance(inner, torch.nn.Module) and inner is not embeddings and \
            getattr(inner, "weight", None) is getattr(embeddings, "weight", None):
        return inner
    return embeddings


def gradient_x_input(model, tokenizer, text: str, target: int | str | None = None,
                     max_length: int = 128, precision: str = "auto", pair: str | None = None) -> Attribution:
    """Gradient x input on the token vectors the encoder reads (Captum LayerGradientXActivation on
    the embeddings module): one forward and one backward pass.

    Why the embeddings module's output and not the word embeddings: BERT-style models add position
    and type embeddings to the word embedding and pass the sum through a LayerNorm, which is
    (nearly) scale invariant, so grad . (word + position) is about 0 and grad . word comes out as
    about -grad . position; on the SST-2 MiniLM that ranking was *less* faithful than random
    (comprehensiveness -0.07 against 0.00), while on the LayerNorm's output it is +0.13.
    It is a first-order view (relative to a zero vector, not to the [MASK] baseline), so its scores
    need not sum to anything; the faithfulness view shows how far its ranking holds up.
    """
    from captum.attr import LayerGradientXActivation

    start = time.perf_counter()
    prepared = prepare(tokenizer, text, max_length, pair)
    target, score_input = _target_and_input_score(model, prepared, target)
    precision = explainer_precision(model, prepared, target, score_input, precision)
    inputs = _inputs(model, prepared)
    forward = _forward_for(model, target, precision)
    method = LayerGradientXActivation(forward, token_vectors_layer(model))
    with input_gradients_only(model):
        attributions = method.attribute(inputs["input_ids"],
                                        additional_forward_args=(inputs["attention_mask"], inputs.get("token_type_ids")))
    if isinstance(attributions, (tuple, list)):
        attributions = attributions[0]
    attr = Attribution(method="gradient_x_input", tokens=prepared.tokens,
                       scores=attributions[0].float().sum(-1).detach().double().cpu().numpy(),
                       special=prepared.special, target=target, target_name=_label(model, target),
                       score_input=score_input, score_baseline=None, evaluations=1,
                       tokens_read=len(prepared.tokens), precision=precision)
    attr = _finish(attr, prepared)
    attr.seconds = time.perf_counter() - start
    return attr


def random_attributions(model, tokenizer, text: str, target: int | str | None = None,
                        max_length: int = 128, seed: int = 0, pair: str | None = None) -> Attribution:
    """Random scores: the baseline an explanation has to beat to be worth reading."""
    prepared = prepare(tokenizer, text, max_length, pair)
    target, score_input = _target_and_input_score(model, prepared, target)
    scores = np.random.default_rng(seed).standard_normal(len(prepared.tokens))
    attr = Attribution(method="random", tokens=prepared.tokens, scores=scores, special=prepared.special,
                       target=target, target_name=_label(model, target), score_input=score_input,
                       score_baseline=None)
    return _finish(attr, prepared)


EXPLAINERS = {"shap": shap_attributions, "integrated_gradients": integrated_gradients,
              "gradient_x_input": gradient_x_input}
TITLES = {"shap": "SHAP (Partition, text masker)", "integrated_gradients": "Integrated Gradients (Captum)",
          "gradient_x_input": "Gradient x input (Captum)", "random": "random tokens"}


def explain(method: str, model, tokenizer, text: str, target=None, max_length: int = 128, pair: str | None = None,
            **options) -> Attribution:
    """One explainer by name on a text, or on a text pair (`pair`: its second text)."""
    if method not in EXPLAINERS:
        raise WorkbenchError(f"unknown explainer '{method}'; choose one of {list(EXPLAINERS)}")
    return EXPLAINERS[method](model, tokenizer, text, target=target, max_length=max_length, pair=pair, **options)


# ---- word pieces back to words ------------------------------------------------------------------------
def merge_words(prepared: Prepared, scores: np.ndarray) -> tuple[list[str], np.ndarray, list[list[int]], list[int]]:
    """Sum the word pieces of each word (attributions are additive, so a word's share is the sum of
    its pieces'); the word is its span of the original text, so "un ##believ ##able" reads "unbelievable".
    Also returns each word's text (0, or 1 for a pair's second): word ids restart in the second
    text, so a word is known by its text and its id, and never runs across the two."""
    words, word_scores, pieces, segments = [], [], [], []
    current = None
    for i, (word, segment) in enumerate(zip(prepared.word_ids, prepared.segments)):
        if word is None or prepared.special[i]:
            current = None
            continue
        if (segment, word) != current:
            current = (segment, word)
            pieces.append([i])
            segments.append(segment)
        else:
            pieces[-1].append(i)
    for group, segment in zip(pieces, segments):
        start = prepared.offsets[group[0]][0]
        end = prepared.offsets[group[-1]][1]
        words.append((prepared.pair if segment == 1 else prepared.text)[start:end])
        word_scores.append(float(scores[group].sum()))
    return words, np.asarray(word_scores), pieces, segments


# ---- drawing -----------------------------------------------------------------------------------------
def _colour(value: float, scale: float) -> str:
    # SHAP's convention: red pushes towards the explained class, blue away from it.
    alpha = min(1.0, abs(value) / scale) if scale > 0 else 0.0
    rgb = "230,60,60" if value > 0 else "40,110,230"
    return f"rgba({rgb},{0.08 + 0.77 * alpha:.2f})" if alpha > 0.02 else "transparent"


def attribution_html(attr: Attribution, show_pieces: bool = False) -> str:
    """The text as coloured words (or word pieces), inline styles only, score in each tooltip; a
    pair's two texts on two labelled lines, coloured on one scale."""
    if show_pieces:
        items = [(t, s, seg) for t, s, sp, seg in zip(attr.tokens, attr.scores, attr.special, attr.segments) if not sp]
    else:
        items = list(zip(attr.words, attr.word_scores, attr.word_segments))
    scale = max((abs(s) for _, s, _ in items), default=0.0)

    def spans(segment: int) -> str:
        return " ".join(
            f'<span title="{html.escape(t)}: {s:+.3f}" style="background:{_colour(s, scale)};'
            f'padding:2px 3px;margin:1px 0;border-radius:3px;display:inline-block;line-height:1.5">'
            f'{html.escape(t)}</span>' for t, s, seg in items if seg == segment)

    if attr.pair:
        label = '<span style="font-size:12px;color:#666;margin-right:6px">Text {}</span>'
        text = "".join(f'<div class="attr-text-{i + 1}">{label.format(i + 1)} {spans(i)}</div>' for i in (0, 1))
    else:
        text = spans(0)
    facts = [f"explains <b>{html.escape(attr.target_name)}</b>",
             f"log-odds at the input {attr.score_input:+.3f}"]
    if attr.score_baseline is not None:
        facts.append(f"with every word masked {attr.score_baseline:+.3f}")
        facts.append(f"sum of attributions {attr.total:+.3f}")
    if attr.delta is not None:
        facts.append(f"convergence delta {attr.delta:+.4f}")
    in_bf16 = " in bfloat16" if attr.precision == "bf16" else ""
    facts.append(f"{attr.evaluations} model evaluations{in_bf16}, {attr.seconds:.2f} s")
    warning = ""
    if attr.unconverged:
        share = abs(attr.delta) / max(abs(attr.score_input - attr.score_baseline), 1e-9)
        warning = (f'<div style="font-size:12px;color:#b00020;margin-top:2px">⚠ not converged: the scores '
                   f'miss the change from baseline to input by {100 * share:.0f}% of it, so read them with care. '
                   f'More steps may help; on deep decoders the path to the baseline can stay too sharp.</div>')
    return (f'<div style="font-family:sans-serif;margin:6px 0 14px 0">'
            f'<div style="font-weight:600;margin-bottom:4px">{html.escape(TITLES.get(attr.method, attr.method))}</div>'
            f'<div style="font-size:15px">{text}</div>'
            f'<div style="font-size:12px;color:#666;margin-top:4px">{" · ".join(facts)}</div>{warning}</div>')


def legend_html() -> str:
    return ('<div style="font-size:12px;color:#555;font-family:sans-serif">'
            '<span style="background:rgba(230,60,60,0.7);padding:1px 6px;border-radius:3px">red</span> '
            'pushes towards the explained class, '
            '<span style="background:rgba(40,110,230,0.7);padding:1px 6px;border-radius:3px">blue</span> '
            'away from it; hover a word for its score.</div>')


# ---- cost, before running -------------------------------------------------------------------------------
_FORWARD_TIMES: dict[tuple, float] = {}


def forward_seconds(model, length: int, batch: int = DEFAULT_SHAP_BATCH, precision: str = "auto") -> float:
    """Measured seconds per example of one forward pass at this length and batch, on this machine,
    at the precision the explainers use (measured once per model, length bucket and batch; a
    warm-up pass is not timed)."""
    bucket = max(8, int(np.ceil(length / 8) * 8))
    key = (id(model), bucket, batch, precision)
    if key not in _FORWARD_TIMES:
        ids = torch.full((batch, bucket), 1000, dtype=torch.long, device=_device(model))
        mask = torch.ones_like(ids)
        with torch.inference_mode(), fast_precision(model, precision):
            model(input_ids=ids[:2], attention_mask=mask[:2])
            start = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
        _FORWARD_TIMES[key] = (time.perf_counter() - start) / batch
    return _FORWARD_TIMES[key]


@dataclass
class ExplainerCost:
    method: str
    evaluations: int
    seconds: float
    how: str


def explainer_costs(model, tokenizer, text: str, max_length: int = 128,
                    shap_max_evals: int = DEFAULT_SHAP_MAX_EVALS, ig_steps: int = DEFAULT_IG_STEPS,
                    precision: str = "auto", pair: str | None = None) -> list[ExplainerCost]:
    """What each explainer will cost on this text, before running it: the model evaluations it
    needs times a forward pass measured on this machine.

    A backward pass that only needs the input's gradient costs about one forward pass, so a
    gradient evaluation counts as two.
    """
    prepared = prepare(tokenizer, text, max_length, pair)
    length = prepared.input_ids.shape[1]
    single = forward_seconds(model, length, 1, "fp32")
    shap_evals, shap_tokens = shap_plan(tokenizer, text, shap_max_evals, max_length, pair=pair)
    mean_length = shap_tokens / max(1, shap_evals)
    shap_seconds = shap_evals * forward_seconds(model, mean_length, DEFAULT_SHAP_BATCH, precision)
    ig_seconds = 2 * ig_steps * forward_seconds(model, length, ig_steps, precision)
    return [
        ExplainerCost("shap", shap_evals, shap_seconds + 3 * single,
                      f"{shap_evals} masked sentences, {mean_length:.0f} word pieces on average "
                      f"(max_evals {shap_max_evals})"),
        ExplainerCost("integrated_gradients", ig_steps + 2, ig_seconds + 3 * single,
                      f"{ig_steps} interpolation steps of {length} word pieces, forward and backward"),
        ExplainerCost("gradient_x_input", 1, 3 * single, "one forward and one backward pass"),
    ]
