"""Text gradients that mean something, per token: exact numbers on a bag-of-embeddings model
built here, the bundled sentiment model's maps no longer flat, the `token_reduce` setting
through the picker, the URL and the CLI, and the token map's note and colour bar."""

from __future__ import annotations

import json

import numpy as np
import page_charts
import pandas as pd
import pytest

from components.explain.methods import REGISTRY, Subject
from components.explain.methods.gradients import TOKEN_REDUCES, gradient_space, token_values
from components.model.predict import make_predict_fn
from components.model.samples import get_sample
from components.plots.explain import FLAT_TOLERANCE, flat_note, token_heatmap

VOCAB = ["good", "bad", "film", "plot", "dull"]
L, D = 6, 3
TEXT = "good film dull"
IDS = [2, 4, 6]  # TextVectorization: 0 padding, 1 [UNK], then VOCAB in order
SAL, SG, GXI, IG = (REGISTRY[m] for m in ("saliency", "smoothgrad", "gradxinput", "ig"))


@pytest.fixture(scope="module")
def bag():
    """TextVectorization(L) -> Embedding(7, 3) -> mean over all L positions -> Dense(1),
    linear, weights fixed: the output is w · mean_t(e_t) + b, so d out / d e_t = w / L at
    every position (the same vector for every token)."""
    import keras

    rng = np.random.default_rng(5)
    table = rng.normal(size=(len(VOCAB) + 2, D)).astype("float32")
    w = np.array([0.7, -1.3, 0.4], "float32")
    inp = keras.Input((), dtype="string")
    vec = keras.layers.TextVectorization(output_sequence_length=L, vocabulary=VOCAB)
    emb = keras.layers.Embedding(len(VOCAB) + 2, D)
    dense = keras.layers.Dense(1)
    model = keras.Model(inp, dense(keras.layers.GlobalAveragePooling1D()(emb(vec(inp)))))
    emb.set_weights([table])
    dense.set_weights([w[:, None], np.array([0.25], "float32")])
    return model, table, w


def _text(model, text: str) -> Subject:
    return Subject(x=np.array([text], dtype=object), kind="text",
                   predict_fn=make_predict_fn(model), model=model, task="regression")


# ---------------------------------------------------------------- exact numbers


def test_dot_is_the_gradient_times_each_tokens_embedding(bag):
    model, table, w = bag
    subject = _text(model, TEXT)
    expected = table[IDS] @ w / L  # w · e_t / L, by hand
    for method, params in ((SAL, {}), (GXI, {}), (SG, {"samples": 8}), (IG, {"steps": 16})):
        out = method.explain(subject, 0, **params)
        assert out.feature_names == ("good", "film", "dull")
        np.testing.assert_allclose(out.values, expected, rtol=1e-5, atol=1e-7,
                                   err_msg=method.name)
    assert SAL.explain(subject, 0).params == {"token_reduce": "dot", "seed": 0}
    assert SG.explain(subject, 0, samples=8).params["token_reduce"] == "dot"


def test_norm_is_the_gradients_size_and_is_flat_on_a_pooled_model(bag):
    model, _, w = bag
    subject = _text(model, TEXT)
    for method in (SAL, SG):
        out = method.explain(subject, 0, token_reduce="norm")
        np.testing.assert_allclose(out.values, np.full(3, np.linalg.norm(w) / L), rtol=1e-5)
        assert out.params["token_reduce"] == "norm"
        note = flat_note(out.values, out.method, out.params)
        assert "token_reduce 'norm'" in note and "Gradient × input" in note
    # the old reading, the raw gradient summed over the dimension, was flat too: sum(w) / L
    space = gradient_space(subject, "Saliency")
    _, grads = space.gradients(space.point, 0)
    np.testing.assert_allclose(token_values(space, grads[0], None), np.full(3, w.sum() / L),
                               rtol=1e-5)
    dot = SAL.explain(subject, 0).values
    assert np.ptp(dot) > 0.1 * np.abs(dot).max() and flat_note(dot, "saliency",
                                                                 {"token_reduce": "dot"}) == ""


def test_ig_on_text_is_complete(bag):
    model, table, w = bag
    out = IG.explain(_text(model, TEXT), 0, steps=8)
    extras = out.extras
    f_x = float(model.predict(np.array([TEXT], dtype=object), verbose=0)[0, 0])
    assert extras["output"] == pytest.approx(f_x, rel=1e-5)
    assert extras["baseline_output"] == pytest.approx(0.25, abs=1e-6)  # all-zero embedding
    # padding positions hold the padding embedding: their share is w · e_pad / L each
    padding = (L - len(IDS)) * float(table[0] @ w) / L
    assert extras["padding_attribution"] == pytest.approx(padding, rel=1e-4, abs=1e-6)
    assert out.values.sum() + padding == pytest.approx(f_x - 0.25, rel=1e-5)


def test_a_bad_token_reduce_is_refused_and_other_kinds_do_not_claim_it(bag):
    model, _, _ = bag
    with pytest.raises(ValueError, match="token_reduce must be one of dot, norm.*'sum'"):
        SAL.explain(_text(model, TEXT), 0, token_reduce="sum")
    with pytest.raises(ValueError, match="token_reduce"):
        SG.explain(_text(model, TEXT), 0, token_reduce=2)
    import keras

    inp = keras.Input((4,))
    linear = keras.Model(inp, keras.layers.Dense(2)(inp))
    tabular = Subject(x=np.ones((1, 4), "float32"), kind="tabular",
                      predict_fn=make_predict_fn(linear), model=linear)
    assert SAL.explain(tabular, 0).params == {"seed": 0}
    assert "token_reduce" not in SG.explain(tabular, 0, samples=4).params
    assert SAL.choices(tabular) == {"token_reduce": []}  # the picker leaves it out
    assert SAL.choices(_text(model, TEXT)) == {"token_reduce": list(TOKEN_REDUCES)}
    assert SG.choices(_text(model, TEXT)) == {"token_reduce": ["dot", "norm"]}
    assert GXI.choices(_text(model, TEXT)) == {}


def test_global_text_saliency_reads_the_gradient_the_same_way(bag):
    from components.explain.global_importance import token_rows

    model, table, w = bag
    texts = np.array([TEXT, "bad plot"], dtype=object)
    rows = token_rows(model, texts, np.zeros(2, int), "regression", method="saliency")
    np.testing.assert_allclose(rows["values"][0, :3], table[IDS] @ w / L, rtol=1e-5)
    np.testing.assert_allclose(rows["values"][1, :2], table[[3, 5]] @ w / L, rtol=1e-5)


# ---------------------------------------------------------------- the bundled text model


@pytest.fixture(scope="module")
def sentiment():
    import keras

    sample = get_sample("sentiment_text")
    model = keras.saving.load_model(sample.model_path, safe_mode=True, compile=False)
    texts = pd.read_csv(sample.data_path)["text"].head(8).tolist()
    return model, texts


def test_sentiment_saliency_is_no_longer_one_colour(sentiment):
    model, texts = sentiment
    for text in texts:
        subject = _text(model, text)
        for method in (SAL, SG):
            values = method.explain(subject, 0).values
            assert values.size >= 2
            spread = np.ptp(values) / np.abs(values).max()
            assert spread > 10 * FLAT_TOLERANCE, (method.name, text, values)
        np.testing.assert_array_equal(SAL.explain(subject, 0).values,
                                      GXI.explain(subject, 0).values)


# ---------------------------------------------------------------- the token map


def _geometry(fig):
    bar = fig.data[0].colorbar
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    title = bar.title.text or ""
    title_px = (title.count("<br>") + 1) * 1.3 * bar.title.font.size if title else 0
    return bar, plot_px, bar.len - title_px - 2 * (10 if bar.ypad is None else bar.ypad)


@pytest.mark.parametrize("n", [1, 3, 8, 9, 20, 41])
def test_colour_bar_ticks_are_at_least_a_font_height_apart(n):
    tokens = [f"t{i}" for i in range(n)]
    for values in (np.linspace(-1, 2, n), np.ones(n)):  # with and without the flat note
        fig = token_heatmap(tokens, values)
        bar, plot_px, bar_px = _geometry(fig)
        assert bar.lenmode == "pixels" and 0 < bar.len <= plot_px
        assert len(bar.tickvals) == len(bar.ticktext) >= 3
        z = fig.data[0]
        at = (np.sort(bar.tickvals) - z.zmin) / (z.zmax - z.zmin) * bar_px
        assert np.diff(at).min() >= bar.tickfont.size, (n, at)


def test_a_flat_map_says_so_inside_the_figure():
    tokens = ["good", "film", "dull"]
    flat = token_heatmap(tokens, np.full(3, 0.2), title="Saliency")
    texts = [a.text for a in flat.layout.annotations]
    assert len(texts) == 1 and texts[0].startswith("Every token gets the same value")
    varied = token_heatmap(tokens, np.array([0.2, -0.1, 0.05]))
    assert not varied.layout.annotations
    assert flat.layout.height > varied.layout.height  # room for the note, same grid
    assert _geometry(flat)[1] == _geometry(varied)[1]
    named = token_heatmap(tokens, np.full(3, 0.2),
                          note=flat_note(np.full(3, 0.2), "smoothgrad", {"token_reduce": "norm"}))
    assert "SmoothGrad with token_reduce 'norm'" in named.layout.annotations[0].text.replace(
        "<br>", " ")
    assert not token_heatmap(tokens, np.full(3, 0.2), note="").layout.annotations
    zero = flat_note(np.zeros(3))
    assert zero.startswith("Every token gets 0")
    assert flat_note(np.array([1.0])) == "" and flat_note(np.array([1.0, 1.0 + 2e-3])) == ""
    assert flat_note(np.array([1.0, 1.0 + 5e-4])) != ""


# ---------------------------------------------------------------- picker, URL, CLI


def test_the_text_panel_shows_the_note_and_the_setting_comes_from_the_url():
    from apptest_support import new_app

    at = new_app(timeout=300)
    at.query_params["sample"] = "sentiment_text"
    at.query_params["methods"] = "saliency,gradxinput"
    at.query_params["params"] = json.dumps({"saliency": {"token_reduce": "norm"}})
    at.run()
    at.switch_page("views/explain.py").run()
    assert not at.exception, at.exception
    box = next(s for s in at.selectbox if s.label == "Saliency: token_reduce")
    assert box.value == "norm" and box.options == ["dot", "norm"]
    figures = {_title(c.spec): c.spec for c in page_charts.charts(at)}
    saliency = next(f for t, f in figures.items() if t.startswith("Saliency"))
    assert "Every token gets the same value" in saliency and "token_reduce 'norm'" in saliency
    times_input = next(f for t, f in figures.items() if t.startswith("Gradient × input"))
    assert "Every token gets" not in times_input
    assert any("token_reduce norm" in c.value.replace("\\", "") for c in at.caption)
    at.selectbox(key="model_choice").select("wine_classifier").run()  # tabular: not offered
    at.switch_page("views/explain.py").run()
    assert not any("token_reduce" in s.label for s in at.selectbox)
    assert not any("token_reduce" in t.label for t in at.text_input)


def _title(spec: str) -> str:
    title = json.loads(spec).get("layout", {}).get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title)


def test_cli_params_are_read_as_a_json_object_of_methods():
    from components.cli_inputs import method_params as _params
    from components.errors import GlassboxError

    assert _params(None) == {}
    assert _params('{"saliency": {"token_reduce": "norm"}}') == {
        "saliency": {"token_reduce": "norm"}}
    for bad, words in (("{", "not JSON"), ('["saliency"]', "JSON object"),
                       ('{"saliency": 3}', "JSON object"), ('{"nosuch": {}}', "nosuch")):
        with pytest.raises(GlassboxError, match=words):
            _params(bad)


def test_explain_all_passes_the_settings_on(sentiment):
    from components.errors import GlassboxError
    from components.explain.local import explain_all

    model, texts = sentiment
    subject = Subject(x=np.array([texts[0]], dtype=object), kind="text",
                      predict_fn=make_predict_fn(model), task="binary")
    explanation, _ = explain_all(model, subject, ["saliency"], None, 0,
                                 params={"saliency": {"token_reduce": "norm"}})
    attr = explanation.attributions["saliency"]
    assert attr.params["token_reduce"] == "norm" and (attr.values >= 0).all()
    with pytest.raises(GlassboxError, match="token_reduce must be one of dot, norm"):
        explain_all(model, subject, ["saliency"], None, 0,
                    params={"saliency": {"token_reduce": "cube"}})
