"""Models over token ids (an int input feeding an Embedding): detection, data, every method.

Tiny models are built here: a BiLSTM with ``mask_zero=True``, a small attention encoder, and
a linear bag of embeddings whose attributions are known exactly.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import keras
import numpy as np
import page_charts
import pandas as pd
import pytest

from components.data.checks import fit_dataset, model_input
from components.data.read import RawData, read_data_bytes
from components.data.tokens import TokenCodec, padding_side, read_vocabulary
from components.errors import DataError
from components.explain.local import bound, explain_sample, subject_for
from components.explain.methods import REGISTRY
from components.model.bundle import InputSpec
from components.model.summary import summarize
from components.model.token_input import TokenInput, token_input_of

L, V = 12, 50
VOCAB = ("[PAD]", "[UNK]", *(f"w{i}" for i in range(2, V)))


def bilstm() -> keras.Model:
    keras.utils.set_random_seed(1)
    i = keras.Input((L,), dtype="int32")
    e = keras.layers.Embedding(V, 8, mask_zero=True, name="embedding")(i)
    h = keras.layers.Bidirectional(keras.layers.LSTM(6))(e)
    return keras.Model(i, keras.layers.Dense(3, activation="softmax")(h), name="bilstm")


def encoder() -> keras.Model:
    keras.utils.set_random_seed(2)
    i = keras.Input((L,), dtype="int32")
    e = keras.layers.Embedding(V, 8)(i)
    a = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(e, e)
    x = keras.layers.LayerNormalization()(keras.layers.Add()([e, a]))
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(i, keras.layers.Dense(2, activation="softmax")(x), name="encoder")


def bag() -> keras.Sequential:
    """mean over positions of Embedding(id) . w: gradient x input per token is E[id] . w / L."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((L,), dtype="int32"), keras.layers.Embedding(V, 4),
                             keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)],
                            name="bag")


def ids_table(n: int = 30, side: str = "post", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, L), dtype=int)
    for r in range(n):
        k = int(rng.integers(3, L))
        if side == "post":
            ids[r, :k] = rng.integers(2, V, k)
        else:
            ids[r, L - k:] = rng.integers(2, V, k)
    table = pd.DataFrame(ids, columns=[f"tok_{j}" for j in range(L)])
    table["label"] = rng.integers(0, 2, n)
    return table


def spec_of(model) -> InputSpec:
    summary = summarize(model, "0" * 64)
    return InputSpec(shape=tuple(summary.inputs[0][1:]), dtype=summary.input_dtypes[0],
                     tokens=summary.token_input)


def dataset_of(model, table: pd.DataFrame, vocab=VOCAB, mask_id=None):
    raw = RawData("ids.csv", table=table)
    return fit_dataset(raw, spec_of(model), vocab=vocab, mask_id=mask_id)


# ---------------------------------------------------------------------------- detection


def test_token_input_is_read_from_the_model():
    assert token_input_of(bilstm()) == TokenInput(length=L, vocab_size=V, mask_zero=True,
                                                  embedding="embedding")
    assert token_input_of(encoder()).vocab_size == V
    assert token_input_of(bag()).length == L
    floats = keras.Sequential([keras.Input((L,)), keras.layers.Dense(2)])
    ints_no_embedding = keras.Sequential([keras.Input((L,), dtype="int32"),
                                          keras.layers.Dense(2)])
    assert token_input_of(floats) is None and token_input_of(ints_no_embedding) is None
    assert spec_of(bilstm()).kind == "text" and spec_of(floats).kind == "tabular"


# ---------------------------------------------------------------------------- the codec


@pytest.mark.parametrize("side", ["post", "pre"])
def test_token_text_encodes_back_to_the_same_ids(side):
    table = ids_table(side=side)
    ids = table.drop(columns="label").to_numpy()
    assert padding_side(ids) == side
    dataset = dataset_of(bilstm(), table)
    assert dataset.ok and dataset.kind == "text" and dataset.codec.side == side
    assert np.array_equal(model_input(dataset), ids)
    first = [t for t in dataset.x[0].split()]
    assert first == [VOCAB[i] for i in ids[0] if i != 0]


def test_masking_replaces_tokens_in_place_and_never_makes_an_id():
    codec = TokenCodec(TokenInput(L, V), VOCAB, mask_id=1, side="pre")
    tokens = ("w5", "w9", "w7")
    masks = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]])
    ids = codec.encode(codec.fill(tokens, masks))
    assert ids.tolist()[0][-3:] == [5, 1, 7] and ids.tolist()[1][-3:] == [1, 1, 1]
    assert ids.tolist()[2][-3:] == [5, 9, 7] and (ids[:, :-3] == 0).all()
    assert codec.positions("w5 w9 w7").tolist() == [L - 3, L - 2, L - 1]


def test_odd_vocabulary_entries_are_shown_by_id():
    vocab = ("", "[UNK]", "a b", "dup", "dup", "#7", "ok")
    codec = TokenCodec(TokenInput(4, 8), vocab)
    assert [codec.token(i) for i in range(8)] == ["#0", "[UNK]", "#2", "dup", "#4", "#5",
                                                  "ok", "#7"]
    ids = [3, 4, 2, 6]
    assert codec.encode([codec.decode(ids)]).tolist() == [ids]


def test_vocabulary_files():
    assert read_vocabulary(b"[PAD]\n[UNK]\nthe\n", "v.txt") == ("[PAD]", "[UNK]", "the")
    assert read_vocabulary(b'{"the": 2, "[PAD]": 0}', "v.json") == ("[PAD]", "", "the")
    assert read_vocabulary(b'["a", "b"]', "v.json") == ("a", "b")
    for data, name, message in [(b"{", "v.json", "not valid JSON"),
                                (b'{"a": -1}', "v.json", "token ids must be"),
                                (b"\xff\xfe", "v.txt", "UTF-8"), (b"", "v.txt", "empty"),
                                (b"x" * 300, "v.txt", "longer than 200")]:
        with pytest.raises(DataError, match=message):
            read_vocabulary(data, name)


# ---------------------------------------------------------------------------- data checks


def test_an_id_out_of_the_embedding_range_names_column_and_row():
    table = ids_table()
    table.iloc[3, 5] = V + 129
    dataset = dataset_of(bilstm(), table)
    assert not dataset.ok and dataset.x is None
    errors = [c.message for c in dataset.checks if c.level == "error"]
    assert errors == [f"column 'tok_5': id {V + 129} at row 4 is outside the Embedding's "
                      f"range 0..{V - 1}"]


@pytest.mark.parametrize("value, message", [(2.5, "not a whole number"),
                                            ("w3", "is not a token id"), (-1, "outside")])
def test_cells_that_are_not_ids_are_data_errors(value, message):
    table = ids_table().astype(object)
    table.iloc[0, 2] = value
    dataset = dataset_of(bilstm(), table)
    assert not dataset.ok and message in dataset.checks[-1].message


def test_a_column_count_other_than_the_length_is_an_error():
    dataset = dataset_of(bilstm(), ids_table().drop(columns="tok_0"))
    assert not dataset.ok and "reads 12 token ids per row, the data has 11" in \
        dataset.checks[-1].message


def test_a_text_column_is_read_through_the_vocabulary():
    table = pd.DataFrame({"text": ["W2 w3 zzz", "w4"], "label": [0, 1]})
    dataset = dataset_of(bilstm(), table)
    assert dataset.ok and list(dataset.x) == ["w2 w3 [UNK]", "w4"]
    assert model_input(dataset)[0, :4].tolist() == [2, 3, 1, 0]
    no_unk = dataset_of(bilstm(), table, vocab=tuple(v for v in VOCAB if v != "[UNK]"))
    assert not no_unk.ok and "first 'zzz' at row 1" in no_unk.checks[-1].message
    without = dataset_of(bilstm(), table, vocab=None)
    assert not without.ok and "upload its vocabulary" in without.checks[-1].message


def test_an_npz_int_array_is_read():
    ids = ids_table().drop(columns="label").to_numpy().astype("int32")
    buf = io.BytesIO()
    np.savez(buf, x=ids, y=np.arange(len(ids)) % 2)
    raw = read_data_bytes(buf.getvalue(), "ids.npz")
    dataset = fit_dataset(raw, spec_of(bilstm()))
    assert dataset.ok and dataset.x[0].startswith("#") and np.array_equal(model_input(dataset),
                                                                          ids)


# ---------------------------------------------------------------------------- methods


@pytest.fixture(scope="module", params=["bilstm", "encoder"])
def explained(request):
    model = {"bilstm": bilstm, "encoder": encoder}[request.param]()
    dataset = dataset_of(model, ids_table(), mask_id=1)
    subject = bound(model, subject_for(dataset, 2, "multiclass"))
    seen: list[np.ndarray] = []
    predict = subject.predict_fn

    def spying(texts):
        seen.append(subject.codec.encode(texts))
        return predict(texts)

    subject = subject.__class__(**{**subject.__dict__, "predict_fn": spying})
    methods = [m for m in REGISTRY if m != "gradcam"]
    return subject, explain_sample(subject, methods, seed=4), seen, methods


def test_every_method_gives_one_finite_value_per_token(explained):
    subject, explanation, _, methods = explained
    tokens = subject.codec.tokens(subject.sample)
    assert sorted(explanation.attributions) == sorted(methods), explanation.skipped
    for name, attr in explanation.attributions.items():
        assert attr.values.shape == (len(tokens),), name
        assert np.isfinite(attr.values).all(), name
        assert attr.feature_names in (None, tokens), name


def test_masks_only_use_the_sample_ids_and_the_mask_id(explained):
    subject, _, seen, _ = explained
    own = set(subject.codec.encode([subject.sample])[0].tolist())
    used = set(np.concatenate([s.ravel() for s in seen]).tolist())
    assert used <= own | {1, 0} and 1 in used
    assert all(((s >= 0) & (s < V)).all() for s in seen)


def test_methods_are_seeded(explained):
    subject, first, _, methods = explained
    again = explain_sample(subject, methods, seed=4)
    for name, attr in first.attributions.items():
        np.testing.assert_allclose(attr.values, again.attributions[name].values, rtol=1e-6,
                                   atol=1e-9, err_msg=name)


def test_ig_is_complete_over_the_tokens_and_leaves_padding_alone(explained):
    _, explanation, _, _ = explained
    extras = explanation.attributions["ig"].extras
    assert extras["completeness_error"] < 0.05
    assert extras["padding_attribution"] == 0.0


def test_gradient_x_input_of_a_bag_of_embeddings_is_exact():
    model = bag()
    dataset = dataset_of(model, ids_table(side="pre"))
    subject = bound(model, subject_for(dataset, 0, "regression"))
    attr = REGISTRY["gradxinput"].explain(subject, 0)
    ids = model_input(dataset)[0]
    table = np.asarray(model.layers[0].embeddings)
    w = np.asarray(model.layers[-1].kernel)[:, 0]
    positions = subject.codec.positions(subject.sample)
    expected = table[ids[positions]] @ w / L
    np.testing.assert_allclose(attr.values, expected, rtol=1e-5, atol=1e-7)
    # Saliency reads the gradient per token the same way (g · e), or as its norm on request
    np.testing.assert_allclose(REGISTRY["saliency"].explain(subject, 0).values, expected,
                               rtol=1e-5, atol=1e-7)
    norm = REGISTRY["saliency"].explain(subject, 0, token_reduce="norm").values
    np.testing.assert_allclose(norm, np.full(len(positions), np.linalg.norm(w) / L), rtol=1e-5)


def test_a_masked_embedding_gives_padding_no_gradient():
    model = bilstm()
    dataset = dataset_of(model, ids_table())
    subject = bound(model, subject_for(dataset, 0, "multiclass"))
    from components.explain.methods.gradients import gradient_space

    space = gradient_space(subject, "Saliency")
    out, grads = space.gradients(space.point, 0)
    n = len(space.tokens)
    assert np.abs(grads[0, n:]).max() == 0.0 and np.abs(grads[0, :n]).max() > 0
    direct = np.asarray(model(model_input(dataset)[:1]))[0, 0]
    assert out[0] == pytest.approx(direct, rel=1e-5)


# ---------------------------------------------------------------------------- the CLI


def test_cli_explains_a_token_csv_and_refuses_a_bad_id(tmp_path, repo_root):
    bilstm().save(tmp_path / "bilstm.keras")
    table = ids_table()
    table.to_csv(tmp_path / "ids.csv", index=False)
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    table.iloc[7, 3] = V
    table.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out.json"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "components", *map(str, args)],
                              cwd=repo_root, capture_output=True, text=True, timeout=600)

    ok = run("explain", tmp_path / "bilstm.keras", tmp_path / "ids.csv", "--row", "1",
             "--vocab", tmp_path / "vocab.txt", "--mask-id", "1", "--out", out)
    assert ok.returncode == 0, ok.stderr[-2000:]
    payload = json.loads(out.read_text())
    n = len(payload["features"])
    assert payload["features"][0].startswith("w") and n == int((table.iloc[1, :L] > 0).sum())
    assert {m: len(v["values"]) for m, v in payload["methods"].items()} == \
        {m: n for m in REGISTRY if m != "gradcam"}
    bad = run("explain", tmp_path / "bilstm.keras", tmp_path / "bad.csv", "--row", "1",
              "--out", tmp_path / "bad.json")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        f"error: column 'tok_3': id {V} at row 8 is outside the Embedding's range 0..{V - 1}")


# ---------------------------------------------------------------------------- the app


def test_every_page_serves_an_uploaded_sequence_model(tmp_path):
    """Explain shows one panel per method with the vocabulary's words; no page fails."""
    from apptest_support import new_app

    model = bilstm()
    model.save(tmp_path / "seq.keras")
    data = ids_table().to_csv(index=False).encode()
    at = new_app(timeout=300)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("seq.keras",
                                              (tmp_path / "seq.keras").read_bytes()).run()
    at.file_uploader(key="data_file").upload("ids.csv", data).run()
    at.file_uploader(key="vocab_file").upload("vocab.txt",
                                              ("\n".join(VOCAB) + "\n").encode()).run()
    at.switch_page("views/explain.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    methods = next(m for m in at.multiselect if m.label == "Methods")
    assert len(methods.value) == 6  # every method but Grad-CAM
    charts = page_charts.charts(at)
    assert len(charts) == 1 + 6 + 1
    first = ids_table().iloc[0, :L]
    words = [VOCAB[i] for i in first if i != 0]
    assert sum(all(w in c.spec for w in words) for c in charts) >= 6
    for page in ("overview", "architecture", "weights", "metrics", "global_view", "what_if",
                 "quality", "compare", "review"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
