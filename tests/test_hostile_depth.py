"""Defence in depth and clean failure (security issue 14).

* the HDF5 walk has cheap bounds (links in the file and per group, attributes per object,
  each object once), so a file of hard links is refused in well under a second;
* every compile_config (the top-level one and each nested model's) names built-in Keras
  optimizers, losses and metrics only: Keras builds a nested model's even with compile=False;
* size keys whose product sizes one weight (EinsumDense, attention, recurrent, conv) are
  capped before a worker allocates;
* a worker killed mid-load leaves no copy of the upload behind;
* one explanation method failing on a sample never costs the others;
* a failed load says Keras' specific reason, not its generic wrapper.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import signal
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

import hostile
from components.errors import DataError, GlassboxError, UnsafeModelError
from components.explain.local import explain_sample
from components.explain.methods import REGISTRY
from components.model import allowlist as allow
from components.model import scan, worker
from components.model.load import load_model_bytes, sha256_hex
from components.model.predict import scores_of
from components.model.scan import check_config, scan_model_bytes

LIMIT_TEXT = "one weight may hold at most 268,435,456 (1024 MiB of float32)"


def refused(data: bytes, filename: str = "model.keras") -> str:
    """The one-line message the static scan refuses ``data`` with (and the loader agrees)."""
    with pytest.raises(UnsafeModelError) as caught:
        scan_model_bytes(data, filename)
    message = str(caught.value)
    assert "\n" not in message and len(message) <= 300, message
    with pytest.raises(UnsafeModelError, match="."):
        load_model_bytes(data, filename)  # refused before Keras sees it
    return message


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("depth")
    plain = hostile.save(hostile.plain_model(), tmp)
    plain_h5 = hostile.save(hostile.plain_model(), tmp, ".h5")
    return {
        "tmp": tmp,
        "plain": plain,
        "plain_h5": plain_h5,
        "compiled": hostile.save(hostile.compiled_model(), tmp),
        "compiled_h5": hostile.save(hostile.compiled_model(), tmp, ".h5"),
        "nested": hostile.save(hostile.nested_compiled_model(), tmp),
    }


# ---------------------------------------------------------------- HDF5 bounds


@pytest.fixture(scope="module")
def hard_links(built) -> bytes:
    """A legacy .h5 model whose file also holds 200,000 hard links to one dataset."""
    return hostile.h5_bytes(built["tmp"], hostile.many_hard_links(200_000),
                            base=built["plain_h5"])


def test_200k_hard_links_are_refused_at_once(hard_links):
    start = time.monotonic()
    message = refused(hard_links, "model.h5")
    assert time.monotonic() - start < 5
    assert message == "HDF5 group '/links0' holds over 10,000 entries; the limit is 10,000"
    start = time.monotonic()
    with pytest.raises(UnsafeModelError):
        scan_model_bytes(hard_links, "model.h5")
    assert time.monotonic() - start < 1  # the walk stops at the bound, it never lists them all


def test_hard_links_inside_a_keras_weights_file_are_refused(built):
    weights = hostile.h5_bytes(built["tmp"], hostile.many_hard_links(12_000),
                               base=hostile.weights_member(built["plain"]))
    data = hostile.rewrite_zip(built["plain"], replace={"model.weights.h5": weights})
    assert refused(data) == ("HDF5 group '/links0' holds over 10,000 entries; the limit is "
                             "10,000")


def test_links_over_the_whole_file_budget_are_refused(built):
    """6 groups of 9,000 links: each group under its bound, the file over its own."""
    data = hostile.h5_bytes(built["tmp"], hostile.many_hard_links(54_000, groups=6),
                            base=built["plain_h5"])
    start = time.monotonic()
    message = refused(data, "model.h5")
    assert time.monotonic() - start < 5
    assert message == "the HDF5 file holds over 50,000 objects; the limit is 50,000"


def test_too_many_attributes_on_one_object_are_refused(built):
    data = hostile.h5_bytes(built["tmp"], hostile.many_attributes(100), base=built["plain_h5"])
    assert refused(data, "model.h5") == ("HDF5 object '/tagged' has 100 attributes; the limit "
                                         "is 64")


def test_a_hard_link_cycle_is_walked_once(built):
    """A group linking back to the root: each object is opened once, so the walk ends."""
    data = hostile.h5_bytes(built["tmp"], hostile.hard_link_cycle, base=built["plain_h5"])
    start = time.monotonic()
    assert scan_model_bytes(data, "model.h5").fmt == "h5"
    assert time.monotonic() - start < 2


def test_a_free_list_cycle_is_stopped_by_the_bounded_scan(built):
    """One corrupted heap field makes HDF5 loop in C, where no in-walk bound can reach; the
    scan's child process (`components.model.bounded`) is what stops it."""
    from components.model.bounded import Limits, run_bounded
    from components.model.load import check_model_bytes

    data = hostile.heap_free_list_cycle(built["plain_h5"])
    assert len(data) < 50_000
    start = time.monotonic()
    with pytest.raises(GlassboxError) as caught:
        run_bounded(check_model_bytes, data, "model.h5", what="model.h5",
                    limits=Limits(seconds=3, memory_mb=512))
    assert time.monotonic() - start < 20
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_mobilenet_v2_is_far_inside_the_bounds(tmp_path, suffix):
    """A yardstick of the limits: a MobileNetV2 has 576 HDF5 links (156 in its largest
    group) and Keras writes at most 4 attributes per object (NASNetLarge, the deepest
    keras.application, has 4,624 links, 1,042 in one group: too slow to build here); its
    conv kernels pass the size rules."""
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=5)
    data = hostile.save(model, tmp_path, suffix)
    report = scan_model_bytes(data, f"model{suffix}")
    assert report.classes["Conv2D"] > 30 and report.classes["DepthwiseConv2D"] > 10


# ---------------------------------------------------------------- compile configs

LAMBDA_MESSAGE = "its loss is Python code (a lambda); only built-in Keras losses are accepted"

# name -> (which built file, the edit, the expected message)
COMPILE_CASES = {
    "lambda_loss": ("compiled", hostile.set_compile("loss", hostile.LAMBDA_LOSS),
                    f"the compile config of 'plain': {LAMBDA_MESSAGE}"),
    "lambda_loss_nested": ("nested", hostile.set_compile("loss", hostile.LAMBDA_LOSS, "inner"),
                           f"the compile config of 'inner': {LAMBDA_MESSAGE}"),
    "lambda_loss_per_output": ("nested", hostile.set_compile(
        "loss", {"out": hostile.LAMBDA_LOSS}, "inner"),
        f"the compile config of 'inner': {LAMBDA_MESSAGE}"),
    "registered_loss": ("nested", hostile.set_compile("loss", hostile.CUSTOM_LOSS, "inner"),
                        "the compile config of 'inner': loss 'FocalX' is registered as custom "
                        "object 'glassbox_test>FocalX'; only built-in Keras losses are accepted"),
    "custom_loss_name": ("compiled", hostile.set_compile("loss", "glassbox_test>focal"),
                         "the compile config of 'plain': loss 'glassbox_test>focal' is not a "
                         "built-in Keras loss"),
    "custom_metric_function": ("nested", hostile.set_compile("metrics", ["accuracy", {
        "module": "builtins", "class_name": "function", "config": "my_metric",
        "registered_name": "function"}], "inner"),
        "the compile config of 'inner': metric function 'my_metric' from 'builtins' is not a "
        "built-in Keras metric"),
    "metric_from_os": ("nested", hostile.set_compile("weighted_metrics", [{
        "module": "os", "class_name": "system", "config": {}, "registered_name": None}],
        "inner"), "the compile config of 'inner': metric 'system' comes from module 'os'"),
    "tfsm_optimizer": ("nested", hostile.set_compile("optimizer", hostile.TFSM_OPTIMIZER,
                                                     "inner"),
                       "the compile config of 'inner': optimizer TFSMLayer is refused: a "
                       "TFSMLayer loads a TensorFlow SavedModel from disk"),
    "unknown_optimizer": ("compiled", hostile.set_compile("optimizer",
                                                          hostile.UNKNOWN_OPTIMIZER),
                          "the compile config of 'plain': optimizer 'Sneaky' is not a built-in "
                          "Keras optimizer"),
    "lambda_in_schedule": ("nested", hostile.set_compile("optimizer", {
        "module": "keras.optimizers", "class_name": "Adam", "registered_name": None,
        "config": {"name": "adam", "learning_rate": hostile.LAMBDA_LOSS}}, "inner"),
        "the compile config of 'inner': its optimizer is Python code (a lambda)"),
    "object_in_loss_weights": ("nested", hostile.set_compile(
        "loss_weights", [hostile.TFSM_OPTIMIZER], "inner"),
        "the compile config of 'inner': 'loss_weights' holds an object ('TFSMLayer'); only "
        "plain values are accepted there"),
    "compile_config_a_list": ("nested", lambda c: hostile.layer(c, "inner").update(
        compile_config=[hostile.TFSM_OPTIMIZER]),
        "the compile config of 'inner' is not a plain mapping of compile arguments"),
}


@pytest.mark.parametrize("name", list(COMPILE_CASES))
def test_compile_configs_name_built_in_objects_only(built, name):
    base, edit, text = COMPILE_CASES[name]
    message = refused(hostile.rewrite_zip(built[base], edit))
    assert message.startswith(text), message


def test_a_lambda_loss_in_a_legacy_h5_config_is_refused(built):
    config = hostile.h5_config(built["plain_h5"])
    hostile.set_compile("loss", hostile.LAMBDA_LOSS)(config)
    data = hostile.h5_bytes(built["tmp"], hostile.nothing, base=built["plain_h5"],
                            config=config)
    assert refused(data, "model.h5") == f"the compile config of 'plain': {LAMBDA_MESSAGE}"


@pytest.mark.parametrize("name", ["compiled", "compiled_h5", "nested"])
def test_normally_compiled_models_still_pass_and_load(built, name):
    """Adam, sparse categorical cross-entropy and accuracy, top-level and nested."""
    filename = "model.h5" if name.endswith("h5") else "model.keras"
    assert scan_model_bytes(built[name], filename).classes["Dense"] == 1
    model = load_model_bytes(built[name], filename).model
    assert model.count_params() == 4 * 3 + 3
    if name == "nested":
        assert model.get_layer("inner").compiled  # what the check guards: Keras compiled it


def _instances() -> dict[str, object]:
    """One instance of every allowed loss, metric, optimizer and schedule, default-made where
    the constructor allows (the rest get the arguments they need)."""
    needs = {
        "IoU": {"num_classes": 3, "target_class_ids": [0]}, "MeanIoU": {"num_classes": 3},
        "OneHotIoU": {"num_classes": 3, "target_class_ids": [0]},
        "OneHotMeanIoU": {"num_classes": 3}, "PrecisionAtRecall": {"recall": 0.5},
        "RecallAtPrecision": {"precision": 0.5}, "SensitivityAtSpecificity": {
            "specificity": 0.5}, "SpecificityAtSensitivity": {"sensitivity": 0.5},
        "MeanMetricWrapper": {"fn": keras.metrics.mean_squared_error},
        "LossScaleOptimizer": {"inner_optimizer": keras.optimizers.SGD()},
        "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10,
                             "decay_rate": 0.5},
        "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10,
                             "decay_rate": 0.5},
        "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
        "CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 10},
        "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
        "PiecewiseConstantDecay": {"boundaries": [1], "values": [0.1, 0.01]},
    }
    out = {}
    for module, names in ((keras.losses, allow.LOSSES), (keras.metrics, allow.METRICS),
                          (keras.optimizers, allow.OPTIMIZERS),
                          (keras.optimizers.schedules, allow.LR_SCHEDULES)):
        for name in sorted(names):
            out[f"{module.__name__}.{name}"] = getattr(module, name)(**needs.get(name, {}))
    return out


def test_every_built_in_training_object_passes_as_keras_writes_it():
    """Zero false refusals: each allowed class and function, serialised by Keras, in the part
    of a compile config it belongs to (a schedule as an optimizer's learning rate)."""
    serialize = keras.saving.serialize_keras_object
    container = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                 "config": {"name": "m", "layers": []}}
    parts = {"keras.losses": "loss", "keras.metrics": "metrics",
             "keras.optimizers": "optimizer"}
    for name, obj in _instances().items():
        module = name.rsplit(".", 1)[0]
        if module == "keras.optimizers.schedules":
            part, value = "optimizer", serialize(keras.optimizers.Adam(learning_rate=obj))
        else:
            part, value = parts[module], serialize(obj)
        check_config({**container, "compile_config": {part: value}})
    functions = [*(getattr(keras.losses, n) for n in sorted(allow.LOSS_FUNCTIONS)),
                 *(getattr(keras.metrics, n) for n in sorted(allow.METRIC_FUNCTIONS))]
    check_config({**container, "compile_config": {
        "loss": serialize(keras.losses.mean_squared_error),
        "metrics": [serialize(fn) for fn in functions],
        "optimizer": "Adam", "loss_weights": [1.0], "jit_compile": False}})
    names = sorted(allow.COMPILE_NAMES["metric"]) + ["ACC", "Accuracy"]
    check_config({**container, "compile_config": {
        "loss": sorted(allow.COMPILE_NAMES["loss"]) + ["CE", "crossentropy"],
        "metrics": names, "weighted_metrics": {"out": names}}})


def _public(module: object, kind: str) -> set[str]:
    test = inspect.isclass if kind == "class" else inspect.isfunction
    return {name for name in dir(module)
            if not name.startswith("_") and test(getattr(module, name))}


def test_the_compile_allowlists_match_keras_public_names():
    """The hard-coded lists (the scan never imports Keras) against Keras itself: a Keras
    upgrade that adds or removes a built-in fails here until the list follows."""
    helpers = {"get", "serialize", "deserialize"}
    assert _public(keras.losses, "class") - {"Loss"} == allow.LOSSES
    assert _public(keras.losses, "function") - helpers == allow.LOSS_FUNCTIONS
    assert _public(keras.metrics, "class") - {"Metric"} == allow.METRICS
    assert _public(keras.metrics, "function") - helpers == allow.METRIC_FUNCTIONS
    assert _public(keras.optimizers, "class") - {
        "Optimizer", "MultiOptimizer", "OptimizerMap"} == allow.OPTIMIZERS
    assert _public(keras.optimizers.schedules, "class") - {
        "LearningRateSchedule"} == allow.LR_SCHEDULES
    # The names Keras resolves from a plain string: all allowed but the abstract bases and
    # the wrappers that cannot be built from a name alone.
    from keras.src import losses, metrics, optimizers

    assert set(losses.ALL_OBJECTS_DICT) - allow.COMPILE_NAMES["loss"] == {
        "Loss", "LossFunctionWrapper"}
    assert set(metrics.ALL_OBJECTS_DICT) - allow.COMPILE_NAMES["metric"] == {
        "Metric", "metric", "mean_metric_wrapper"}
    assert set(losses.ALL_OBJECTS_DICT) | set(metrics.ALL_OBJECTS_DICT) >= \
        allow.LOSS_ALIASES | allow.METRIC_ALIASES
    assert set(optimizers.ALL_OBJECTS_DICT) - allow.OPTIMIZER_NAMES == {
        "optimizer", "lossscaleoptimizer", "multioptimizer", "optimizermap"}
    for name in allow.OPTIMIZER_NAMES:
        assert isinstance(keras.optimizers.get(name), keras.optimizers.Optimizer)
    for name in allow.LOSS_ALIASES:
        assert callable(keras.losses.get(name))


# ---------------------------------------------------------------- sizes


def head(class_name: str, **config) -> Callable[[dict], None]:
    return hostile.replace_head(hostile.layer_config(class_name, "big", **config))


SIZE_CASES = {
    "einsum_output_shape": (head("EinsumDense", equation="ab,bcd->acd",
                                 output_shape=[100_000, 100_000]),
                            "EinsumDense 'big': output_shape [100000, 100000] = 10,000,000,000 "
                            "values"),
    "einsum_rank": (head("EinsumDense", equation="ab,bc->ac", output_shape=[1] * 17),
                    "EinsumDense 'big': a declared shape lists 17 dimensions; at most 16"),
    "mha_heads_x_key_dim": (head("MultiHeadAttention", num_heads=1_000, key_dim=1_000_000),
                            "MultiHeadAttention 'big': num_heads x key_dim = 1,000 x 1,000,000 "
                            "= 1,000,000,000 values"),
    "mha_heads_x_value_dim": (head("MultiHeadAttention", num_heads=1_000, key_dim=8,
                                   value_dim=1_000_000),
                              "MultiHeadAttention 'big': num_heads x value_dim = 1,000 x "
                              "1,000,000 = 1,000,000,000 values"),
    "gqa_heads_x_head_dim": (head("GroupQueryAttention", num_query_heads=1_000,
                                  num_key_value_heads=1, head_dim=1_000_000),
                             "GroupQueryAttention 'big': num_query_heads x head_dim = 1,000 x "
                             "1,000,000"),
    "lstm_units": (head("LSTM", units=100_000),
                   "LSTM 'big': gates x units x units = 4 x 100,000 x 100,000 = "
                   "40,000,000,000 values"),
    "conv_filters_x_kernel": (head("Conv2D", filters=1_000_000, kernel_size=[100, 100]),
                              "Conv2D 'big': filters x kernel_size x kernel_size = 1,000,000 x "
                              "100 x 100 = 10,000,000,000 values"),
    "conv_int_kernel": (head("Conv3D", filters=100_000, kernel_size=100),
                        "Conv3D 'big': filters x kernel_size x kernel_size x kernel_size = "
                        "100,000 x 100 x 100 x 100"),
    "depthwise_multiplier": (head("DepthwiseConv2D", depth_multiplier=1_000_000,
                                  kernel_size=[1_000, 1_000]),
                             "DepthwiseConv2D 'big': depth_multiplier x kernel_size x "
                             "kernel_size = 1,000,000 x 1,000 x 1,000"),
    "conv_lstm_recurrent": (head("ConvLSTM2D", filters=10_000, kernel_size=3),
                            "ConvLSTM2D 'big': 4 gates x filters x filters x kernel_size x "
                            "kernel_size = 4 x 10,000 x 10,000 x 3 x 3"),
    "auc_thresholds_x_labels": (hostile.set_compile("metrics", [{
        "module": "keras.metrics", "class_name": "AUC", "registered_name": None,
        "config": {"name": "auc", "num_thresholds": 1_000_000, "num_labels": 1_000_000}}]),
        "AUC 'auc': num_thresholds x num_labels = 1,000,000 x 1,000,000"),
    "iou_classes_squared": (hostile.set_compile("metrics", [{
        "module": "keras.metrics", "class_name": "MeanIoU", "registered_name": None,
        "config": {"name": "iou", "num_classes": 1_000_000}}]),
        "MeanIoU 'iou': num_classes x num_classes = 1,000,000 x 1,000,000"),
    "gqa_one_key_over_its_cap": (head("GroupQueryAttention", num_query_heads=1,
                                      num_key_value_heads=10**7, head_dim=1),
                                 "'num_key_value_heads': 10,000,000 is over the limit of "
                                 "1,000,000"),
}


@pytest.mark.parametrize("name", list(SIZE_CASES))
def test_products_of_size_keys_are_capped(built, name):
    edit, text = SIZE_CASES[name]
    message = refused(hostile.rewrite_zip(built["plain"], edit))
    assert message.startswith(text) or text in message, message
    if "values" in text:
        assert message.endswith(LIMIT_TEXT)


def test_a_huge_product_is_said_by_its_order_of_magnitude(built):
    edit = head("EinsumDense", equation="ab,bc->ac", output_shape=[10**15] * 3)
    message = refused(hostile.rewrite_zip(built["plain"], edit))
    assert "= about 10^45 values" in message and len(message) < 300


def test_large_but_real_layers_pass(built):
    """BERT-large attention, a 4,096-unit LSTM and a 1,280-filter conv stay under the cap."""
    for edit in (head("MultiHeadAttention", num_heads=16, key_dim=64),
                 head("EinsumDense", equation="abc,cde->abde", output_shape=[None, 16, 64]),
                 head("LSTM", units=4_096), head("Conv2D", filters=1_280, kernel_size=3)):
        config = json.loads(zipfile.ZipFile(io.BytesIO(
            hostile.rewrite_zip(built["plain"], edit))).read("config.json"))
        scan.check_config(config)


# ---------------------------------------------------------------- a worker killed mid-load


def deep_model_bytes(tmp_path: Path, depth: int = 60) -> bytes:
    """``depth`` Dense layers in one Sequential: a small file Keras takes seconds to load (its
    Sequential rebuild grows with the square of the depth: 60 layers 1.4 s, 150 layers 6 s
    here)."""
    model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(depth)],
                             name="deep")
    return hostile.save(model, tmp_path)


def test_a_worker_killed_mid_load_leaves_no_copy_of_the_upload(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_SPARE_WORKER", "0")
    data = deep_model_bytes(tmp_path)
    runner = worker.WorkerRunner(data, "deep.keras", sha256_hex(data))
    outcome: list[BaseException | object] = []

    def call() -> None:
        try:
            outcome.append(runner.run(scores_of, np.ones((1, 4), "float32")))
        except Exception as err:  # the test reads it below
            outcome.append(err)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 180  # the worker imports TensorFlow first
        copies: list[Path] = []
        while time.monotonic() < deadline and not copies and thread.is_alive():
            tmpdir = runner.tmpdir
            copies = list(Path(tmpdir).glob("glassbox-*/upload.keras")) if tmpdir else []
            time.sleep(0.002)
        assert copies, f"the upload's copy never appeared in the worker's TMPDIR: {outcome}"
        assert copies[0].parent.parent == Path(tmpdir)
        os.kill(runner.pid, signal.SIGKILL)  # mid-load: Keras is still building 60 layers
        thread.join(60)
        # "died" or "closed its connection", whichever the parent notices first
        assert outcome and isinstance(outcome[0], worker.WorkerError), outcome
        assert not Path(tmpdir).exists()  # the parent removed the worker's directory
        assert not runner.alive
    finally:
        runner.close()


def test_a_worker_stopped_by_its_timeout_mid_load_leaves_no_directory(tmp_path, monkeypatch):
    """The same when the parent kills the worker itself: the load outlasts the call's 1 s."""
    monkeypatch.setenv("GLASSBOX_SPARE_WORKER", "0")
    monkeypatch.setenv("GLASSBOX_WORKER_TIMEOUT_S", "1.0")
    data = deep_model_bytes(tmp_path, depth=150)  # well past 1 s even on a faster machine
    runner = worker.WorkerRunner(data, "deep.keras", sha256_hex(data))
    seen: list[str | None] = []
    original = runner._reply

    def reply(timeout_s: float):
        seen.append(runner.tmpdir)  # the live worker's directory, as the load begins
        return original(timeout_s)

    monkeypatch.setattr(runner, "_reply", reply)
    try:
        with pytest.raises(worker.WorkerError, match=r"took longer than 1 s, so it was stopped"):
            runner.run(scores_of, np.ones((1, 4), "float32"))
        assert seen and seen[0] and not Path(seen[0]).exists()
        assert not runner.alive and runner.tmpdir is None
    finally:
        runner.close()


def test_a_worker_whose_parent_goes_away_removes_its_directory(built, monkeypatch):
    """A parent that exits without stopping its workers only closes their sockets: each
    worker then removes its own directory as it ends."""
    monkeypatch.setenv("GLASSBOX_SPARE_WORKER", "0")
    runner = worker.WorkerRunner(built["plain"], "plain.keras", sha256_hex(built["plain"]))
    try:
        assert runner.run(scores_of, np.ones((1, 4), "float32")).shape == (1, 3)
        tmpdir, process = runner.tmpdir, runner._process
        assert tmpdir and Path(tmpdir).is_dir()
        runner._conn.close()  # what the parent's exit does to the worker's socket
        assert process.wait(30) == 0
        assert not Path(tmpdir).exists()
    finally:
        runner.close()


# ---------------------------------------------------------------- one method failing


def test_one_failing_method_never_aborts_the_others(sample_subjects, monkeypatch):
    subject, _ = sample_subjects["wine_classifier"]

    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(REGISTRY["gradxinput"], "explain", boom)
    result = explain_sample(subject, ["saliency", "gradxinput", "ig"])
    assert sorted(result.attributions) == ["ig", "saliency"]
    assert result.skipped == {"gradxinput": "failed: RuntimeError: boom"}
    assert result.agreement is not None


def test_a_value_error_without_parameters_is_listed_too(sample_subjects, monkeypatch):
    subject, _ = sample_subjects["wine_classifier"]

    def nan(*args, **kwargs):
        raise ValueError("the model's gradients are not finite for this sample")

    monkeypatch.setattr(REGISTRY["saliency"], "explain", nan)
    result = explain_sample(subject, ["saliency", "gradxinput"])
    assert list(result.attributions) == ["gradxinput"]
    reason = result.skipped["saliency"]
    assert reason.startswith("failed: ") and "not finite" in reason and "\n" not in reason


def test_a_bad_parameter_is_still_an_error(sample_subjects):
    subject, _ = sample_subjects["wine_classifier"]
    with pytest.raises(DataError, match="steps must be an integer"):
        explain_sample(subject, ["saliency", "ig"], params={"ig": {"steps": -1}})


# ---------------------------------------------------------------- a failed load's reason

LOAD_FAILURES = {
    # the first line is "<class Sequential> could not be deserialized properly ..."
    "units_not_a_number": (lambda c: hostile.layer(c, hostile.PLAIN_HEAD)["config"].update(
        units="abc"), "Keras could not load the model: Received an invalid value for "
                      "`units`, expected a positive integer. Received: units=abc"),
    "unknown_argument": (lambda c: hostile.layer(c, hostile.PLAIN_HEAD)["config"].update(
        frobnicate=3), "Keras could not load the model: Unrecognized keyword arguments "
                       "passed to Dense: {'frobnicate': 3}"),
    # "A total of 1 objects could not be loaded. Example error message for object <Dense..."
    "weights_do_not_fit": (lambda c: hostile.layer(c, hostile.PLAIN_HEAD)["config"].update(
        units=5), "Keras could not load the model: Dense 'head': The shape of the target "
                  "variable and the shape of the target value in `variable.assign(value)` "
                  "must match."),
}


@pytest.mark.parametrize("name", list(LOAD_FAILURES))
def test_a_failed_load_says_the_specific_reason(built, name):
    edit, text = LOAD_FAILURES[name]
    with pytest.raises(GlassboxError) as caught:
        load_model_bytes(hostile.rewrite_zip(built["plain"], edit), "model.keras")
    message = str(caught.value)
    assert message.startswith(text), message
    assert "\n" not in message and len(message) <= 300
    assert "could not be deserialized" not in message and "config=" not in message


def test_an_exception_when_calling_a_layer_names_the_layer(tmp_path):
    """"Exception encountered when calling Reshape.call()" and its reason in bold (ANSI)."""
    inp = keras.Input((4,), name="features")
    out = keras.layers.Reshape((2, 3), name="r")(keras.layers.Dense(6, name="d")(inp))
    data = hostile.save(keras.Model(inp, out, name="fn"), tmp_path)
    data = hostile.rewrite_zip(data, lambda c: hostile.layer(c, "r")["config"].update(
        target_shape=[5, 5]))
    with pytest.raises(GlassboxError) as caught:
        load_model_bytes(data, "model.keras")
    message = str(caught.value)
    assert message.startswith("Keras could not load the model: Reshape: The total size of the "
                              "tensor must be unchanged"), message
    assert "\x1b" not in message and "\\x1b" not in message and "\n" not in message
