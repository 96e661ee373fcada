"""Token attributions on the fine-tuned SST-2 model: SHAP additivity, IG completeness, gradient x
input against autograd, word merging, cost estimates and bad input; the same checks on text pairs,
on the MRPC run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.analysis import (attribution_html, explain, explainer_costs, gradient_x_input, integrated_gradients,
                                log_odds, random_attributions, shap_attributions)
from workbench.analysis.attribution import merge_words, prepare, shap_plan, token_vectors_layer
from workbench.analysis.tokens import readable_tokens
from workbench.errors import WorkbenchError

LONG = ("the performances are uniformly excellent , but the script is a tired retread of better films "
        "and the ending is simply unbelievable .")
SHORT = "a wonderfully moving film ."
# A mixed review like LONG can sit near the decision boundary, where the whole score difference is
# too small for a relative completeness check to mean anything: IG is checked on clear cases.
NEGATIVE = "a dull , lifeless and utterly tired retread of better films , with an unbelievable ending ."


def model_log_odds(model, ids: list[int], target: int, types: list[int] | None = None) -> float:
    """The explained score computed here, independently of the explainers."""
    extra = {} if types is None else {"token_type_ids": torch.tensor([types])}
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                       **extra).logits
    return float(log_odds(logits.float(), target)[0])


@pytest.mark.parametrize("text, max_evals", [(LONG, 100), (SHORT, 500)])
def test_shap_attributions_sum_to_the_score_difference(sst2_model, text, max_evals):
    model, tokenizer, max_length = sst2_model
    a = shap_attributions(model, tokenizer, text, max_evals=max_evals, max_length=max_length, precision="fp32")
    ids = tokenizer(text)["input_ids"]
    assert a.tokens == tokenizer.convert_ids_to_tokens(ids)
    # Both ends from the model directly: the sentence, and the "absent" sentence [CLS] [MASK] [SEP].
    assert a.score_input == pytest.approx(model_log_odds(model, ids, a.target), abs=1e-4)
    absent = [tokenizer.cls_token_id, tokenizer.mask_token_id, tokenizer.sep_token_id]
    assert a.score_baseline == pytest.approx(model_log_odds(model, absent, a.target), abs=1e-4)
    assert a.total == pytest.approx(a.score_input - a.score_baseline, abs=1e-4)  # additivity (efficiency)
    assert abs(a.score_input - a.score_baseline) > 0.5, "a real difference to explain"
    assert (a.scores[a.special] == 0).all() and np.count_nonzero(a.scores) >= len(a.tokens) - 2 - 1
    if max_evals == 100:
        assert a.evaluations == 100  # the budget bounds the work (this sentence's tree needs more)
    # At the default precision (bfloat16 where the CPU has it) too, up to bfloat16's resolution of
    # the logits (8 bits of mantissa: steps of 1/256 around 1).
    fast = shap_attributions(model, tokenizer, text, max_evals=max_evals, max_length=max_length)
    assert fast.total == pytest.approx(fast.score_input - fast.score_baseline, abs=1e-2)


def test_shap_for_the_other_class_mirrors_it(sst2_model):
    # With two classes the log-odds of one class is minus the other's, and SHAP is linear in the
    # explained function: explaining "negative" must give exactly the negated values.
    model, tokenizer, max_length = sst2_model
    pos = shap_attributions(model, tokenizer, SHORT, target="positive", max_evals=500, precision="fp32")
    neg = shap_attributions(model, tokenizer, SHORT, target="negative", max_evals=500, precision="fp32")
    by_id = shap_attributions(model, tokenizer, SHORT, target=0, max_evals=500, precision="fp32")
    assert (pos.target_name, neg.target_name, by_id.target_name) == ("positive", "negative", "negative")
    np.testing.assert_allclose(neg.scores, -pos.scores, atol=1e-4)
    np.testing.assert_allclose(by_id.scores, neg.scores, atol=1e-5)
    predicted = shap_attributions(model, tokenizer, SHORT, max_evals=500, precision="fp32")
    assert predicted.target_name == "positive", "the model reads this as praise"
    top_word = predicted.words[int(np.argmax(predicted.word_scores))]
    assert top_word in {"wonderfully", "moving"}, predicted.words


@pytest.mark.parametrize("text", [NEGATIVE, SHORT])
def test_integrated_gradients_is_complete(sst2_model, text):
    model, tokenizer, max_length = sst2_model
    a = integrated_gradients(model, tokenizer, text, max_length=max_length, precision="fp32")
    ids = tokenizer(text)["input_ids"]
    baseline = [i if i in (tokenizer.cls_token_id, tokenizer.sep_token_id) else tokenizer.mask_token_id for i in ids]
    assert a.score_input == pytest.approx(model_log_odds(model, ids, a.target), abs=1e-4)
    assert a.score_baseline == pytest.approx(model_log_odds(model, baseline, a.target), abs=1e-4)
    difference = a.score_input - a.score_baseline
    assert abs(difference) > 0.5
    # Completeness: the attributions add up to the score difference up to a small convergence delta ...
    assert abs(a.delta) < 0.02 * abs(difference) + 0.01
    # ... and the delta reported is the real one. The special tokens' own attributions are dropped
    # from the scores shown (their embedding is the same at both ends, so theirs is ~0).
    assert a.total - difference == pytest.approx(a.delta, abs=2e-3)
    coarse = integrated_gradients(model, tokenizer, text, n_steps=2, max_length=max_length, precision="fp32")
    assert abs(coarse.delta) > abs(a.delta), "fewer steps, a worse integral: the delta measures something"
    fast = integrated_gradients(model, tokenizer, text, max_length=max_length)  # default precision
    assert abs(fast.delta) < 0.05 * abs(fast.score_input - fast.score_baseline) + 0.02


def autograd_gradient_x_input(model, enc, target: int) -> np.ndarray:
    """Gradient x input on the token vectors by plain autograd, for one tokenized input."""
    captured = {}

    def keep(module, inputs, output):
        output.retain_grad()
        captured["vectors"] = output

    handle = token_vectors_layer(model).register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(**enc).logits.float()
            log_odds(logits, target).sum().backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    vectors = captured["vectors"]
    return (vectors.grad * vectors).sum(-1)[0].detach().double().numpy()


def test_gradient_x_input_equals_autograd(sst2_model):
    model, tokenizer, max_length = sst2_model
    a = gradient_x_input(model, tokenizer, LONG, max_length=max_length, precision="fp32")
    expected = autograd_gradient_x_input(model, tokenizer(LONG, return_tensors="pt"), a.target)
    expected[a.special] = 0
    np.testing.assert_allclose(a.scores, expected, rtol=1e-4, atol=1e-5)
    assert a.evaluations == 1 and a.score_baseline is None and a.delta is None
    assert all(p.requires_grad for p in model.parameters()), "the weights' grad flags are restored"


def test_word_pieces_merge_into_words(sst2_model):
    model, tokenizer, max_length = sst2_model
    text = "an unbelievably overwrought melodrama"
    a = integrated_gradients(model, tokenizer, text, max_length=max_length)
    assert len(a.tokens) > len(text.split()) + 2  # some words are several word pieces
    assert a.words == text.split()
    for word_score, pieces in zip(a.word_scores, a.word_pieces):
        assert word_score == pytest.approx(a.scores[pieces].sum())
    assert a.word_scores.sum() == pytest.approx(a.total)


def test_long_text_is_cut_where_the_model_stops_reading(sst2_model):
    model, tokenizer, _ = sst2_model
    text = " ".join([LONG] * 4)
    for method in ("shap", "integrated_gradients", "gradient_x_input"):
        a = explain(method, model, tokenizer, text, max_length=24, **({"max_evals": 60} if method == "shap" else {}))
        assert len(a.tokens) == 24 and a.tokens[-1] == "[SEP]"


@pytest.mark.parametrize("call", [
    lambda m, t: shap_attributions(m, t, ""),
    lambda m, t: integrated_gradients(m, t, "   "),
    lambda m, t: gradient_x_input(m, t, "\n"),
    lambda m, t: explainer_costs(m, t, ""),
])
def test_empty_text_is_an_error(sst2_model, call):
    model, tokenizer, _ = sst2_model
    with pytest.raises(WorkbenchError, match="Enter a text to explain"):
        call(model, tokenizer)


def test_unknown_class_or_explainer_is_an_error(sst2_model):
    model, tokenizer, _ = sst2_model
    with pytest.raises(WorkbenchError, match=r"unknown class 'neutral'; the model's classes are \['negative', 'positive'\]"):
        shap_attributions(model, tokenizer, SHORT, target="neutral")
    with pytest.raises(WorkbenchError, match="class id 2 is out of range 0-1"):
        integrated_gradients(model, tokenizer, SHORT, target=2)
    with pytest.raises(WorkbenchError, match="unknown explainer 'lime'"):
        explain("lime", model, tokenizer, SHORT)


def test_costs_are_known_before_running(sst2_model):
    model, tokenizer, max_length = sst2_model
    costs = {c.method: c for c in explainer_costs(model, tokenizer, LONG, max_length, shap_max_evals=200, ig_steps=16)}
    assert set(costs) == {"shap", "integrated_gradients", "gradient_x_input"}
    shap = shap_attributions(model, tokenizer, LONG, max_evals=200, max_length=max_length)
    assert costs["shap"].evaluations == shap.evaluations == 200
    assert costs["integrated_gradients"].evaluations == 18 and costs["gradient_x_input"].evaluations == 1
    assert all(c.seconds > 0 and c.how for c in costs.values())
    assert costs["shap"].seconds > costs["integrated_gradients"].seconds > costs["gradient_x_input"].seconds
    small = {c.method: c for c in explainer_costs(model, tokenizer, SHORT, max_length, shap_max_evals=1000)}
    assert small["shap"].evaluations < 1000  # a short sentence's tree needs fewer than the budget


def test_coloured_tokens(sst2_model):
    model, tokenizer, max_length = sst2_model
    a = integrated_gradients(model, tokenizer, SHORT, max_length=max_length)
    page = attribution_html(a)
    for word in SHORT.split():
        assert f">{word}</span>" in page
    assert "rgba(230,60,60" in page  # red: pushes towards the class
    assert f"convergence delta {a.delta:+.4f}" in page and "explains <b>positive</b>" in page
    pieces = attribution_html(a, show_pieces=True)
    assert pieces.count("<span title=") == len(a.tokens) - 2
    noise = random_attributions(model, tokenizer, SHORT)
    assert noise.method == "random" and len(noise.scores) == len(a.tokens) and (noise.scores[noise.special] == 0).all()


@pytest.fixture(scope="module")
def smollm2_classifier():
    """The bundled SmolLM2 (30 layers, RMSNorm, byte-level BPE) with a seeded 3-class head: a deep
    decoder, where bfloat16 and the IG path behave unlike the 6-layer MiniLM."""
    from transformers import AutoTokenizer

    from workbench.catalog import bundled_model_path
    from workbench.tasks.pooled_classifier import PooledClassifier

    path = bundled_model_path("smollm2-135m-instruct")
    torch.manual_seed(0)
    model = PooledClassifier.from_encoder(str(path), {0: "billing", 1: "delivery", 2: "technical"}, "mean",
                                          attn_implementation="eager").eval()
    with torch.no_grad():  # logits a few units apart, as a trained head's are, not a fresh one's ~0.1
        model.classifier.weight.mul_(20)
    return model, AutoTokenizer.from_pretrained(path)


TICKET = "Please refund my order, the parcel never came"


@pytest.mark.parametrize("which", ["sst2", "smollm2"])
def test_default_precision_explains_the_model_the_user_sees(sst2_model, smollm2_classifier, which):
    # "auto" may run the explainers in bfloat16, but only where that leaves the explained score
    # where full precision has it: SmolLM2's moves by 0.15 in bfloat16 on this sentence.
    model, tokenizer = (sst2_model[:2] if which == "sst2" else smollm2_classifier)
    text = SHORT
    a = integrated_gradients(model, tokenizer, text, n_steps=8)
    full = model_log_odds(model, tokenizer(text)["input_ids"], a.target)
    assert a.score_input == pytest.approx(full, abs=0.02), a.precision


def test_unconverged_integrated_gradients_are_flagged(sst2_model, smollm2_classifier):
    model, tokenizer = smollm2_classifier
    deep = integrated_gradients(model, tokenizer, TICKET, precision="fp32")
    # The real delta, not a guess: the sum misses the score change by more than a tenth of it.
    assert abs(deep.delta) > 0.1 * abs(deep.score_input - deep.score_baseline)
    assert deep.unconverged and "not converged" in attribution_html(deep)
    model, tokenizer, max_length = sst2_model
    shallow = integrated_gradients(model, tokenizer, SHORT, max_length=max_length)
    assert not shallow.unconverged and "not converged" not in attribution_html(shallow)


# ---- text pairs (MRPC): both texts explained, as the model read them in training -------------------------
PAIR = ("The cat sat on the mat .", "A cat was sitting on the unbelievably dusty mat & rug .")


def pair_ids(tokenizer) -> tuple[list[int], list[int]]:
    enc = tokenizer(*PAIR)
    return enc["input_ids"], enc["token_type_ids"]


def words_of(a, segment: int) -> list[str]:
    return [w for w, s in zip(a.words, a.word_segments) if s == segment]


def test_shap_on_a_pair_explains_both_texts_and_sums_to_the_score_difference(mrpc_model):
    model, tokenizer, max_length = mrpc_model
    a = shap_attributions(model, tokenizer, PAIR[0], pair=PAIR[1], max_evals=300, max_length=max_length,
                          precision="fp32")
    ids, types = pair_ids(tokenizer)
    assert a.tokens == tokenizer.convert_ids_to_tokens(ids) and a.pair
    # Both ends from the model directly, with the pair's token types: the pair, and the absent pair
    # "[CLS] [MASK] [SEP] [MASK] [SEP]" (the separator between the texts is never masked).
    assert a.score_input == pytest.approx(model_log_odds(model, ids, a.target, types), abs=1e-4)
    cls, sep, mask = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id
    absent = model_log_odds(model, [cls, mask, sep, mask, sep], a.target, [0, 0, 0, 1, 1])
    assert a.score_baseline == pytest.approx(absent, abs=1e-4)
    assert a.total == pytest.approx(a.score_input - a.score_baseline, abs=1e-4)  # additivity
    assert abs(a.score_input - a.score_baseline) > 0.05, "a difference to explain"
    # [CLS] and both separators get nothing; every word piece of both texts gets its share.
    assert np.flatnonzero(a.special).tolist() == [0, ids.index(sep), len(ids) - 1]
    assert (a.scores[a.special] == 0).all() and np.count_nonzero(a.scores) == len(ids) - 3
    assert words_of(a, 0) == PAIR[0].split() and words_of(a, 1) == PAIR[1].split()
    costs = {c.method: c for c in explainer_costs(model, tokenizer, PAIR[0], max_length, shap_max_evals=300,
                                                  pair=PAIR[1])}
    assert costs["shap"].evaluations == a.evaluations


def test_integrated_gradients_on_a_pair_is_complete(mrpc_model):
    model, tokenizer, max_length = mrpc_model
    a = integrated_gradients(model, tokenizer, PAIR[0], pair=PAIR[1], max_length=max_length, precision="fp32")
    ids, types = pair_ids(tokenizer)
    special = (tokenizer.cls_token_id, tokenizer.sep_token_id)
    baseline = [i if i in special else tokenizer.mask_token_id for i in ids]
    assert a.score_input == pytest.approx(model_log_odds(model, ids, a.target, types), abs=1e-4)
    assert a.score_baseline == pytest.approx(model_log_odds(model, baseline, a.target, types), abs=1e-4)
    difference = a.score_input - a.score_baseline
    assert abs(difference) > 0.05
    assert abs(a.delta) < 0.02 * abs(difference) + 0.01
    assert a.total - difference == pytest.approx(a.delta, abs=2e-3)
    assert (a.scores[a.special] == 0).all() and a.special.sum() == 3
    assert words_of(a, 0) == PAIR[0].split() and words_of(a, 1) == PAIR[1].split()


def test_gradient_x_input_on_a_pair_equals_autograd_and_shows_both_texts(mrpc_model):
    model, tokenizer, max_length = mrpc_model
    a = gradient_x_input(model, tokenizer, PAIR[0], pair=PAIR[1], max_length=max_length, precision="fp32")
    expected = autograd_gradient_x_input(model, tokenizer(*PAIR, return_tensors="pt"), a.target)
    expected[a.special] = 0
    np.testing.assert_allclose(a.scores, expected, rtol=1e-4, atol=1e-5)
    # Two labelled lines, each with its own text's words (escaped), the separators nowhere.
    page = attribution_html(a)
    first, second = page.split('<div class="attr-text-2">')
    assert ">Text 1</span>" in first and ">Text 2</span>" in second
    assert all(f">{w}</span>" in first for w in PAIR[0].split()) and ">sitting</span>" not in first
    assert ">unbelievably</span>" in second and ">&amp;</span>" in second and "[SEP]" not in page
    pieces = attribution_html(a, show_pieces=True)
    assert pieces.count("<span title=") == len(a.tokens) - 3  # every word piece, no separator


def test_words_never_run_across_the_two_texts():
    # A decoder's tokenizer puts nothing between a pair's texts, and word ids restart at 0 in the
    # second: "refund" twice would read as one word of four pieces if words were known by id alone.
    from transformers import AutoTokenizer

    from workbench.catalog import bundled_model_path

    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path("smollm2-135m-instruct"))
    prepared = prepare(tokenizer, "refund", pair="refund please")
    assert prepared.word_ids == [0, 0, 0, 0, 1] and not prepared.special.any()
    words, scores, pieces, segments = merge_words(prepared, np.arange(5.0))
    assert [w.strip() for w in words] == ["refund", "refund", "please"] and segments == [0, 1, 1]
    assert pieces == [[0, 1], [2, 3], [4]] and scores.tolist() == [1.0, 5.0, 4.0]
    # Its masker cannot be given the pair as one string: SHAP says so rather than explain another input.
    with pytest.raises(WorkbenchError, match="SHAP cannot explain text pairs with this model's tokenizer"):
        shap_plan(tokenizer, "refund", pair="refund please")


@pytest.fixture(scope="module")
def roberta_pair_classifier(datasets_dir, tmp_path_factory):
    """A small RoBERTa classifier, seeded, with a byte-level BPE tokenizer trained here on MRPC's
    sentences (no RoBERTa checkpoint is on this machine). Its weights are random: what is tested on
    it is how RoBERTa's tokenizer reads a pair ("<s> a </s></s> b </s>", a space a word piece of its
    own), not what a trained model looks at."""
    import json

    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizer

    lines = [json.loads(row)["sentence1"] for row in (datasets_dir / "mrpc" / "train.jsonl").open()]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(lines, vocab_size=2000, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    folder = tmp_path_factory.mktemp("roberta_tokenizer")
    bpe.save_model(str(folder))
    tokenizer = RobertaTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=128, max_position_embeddings=130, num_labels=2, pad_token_id=1,
                           bos_token_id=0, eos_token_id=2, hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0)
    return RobertaForSequenceClassification(config).eval(), tokenizer


def test_shap_on_a_pair_reads_it_as_roberta_does(roberta_pair_classifier):
    # A typed " </s> </s> " between the texts read as extra spaces, so SHAP refused RoBERTa's pairs.
    model, tokenizer = roberta_pair_classifier
    ids = tokenizer(*PAIR)["input_ids"]
    sep = tokenizer.sep_token_id
    assert ids[ids.index(sep):ids.index(sep) + 2] == [sep, sep]  # "<s> a </s></s> b </s>"
    a = shap_attributions(model, tokenizer, PAIR[0], pair=PAIR[1], max_evals=300, max_length=128,
                          precision="fp32")
    assert a.tokens == readable_tokens(tokenizer, ids)  # "Ġc" shown as "c"
    assert a.score_input == pytest.approx(model_log_odds(model, ids, a.target), abs=1e-4)
    assert a.total == pytest.approx(a.score_input - a.score_baseline, abs=1e-4)  # additivity
    # <s>, both </s> between the texts and the last one get nothing; every word piece gets its share.
    assert a.special.sum() == 4 and (a.scores[a.special] == 0).all()
    assert np.count_nonzero(a.scores) == len(ids) - 4
    assert words_of(a, 0) == PAIR[0].split() and words_of(a, 1) == PAIR[1].split()
    ig = integrated_gradients(model, tokenizer, PAIR[0], pair=PAIR[1], max_length=128, precision="fp32")
    assert ig.tokens == a.tokens and words_of(ig, 1) == PAIR[1].split()


def test_a_long_pair_is_cut_as_training_cuts_it(mrpc_model):
    model, tokenizer, _ = mrpc_model
    first = " ".join([PAIR[0]] * 4)
    ids = tokenizer(first, PAIR[1], truncation=True, max_length=24)["input_ids"]
    # Both texts are cut (the longer first), each where the model stops reading it, so that the
    # two cut texts read back as exactly the word pieces the model reads (SHAP's masker needs that).
    prepared = prepare(tokenizer, first, 24, PAIR[1])
    assert first.startswith(prepared.text) and PAIR[1].startswith(prepared.pair) and prepared.pair != PAIR[1]
    assert tokenizer(prepared.text, prepared.pair)["input_ids"] == ids
    for method in ("shap", "integrated_gradients", "gradient_x_input"):
        a = explain(method, model, tokenizer, first, max_length=24, pair=PAIR[1],
                    **({"max_evals": 60} if method == "shap" else {}))
        assert a.tokens == tokenizer.convert_ids_to_tokens(ids)
        assert words_of(a, 0) == first.split()[:len(words_of(a, 0))] and words_of(a, 1)[:3] == ["A", "cat", "was"]


@pytest.mark.parametrize("explainer", [shap_attributions, integrated_gradients, gradient_x_input])
def test_a_pair_without_its_second_text_is_an_error(mrpc_model, explainer):
    model, tokenizer, _ = mrpc_model
    with pytest.raises(WorkbenchError, match=r"Enter the second text of the pair \(it is empty\)"):
        explainer(model, tokenizer, PAIR[0], pair="  ")
