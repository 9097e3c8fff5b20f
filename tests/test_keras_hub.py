"""KerasHub models: a tiny BertTextClassifier built here (own vocabulary, random weights, no
preset, no network) is accepted, loads as a string-input model, and explains word by word;
KerasHub configs that name what keras_hub did not register, or that smuggle code or files,
are refused with one line each, before Keras sees them.
"""

from __future__ import annotations

import importlib.metadata as metadata
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import page_charts
import pytest

from components.errors import UnsafeModelError
from components.model import keras_hub_classes, keras_hub_registry
from components.model.scan import scan_model_bytes

pytestmark = pytest.mark.slow  # a minute or more: see pyproject's markers

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "great",
              "bad", "good", "terrible", "a", "plot", "actor", "and", "!", ".", "##s"]
TEXTS = ["the movie was great", "bad plot and a terrible actor", "good"]
PROBES = ["a good movie", "the plot was terrible", "great actor !", "bad ."]
SEQUENCE_LENGTH = 16


def build_classifier(seed: int = 0):
    """A 2-layer, 16-wide BertTextClassifier with its preprocessor and tokenizer.

    Random weights give near-equal logits whatever the text (the pooled outputs differ by
    ~0.1 %), so the head is set to read only how a text's pooled output differs from the
    average over `TEXTS`, scaled to logits of a few units: words then move the probabilities
    (LIME and SHAP have something to find) without any training.
    """
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.tokenizers.BertTokenizer(vocabulary=VOCABULARY, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=SEQUENCE_LENGTH)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY), num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=SEQUENCE_LENGTH)
    model = keras_hub.models.BertTextClassifier(backbone, num_classes=2,
                                                preprocessor=preprocessor)
    pooled = np.asarray(backbone(preprocessor(TEXTS + PROBES))["pooled_output"])
    head = model.get_layer("logits")
    kernel, _ = head.get_weights()
    centred = (pooled - pooled.mean(axis=0)) @ kernel
    scale = 3.0 / np.std(centred[:, 1] - centred[:, 0])
    head.set_weights([kernel * scale, -scale * pooled.mean(axis=0) @ kernel])
    return model


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> dict:
    """The saved classifier's path and bytes, and its raw logits for `TEXTS`."""
    model = build_classifier()
    path = tmp_path_factory.mktemp("keras_hub") / "bert.keras"
    model.save(path)
    logits = np.asarray(model.predict(TEXTS, verbose=0), dtype=np.float64)
    return {"path": path, "data": path.read_bytes(), "logits": logits,
            "params": int(model.count_params())}


def rewrite(data: bytes, edit=None, extra: dict[str, bytes] | None = None) -> bytes:
    """A copy of a .keras archive with its config edited in place and members added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "config.json" and edit is not None:
                config = json.loads(blob)
                edit(config)
                blob = json.dumps(config).encode()
            dst.writestr(info.filename, blob)
        for name, blob in (extra or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


# ---------------------------------------------------------------- the allowlist


def test_the_allowlist_is_what_the_installed_keras_hub_registers():
    version, classes = keras_hub_registry.installed()
    assert version == keras_hub_classes.KERAS_HUB_VERSION
    assert classes == keras_hub_classes.CLASSES
    # The checked-in file is exactly what the generator writes (regenerate, do not hand-edit).
    assert keras_hub_registry.OUT.read_text() == keras_hub_registry.render(version, classes)


def test_the_allowlist_holds_text_classifiers_and_leaves_out_code_and_bases():
    names = set(keras_hub_classes.CLASSES)
    assert {"keras_hub>BertTextClassifier", "keras_hub>BertBackbone",
            "keras_hub>BertTextClassifierPreprocessor", "keras_hub>BertTokenizer",
            "keras_hub>DistilBertTextClassifier", "keras_hub>WordPieceTokenizer",
            "keras_hub>TransformerEncoder"} <= names
    # functions (upload_preset...), abstract bases, augmentation layers taking callables,
    # vision and generative families
    assert not names & {"keras_hub>upload_preset", "keras_hub>deserialize", "keras_hub>Task",
                        "keras_hub>Backbone", "keras_hub>Tokenizer", "keras_hub>RandomSwap",
                        "keras_hub>RandomDeletion", "keras_hub>PipelineModel",
                        "keras_hub>GPT2CausalLM", "keras_hub>ResNetBackbone"}
    for cls, module in keras_hub_classes.CLASSES.values():
        assert module.startswith("keras_hub.src.") and cls.isidentifier()


def test_the_selection_rule_keeps_only_registered_classes_of_text_families():
    class TextClassifier:  # stand-ins for keras_hub's classes
        pass

    def cls(name: str, module: str, base: type = object) -> type:
        return type(name, (base,), {"__module__": module})

    registry = {
        "keras_hub>FooTextClassifier": cls("FooTextClassifier", "keras_hub.src.models.foo.foo_tc",
                                           TextClassifier),
        "keras_hub>FooBackbone": cls("FooBackbone", "keras_hub.src.models.foo.foo_backbone"),
        "keras_hub>BarBackbone": cls("BarBackbone", "keras_hub.src.models.bar.bar_backbone"),
        "keras_hub>Task": cls("Task", "keras_hub.src.models.task"),
        "keras_hub>upload_preset": lambda: None,
        "keras_hub>Evil": cls("Evil", "evil.models.foo.evil"),
        "other>FooBackbone": cls("FooBackbone", "keras_hub.src.models.foo.foo_backbone"),
        "keras_hub>WordPieceTokenizer": cls("WordPieceTokenizer",
                                            "keras_hub.src.tokenizers.word_piece_tokenizer"),
        "keras_hub>Tokenizer": cls("Tokenizer", "keras_hub.src.tokenizers.tokenizer"),
    }
    assert set(keras_hub_registry.select(registry, TextClassifier)) == {
        "keras_hub>FooTextClassifier", "keras_hub>FooBackbone", "keras_hub>WordPieceTokenizer"}


# ---------------------------------------------------------------- accepted, loaded, explained


def test_the_scan_accepts_the_classifier_without_importing_keras(bert, repo_root):
    report = scan_model_bytes(bert["data"], "bert.keras")
    assert report.fmt == "keras"
    for cls in ("BertTextClassifier", "BertBackbone", "BertTextClassifierPreprocessor",
                "BertTokenizer"):
        assert report.classes[cls] == 1, cls
    code = ("import sys; from components.model.scan import scan_model_bytes; "
            f"scan_model_bytes(open({str(bert['path'])!r}, 'rb').read(), 'bert.keras'); "
            "print(sorted(m for m in ('keras', 'keras_hub', 'tensorflow') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def loaded(bert):
    from components.model.load import load_model_bytes

    return load_model_bytes(bert["data"], "bert.keras")


def test_it_loads_as_a_string_model_that_returns_probabilities(bert, loaded):
    from components.model.predict import make_predict_fn
    from components.model.summary import summarize

    model = loaded.model
    assert "string" in str(model.inputs[0].dtype) and tuple(model.inputs[0].shape) == (None,)
    scores = make_predict_fn(model)(np.array(TEXTS, dtype=object))
    assert scores.shape == (3, 2) and scores.dtype == np.float32
    # the softmax Glassbox appends over the classifier's logits
    expected = np.exp(bert["logits"]) / np.exp(bert["logits"]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(scores, expected, atol=5e-4)  # float32, amplified
    assert np.ptp(scores[:, 1]) > 0.01  # the texts do get different scores
    summary = summarize(model, loaded.sha256)
    assert summary.task == "multiclass" and summary.input_dtypes == ["string"]
    assert summary.total_params == bert["params"]
    classes = {row.class_name: row.parent for row in summary.layers}
    assert classes["BertBackbone"] == "bert_text_classifier"
    assert classes["ReversibleEmbedding"] == "bert_backbone"
    assert classes["Softmax"] is None


def _cli(repo_root: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "components", *map(str, args)],
                            cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture(scope="module")
def cli_runs(bert, repo_root, tmp_path_factory) -> dict:
    """inspect, and explain (lime, shap) twice with one seed, side by side (workers)."""
    folder = tmp_path_factory.mktemp("keras_hub_cli")
    data = folder / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"{t},{i % 2}\n" for i, t in enumerate(TEXTS)))
    procs = {"inspect": (_cli(repo_root, "inspect", bert["path"]), None)}
    for run, methods in (("explain", "lime,shap"), ("again", "lime,shap,saliency,ig")):
        out = folder / f"{run}.json"
        procs[run] = (_cli(repo_root, "explain", bert["path"], data, "--row", 1, "--methods",
                           methods, "--seed", 3, "--out", out), out)
    done = {}
    for name, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{name}: {stderr[-2000:]}"
        done[name] = json.loads(out.read_text() if out else stdout)
    return done


def test_cli_inspect_shows_a_text_classifier(cli_runs, bert):
    payload = cli_runs["inspect"]
    assert payload["sha256"] and payload["name"] == "bert_text_classifier"
    assert payload["task"] == "multiclass"
    assert payload["inputs"] == [[None]] and payload["outputs"] == [[None, 2]]
    assert payload["total_params"] == bert["params"]
    by_name = {layer["name"]: layer for layer in payload["layers"]}
    assert by_name["bert_backbone"]["class_name"] == "BertBackbone"
    assert by_name["token_embedding"]["parent"] == "bert_backbone"
    assert by_name["token_embedding"]["params"] == len(VOCABULARY) * 16


def test_cli_explains_word_by_word_deterministically(cli_runs):
    payload = cli_runs["explain"]
    words = TEXTS[1].split()
    assert payload["features"] == words
    assert set(payload["methods"]) == {"lime", "shap"} and payload["skipped"] == {}
    prediction = np.array(payload["prediction"])
    assert prediction.shape == (2,) and prediction.sum() == pytest.approx(1.0, abs=1e-5)
    assert payload["target"] == int(np.argmax(prediction))
    for name, entry in payload["methods"].items():
        values = np.array(entry["values"], dtype=float)
        assert values.shape == (len(words),) and np.isfinite(values).all(), name
        assert np.abs(values).max() > 1e-4, name  # the words matter to this model
        assert entry["params"]["seed"] == 3
    shap = payload["methods"]["shap"]
    total = shap["base_value"] + sum(shap["values"])
    assert total == pytest.approx(prediction[payload["target"]], abs=1e-4)
    # the same seed, the same numbers
    again = cli_runs["again"]
    for name in ("lime", "shap"):
        assert again["methods"][name]["values"] == payload["methods"][name]["values"], name


def test_cli_gradients_are_per_word_too(cli_runs):
    payload = cli_runs["again"]
    assert payload["skipped"] == {} and payload["features"] == TEXTS[1].split()
    for name in ("saliency", "ig"):
        values = np.array(payload["methods"][name]["values"], dtype=float)
        assert values.shape == (len(TEXTS[1].split()),) and np.isfinite(values).all(), name
    assert payload["methods"]["ig"]["completeness_error"] < 0.05  # auto steps, on a budget


@pytest.mark.parametrize("num_classes, activation, last, task", [
    (2, "softmax", "BertTextClassifier", "multiclass"),  # already probabilities: no layer
    (1, None, "Activation", "binary"),                    # one logit: a sigmoid
    (3, None, "Softmax", "multiclass"),
])
def test_the_head_gets_the_activation_that_makes_probabilities(num_classes, activation, last,
                                                               task):
    import keras
    import keras_hub

    from components.model.keras_hub_text import as_text_model
    from components.model.task import detect_task

    tokenizer = keras_hub.tokenizers.BertTokenizer(vocabulary=VOCABULARY)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY), num_layers=1, num_heads=1, hidden_dim=8,
        intermediate_dim=8, max_sequence_length=8)
    classifier = keras_hub.models.BertTextClassifier(
        backbone, num_classes=num_classes, activation=activation,
        preprocessor=keras_hub.models.BertTextClassifierPreprocessor(tokenizer,
                                                                     sequence_length=8))
    model = as_text_model(classifier)
    assert isinstance(model, keras.Model) and model is not classifier
    assert type(model.layers[-1]).__name__ == last and detect_task(model) == task
    scores = np.asarray(model(np.array(TEXTS, dtype=object)))
    assert scores.shape == (3, num_classes) and ((scores >= 0) & (scores <= 1)).all()
    if num_classes > 1:
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_other_models_are_left_as_they_are(loaded_samples):
    from components.model.keras_hub_text import as_text_model

    model = loaded_samples["sentiment_text"].model
    assert as_text_model(model) is model


# ---------------------------------------------------------------- gradients per word


GRADIENT_METHODS = ("saliency", "gradxinput", "ig", "smoothgrad")


def _subject(loaded, text: str):
    from components.explain.methods import Subject
    from components.model.predict import make_predict_fn

    return Subject(x=np.array([text], dtype=object), kind="text",
                   predict_fn=make_predict_fn(loaded.model), model=loaded.model)


def test_word_positions_sum_the_pieces_of_each_word():
    from components.explain.methods.keras_hub_gradients import word_positions

    empty = np.array([2, 3, 0, 0, 0, 0])  # [CLS] [SEP] and padding
    ids = np.array([2, 9, 6, 18, 3, 0])   # [CLS] bad movie ##s [SEP]
    assert word_positions(ids, empty, [1, 2]) == ((1,), (2, 3))
    cut = np.array([2, 9, 6, 18, 7, 3])   # "bad movies was great": "great" was cut
    assert word_positions(cut, empty, [1, 2, 1, 1]) == ((1,), (2, 3), (4,), ())


def test_a_word_split_into_pieces_gets_their_positions(loaded):
    from components.explain.methods.keras_hub_gradients import word_space

    space = word_space(_subject(loaded, "bad movies was great"))
    assert space.tokens == ("bad", "movies", "was", "great")
    assert space.pieces == ((1,), (2, 3), (4,), (5,))  # [CLS] bad movie ##s was great [SEP]
    assert space.point.shape == (1, SEQUENCE_LENGTH, 16)


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_gradient_methods_give_one_value_per_word(loaded, method):
    from components.explain.methods import REGISTRY

    text = "bad movies and a terrible actor"
    subject = _subject(loaded, text)
    explainer = REGISTRY[method]
    assert explainer.unavailable(subject) is None
    scores = subject.predict_fn(subject.x)[0]
    target = int(np.argmax(scores))
    # IG: enough steps to converge; SmoothGrad: this model's head magnifies the tiny
    # differences random weights make between texts, so the default 10 % noise saturates it
    params = {"ig": {"steps": 128}, "smoothgrad": {"noise": 0.002}}.get(method, {})
    first = explainer.explain(subject, target, seed=2, **params)
    values = np.asarray(first.values)
    assert values.shape == (len(text.split()),) and np.isfinite(values).all()
    assert np.abs(values).max() > 1e-4 and first.feature_names == tuple(text.split())
    if method in ("saliency", "smoothgrad"):  # on request, the gradient's L2 norm per word
        norm = explainer.explain(subject, target, seed=2, token_reduce="norm", **params)
        assert (norm.values > 0).all() and norm.params["token_reduce"] == "norm"
    if method == "saliency":  # by default g · e per word: what Gradient x input gives
        np.testing.assert_allclose(values, REGISTRY["gradxinput"].explain(
            subject, target).values, rtol=1e-6, atol=1e-9)
    again = explainer.explain(subject, target, seed=2, **params)
    np.testing.assert_array_equal(values, again.values)
    if method == "ig":
        # the model run on its own token embeddings gives the prediction, and the words
        # plus the start/end/padding positions add up to f(x) - f(all-zero embeddings)
        extras = first.extras
        # float32 through two graphs (from token ids, from embeddings): 6e-5 apart on
        # one machine's kernels, 1e-6 on another's
        assert extras["output"] == pytest.approx(float(scores[target]), abs=5e-4)
        moved = extras["output"] - extras["baseline_output"]
        total = values.sum() + extras["padding_attribution"]
        assert total == pytest.approx(moved, abs=0.01 * abs(moved) + 1e-6)
        assert extras["completeness_error"] < 0.01


def _distil_bert():
    import keras_hub

    tokenizer = keras_hub.tokenizers.DistilBertTokenizer(vocabulary=VOCABULARY)
    backbone = keras_hub.models.DistilBertBackbone(
        vocabulary_size=len(VOCABULARY), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=12)
    return keras_hub.models.DistilBertTextClassifier(
        backbone, num_classes=2,
        preprocessor=keras_hub.models.DistilBertTextClassifierPreprocessor(
            tokenizer, sequence_length=12))


def _roberta():
    """Byte-pair tokens ("Ġ" marks a space), pad id 1, <s> and </s> around the text."""
    import keras_hub

    merges = ["Ġ m", "Ġm o", "Ġmo v", "i e", "Ġmov ie", "Ġ w", "Ġw a", "Ġwa s", "Ġ g",
              "Ġg r", "Ġgr e", "Ġgre a", "Ġgrea t", "Ġ b", "Ġb a", "Ġba d", "t h", "th e"]
    vocabulary = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    for rule in merges:
        left, right = rule.split()
        for token in (left, right, left + right):
            vocabulary.setdefault(token, len(vocabulary))
    tokenizer = keras_hub.tokenizers.RobertaTokenizer(vocabulary=vocabulary, merges=merges)
    backbone = keras_hub.models.RobertaBackbone(
        vocabulary_size=len(vocabulary), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=12)
    return keras_hub.models.RobertaTextClassifier(
        backbone, num_classes=2,
        preprocessor=keras_hub.models.RobertaTextClassifierPreprocessor(
            tokenizer, sequence_length=12))


@pytest.mark.parametrize("build, first_id", [(_distil_bert, 2), (_roberta, 0)])
def test_other_families_load_and_explain_per_word(tmp_path, build, first_id):
    """DistilBERT (no segment ids) and RoBERTa (byte pairs, pad id 1) through the same path."""
    from components.explain.methods import REGISTRY
    from components.explain.methods.keras_hub_gradients import word_space
    from components.model.load import load_model_bytes

    build().save(tmp_path / "model.keras")
    data = (tmp_path / "model.keras").read_bytes()
    assert scan_model_bytes(data, "model.keras").classes
    model = load_model_bytes(data, "model.keras").model
    text = "the movie was great bad"
    subject = _subject(type("Loaded", (), {"model": model}), text)
    space = word_space(subject, "Integrated Gradients")
    assert space.ids[0, 0] == first_id  # [CLS] / <s>
    assert space.pieces == ((1,), (2,), (3,), (4,), (5,))
    for method in ("saliency", "gradxinput", "ig"):
        values = np.asarray(REGISTRY[method].explain(subject, 1, seed=0).values)
        assert values.shape == (5,) and np.isfinite(values).all(), method


def test_gradcam_is_still_skipped_for_text(loaded):
    from components.explain.methods import REGISTRY

    assert "images only" in REGISTRY["gradcam"].unavailable(_subject(loaded, "good"))


# ---------------------------------------------------------------- refused


def _top(config: dict) -> dict:
    return config


def _backbone(config: dict) -> dict:
    return config["config"]["backbone"]


def _tokenizer(config: dict) -> dict:
    return config["config"]["preprocessor"]["config"]["tokenizer"]


LAMBDA = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
          "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {
              "code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}}}
GELU = {"module": "keras_hub.src.utils.keras_utils", "class_name": "function",
        "registered_name": "keras_hub>gelu_approximate", "config": "gelu_approximate"}

# name -> (edit of config.json, a distinctive part of the one-line refusal)
REFUSED = {
    "unregistered_class": (
        lambda c: _top(c).update(class_name="NotAClass",
                                 registered_name="keras_hub>NotAClass"),
        "class 'NotAClass' 'bert_text_classifier' is registered as 'keras_hub>NotAClass', "
        "which is not a KerasHub class on the allowlist"),
    "module_outside_the_library": (
        lambda c: _top(c).update(module="keras_hub.evil"),
        "BertTextClassifier 'bert_text_classifier' names module 'keras_hub.evil', but "
        "KerasHub's BertTextClassifier is defined in "
        "'keras_hub.src.models.bert.bert_text_classifier'"),
    "module_os": (
        lambda c: _backbone(c).update(module="os"),
        "BertBackbone 'bert_backbone' names module 'os', but KerasHub's BertBackbone is "
        "defined in 'keras_hub.src.models.bert.bert_backbone'"),
    "module_of_another_class": (
        lambda c: _backbone(c).update(module="keras_hub.src.models.bert.bert_tokenizer"),
        "names module 'keras_hub.src.models.bert.bert_tokenizer', but KerasHub's BertBackbone"),
    "keras_hub_module_without_registration": (
        lambda c: _backbone(c).update(module="keras_hub.src.utils.preset_utils",
                                      class_name="upload_preset", registered_name=None),
        "upload_preset 'bert_backbone' comes from module 'keras_hub.src.utils.preset_utils' "
        "but is not registered as a KerasHub class"),
    "registered_name_of_another_class": (
        lambda c: _tokenizer(c).update(class_name="BertBackbone"),
        "BertBackbone 'bert_tokenizer' claims the registered name 'keras_hub>BertTokenizer', "
        "which is KerasHub's BertTokenizer"),
    "registered_function": (
        lambda c: _backbone(c)["config"].update(activation=GELU),
        "class 'function' is registered as 'keras_hub>gelu_approximate', which is not a "
        "KerasHub class on the allowlist"),
    "lambda_inside": (
        lambda c: c["config"].update(backbone=LAMBDA),
        "layer 'evil' is refused: a Lambda layer holds Python code"),
    "lambda_as_a_keras_hub_class": (
        lambda c: _backbone(c).update(class_name="Lambda"),
        "layer 'bert_backbone' is refused: a Lambda layer holds Python code"),
    "vocabulary_from_a_path": (
        lambda c: _tokenizer(c)["config"].update(vocabulary="/etc/passwd"),
        "reads its vocabulary from path '/etc/passwd'"),
    "proto_from_a_path": (
        lambda c: _tokenizer(c)["config"].update(proto="/etc/shadow"),
        "a tokenizer reads its 'proto' from path '/etc/shadow'"),
    "huge_token_embedding": (
        lambda c: _backbone(c)["config"].update(vocabulary_size=900_000, hidden_dim=900_000),
        "BertBackbone 'bert_backbone': vocabulary_size x width = 900,000 x 900,000 = "
        "810,000,000,000 values"),
    "too_many_layers": (
        lambda c: _backbone(c)["config"].update(num_layers=1_000_000, hidden_dim=1024,
                                                intermediate_dim=4096),
        "num_layers x width x (4 width + 2 intermediate_dim)"),
}


def test_the_unedited_archive_passes(bert):
    """The control: each refusal below is caused by its edit, not by the rewriting."""
    assert scan_model_bytes(rewrite(bert["data"], lambda c: None), "bert.keras").classes


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_its_one_line_message(bert, name):
    edit, message = REFUSED[name]
    with pytest.raises(UnsafeModelError) as caught:
        scan_model_bytes(rewrite(bert["data"], edit), "bert.keras")
    text = str(caught.value)
    assert message in text
    assert "\n" not in text and len(text) < 300


def test_a_file_outside_assets_is_refused(bert):
    data = rewrite(bert["data"], extra={"preprocessor/tokenizer/vocabulary.txt": b"[PAD]\n"})
    with pytest.raises(UnsafeModelError, match=re.escape(
            "unexpected archive member 'preprocessor/tokenizer/vocabulary.txt'")):
        scan_model_bytes(data, "bert.keras")
    # the same file under assets/ is where the tokenizer keeps it
    scan_model_bytes(rewrite(bert["data"], extra={"assets/extra.txt": b"x"}), "bert.keras")


def test_the_cli_refuses_with_one_error_line(bert, repo_root, tmp_path):
    path = tmp_path / "evil.keras"
    path.write_bytes(rewrite(bert["data"], REFUSED["module_os"][0]))
    proc = subprocess.run([sys.executable, "-m", "components", "inspect", path],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "module 'os'" in lines[0]


# ---------------------------------------------------------------- dependencies


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)==([\w.]+)", line.strip()):
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_keras_hub_and_what_it_needs_are_pinned_and_installed(repo_root):
    from packaging.requirements import Requirement

    runtime = _pins(repo_root / "requirements.txt")
    nodeps = _pins(repo_root / "requirements-nodeps.txt")
    assert set(nodeps) == {"keras-hub", "tensorflow-text"}
    for line in (repo_root / "requirements-nodeps.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or "==" in line, line
    for name, version in nodeps.items():
        assert metadata.version(name) == version, name
    for name in ("tokenizers", "sentencepiece", "regex", "kagglehub", "kagglesdk", "pyyaml"):
        assert metadata.version(name) == runtime[name], name
    # Everything keras-hub and tensorflow-text require is installed at a matching version;
    # tensorflow-text's `tensorflow` is tensorflow-cpu, the full package is not installed.
    for dist in nodeps:
        for text in metadata.requires(dist) or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            name = "tensorflow-cpu" if req.name == "tensorflow" else req.name
            assert req.specifier.contains(metadata.version(name), prereleases=True), text
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("tensorflow")


# ---------------------------------------------------------------- the app


def test_every_page_serves_an_uploaded_keras_hub_classifier(bert):
    """Explain shows a panel per method (all but Grad-CAM) over the words; no page fails."""
    from apptest_support import new_app

    data = ("text,label\n" + "".join(f"{t},{i % 2}\n" for i, t in enumerate(TEXTS))).encode()
    at = new_app(timeout=300)
    at.run()
    at.selectbox(key="model_choice").select("__upload__").run()
    at.file_uploader(key="model_file").upload("bert.keras", bert["data"]).run()
    at.file_uploader(key="data_file").upload("reviews.csv", data).run()
    at.switch_page("views/explain.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    methods = next(m for m in at.multiselect if m.label == "Methods")
    assert len(methods.value) == 6  # every method but Grad-CAM
    charts = page_charts.charts(at)
    assert len(charts) == 1 + 6 + 1
    words = TEXTS[0].split()
    assert sum(all(w in c.spec for w in words) for c in charts) >= 6
    for page in ("overview", "architecture", "weights", "metrics", "global_view", "what_if",
                 "quality", "compare", "review"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
