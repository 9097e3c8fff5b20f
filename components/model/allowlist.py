"""What a model config may name: built-in Keras classes that hold no code and touch no files.

Kept as data, separate from the scanner, so the policy can be read (and reviewed) in one place.
"""

# Layers shipped with Keras 3 that are pure tensor maths. Deliberately absent: Lambda (Python
# bytecode), TFSMLayer (loads a SavedModel from a path), TorchModuleWrapper / JaxLayer /
# FlaxLayer (pickled foreign code), and the abstract Layer / Wrapper bases.
LAYERS: frozenset[str] = frozenset(
    """
    InputLayer Dense EinsumDense Embedding Activation Dropout SpatialDropout1D SpatialDropout2D
    SpatialDropout3D GaussianDropout GaussianNoise AlphaDropout ActivityRegularization Masking
    Flatten Reshape Permute RepeatVector Cropping1D Cropping2D Cropping3D ZeroPadding1D
    ZeroPadding2D ZeroPadding3D UpSampling1D UpSampling2D UpSampling3D Identity
    Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose SeparableConv1D
    SeparableConv2D DepthwiseConv1D DepthwiseConv2D
    MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D
    GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalAveragePooling1D
    GlobalAveragePooling2D GlobalAveragePooling3D AdaptiveAveragePooling1D
    AdaptiveAveragePooling2D AdaptiveAveragePooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D
    AdaptiveMaxPooling3D
    BatchNormalization LayerNormalization GroupNormalization UnitNormalization RMSNormalization
    SpectralNormalization
    Add Subtract Multiply Average Maximum Minimum Concatenate Dot
    ReLU LeakyReLU PReLU ELU Softmax
    SimpleRNN LSTM GRU SimpleRNNCell LSTMCell GRUCell StackedRNNCells RNN ConvLSTM1D
    ConvLSTM2D ConvLSTM3D Bidirectional TimeDistributed
    Attention AdditiveAttention MultiHeadAttention GroupQueryAttention
    Normalization Discretization CategoryEncoding Hashing HashedCrossing StringLookup
    IntegerLookup TextVectorization Rescaling Resizing CenterCrop RandomFlip RandomRotation
    RandomZoom RandomTranslation RandomContrast RandomBrightness RandomCrop AutoContrast
    Equalization Solarization RandomGrayscale RandomHue RandomSaturation RandomSharpness
    RandomShear RandomColorJitter RandomColorDegeneration RandomPosterization RandomInvert
    RandomErasing RandomGaussianBlur RandomElasticTransform RandomPerspective
    MelSpectrogram STFTSpectrogram
    """.split()
)

# Containers: a model used as a layer is walked like any other config.
MODELS: frozenset[str] = frozenset({"Functional", "Sequential", "Model"})

# Non-layer objects a saved config legitimately names (dtype policies, initializers,
# regularizers, constraints) plus the markers Keras writes for tensors in functional graphs.
SUPPORT: frozenset[str] = frozenset(
    """
    DTypePolicy FloatDTypePolicy DTypePolicyMap
    Constant Zeros Ones Identity Orthogonal RandomNormal RandomUniform TruncatedNormal
    GlorotNormal GlorotUniform HeNormal HeUniform LecunNormal LecunUniform VarianceScaling
    STFT Regularizer L1 L2 L1L2 OrthogonalRegularizer
    Constraint MaxNorm MinMaxNorm NonNeg UnitNorm
    __keras_tensor__ __tuple__ __numpy__ __bytes__
    """.split()
)

ALLOWED_CLASSES: frozenset[str] = LAYERS | MODELS | SUPPORT

# Keras operations a functional graph records as nodes of their own (e.g. the padding mask
# `Embedding(mask_zero=True)` feeds a Bidirectional layer as ``keras.src.ops.numpy.NotEqual``).
# Only element-wise and shape maths that take tensors: none takes a function.
OPS: dict[str, frozenset[str]] = {
    "keras.src.ops.numpy": frozenset(
        """
        NotEqual Equal Greater GreaterEqual Less LessEqual LogicalAnd LogicalOr LogicalNot
        Any All ExpandDims Squeeze Where Sum Mean Max Min Cast
        """.split()),
    "keras.src.ops.core": frozenset({"Cast"}),
}

# Layers refused by name, with the reason shown to the user.
REFUSED_LAYERS: dict[str, str] = {
    "Lambda": "a Lambda layer holds Python code",
    "TFSMLayer": "a TFSMLayer loads a TensorFlow SavedModel from disk",
    "TorchModuleWrapper": "a TorchModuleWrapper holds a pickled PyTorch module",
    "JaxLayer": "a JaxLayer wraps arbitrary JAX code",
    "FlaxLayer": "a FlaxLayer wraps arbitrary Flax code",
}

# Activation names Keras resolves without user code (string or {"class_name": "function"}).
ACTIVATIONS: frozenset[str] = frozenset(
    """
    linear relu relu6 leaky_relu elu selu gelu silu swish mish softmax log_softmax sigmoid
    hard_sigmoid hard_silu hard_swish tanh hard_tanh softplus softsign exponential celu glu
    log_sigmoid squareplus sparse_plus sparsemax soft_shrink hard_shrink tanh_shrink threshold
    sparse_sigmoid
    """.split()
)

# Config keys whose string value Keras looks up as a callable.
ACTIVATION_KEYS: frozenset[str] = frozenset({"activation", "recurrent_activation"})

# Config keys that size a weight tensor; a huge value makes Keras allocate on build.
SIZE_KEYS: frozenset[str] = frozenset(
    {"units", "filters", "input_dim", "output_dim", "max_tokens", "num_heads", "key_dim",
     "value_dim", "num_bins", "num_tokens", "output_sequence_length", "depth_multiplier",
     "num_query_heads", "num_key_value_heads", "head_dim", "num_thresholds", "num_classes",
     # KerasHub backbones and preprocessors
     "vocabulary_size", "hidden_dim", "intermediate_dim", "embedding_dim",
     "max_sequence_length", "sequence_length", "num_layers", "num_segments"}
)

# Config keys a KerasHub tokenizer reads as a file path when they hold a string (a saved
# tokenizer keeps them under assets/ and writes null here); "vocabulary" is checked for all.
PATH_KEYS: frozenset[str] = frozenset({"merges", "proto"})
MAX_SIZE_VALUE = 1_000_000

# Config keys whose product sizes one weight: checked per layer class in `scan._check_sizes`
# against the same cap as the HDF5 datasets (a kernel Keras allocates while building).
RNN_GATES: dict[str, int] = {  # recurrent kernel: gates x units x units
    "SimpleRNN": 1, "SimpleRNNCell": 1, "GRU": 3, "GRUCell": 3, "LSTM": 4, "LSTMCell": 4,
}
MAX_RANK = 16  # dimensions a declared shape may list; real models use at most 5 or 6

# ---------------------------------------------------------------- compile_config

# Keras deserialises a model's ``compile_config`` (optimizer, loss, metrics) while loading a
# nested model even with ``compile=False``, so it may name built-in training objects only.
# Hard-coded (the scan never imports Keras); tests/test_hostile_depth.py compares each list
# with the public names of `keras.losses`, `keras.metrics` and `keras.optimizers`.

# `keras.losses` classes, minus the abstract `Loss`.
LOSSES: frozenset[str] = frozenset(
    """
    BinaryCrossentropy BinaryFocalCrossentropy CTC CategoricalCrossentropy
    CategoricalFocalCrossentropy CategoricalGeneralizedCrossEntropy CategoricalHinge Circle
    CosineSimilarity Dice Hinge Huber KLDivergence LogCosh MeanAbsoluteError
    MeanAbsolutePercentageError MeanSquaredError MeanSquaredLogarithmicError Poisson
    SparseCategoricalCrossentropy SquaredHinge Tversky
    """.split()
)
# `keras.losses` functions (minus get/serialize/deserialize).
LOSS_FUNCTIONS: frozenset[str] = frozenset(
    """
    binary_crossentropy binary_focal_crossentropy categorical_crossentropy
    categorical_focal_crossentropy categorical_generalized_cross_entropy categorical_hinge
    circle cosine_similarity ctc dice hinge huber kl_divergence log_cosh mean_absolute_error
    mean_absolute_percentage_error mean_squared_error mean_squared_logarithmic_error poisson
    sparse_categorical_crossentropy squared_hinge tversky
    """.split()
)
# Other names `keras.losses.get` resolves ("crossentropy" / "ce", any case, are Keras'
# compile shortcuts).
LOSS_ALIASES: frozenset[str] = frozenset("BCE KLD MAE MAPE MSE MSLE bce kld mae mape mse msle"
                                         .split())
LOSS_SHORTCUTS: frozenset[str] = frozenset({"crossentropy", "ce"})

# `keras.metrics` classes, minus the abstract `Metric`. MeanMetricWrapper's ``fn`` is checked
# like any function in a compile config.
METRICS: frozenset[str] = frozenset(
    """
    AUC Accuracy BinaryAccuracy BinaryCrossentropy BinaryIoU CategoricalAccuracy
    CategoricalCrossentropy CategoricalHinge ConcordanceCorrelation CosineSimilarity F1Score
    FBetaScore FalseNegatives FalsePositives Hinge IoU KLDivergence LogCoshError Mean
    MeanAbsoluteError MeanAbsolutePercentageError MeanIoU MeanMetricWrapper MeanSquaredError
    MeanSquaredLogarithmicError OneHotIoU OneHotMeanIoU PearsonCorrelation Poisson Precision
    PrecisionAtRecall R2Score Recall RecallAtPrecision RootMeanSquaredError
    SensitivityAtSpecificity SparseCategoricalAccuracy SparseCategoricalCrossentropy
    SparseTopKCategoricalAccuracy SpecificityAtSensitivity SquaredHinge Sum
    TopKCategoricalAccuracy TrueNegatives TruePositives
    """.split()
)
# `keras.metrics` functions (minus get/serialize/deserialize).
METRIC_FUNCTIONS: frozenset[str] = frozenset(
    """
    binary_accuracy binary_crossentropy binary_focal_crossentropy categorical_accuracy
    categorical_crossentropy categorical_focal_crossentropy categorical_hinge
    concordance_correlation hinge huber kl_divergence log_cosh mean_absolute_error
    mean_absolute_percentage_error mean_squared_error mean_squared_logarithmic_error
    pearson_correlation poisson sparse_categorical_accuracy sparse_categorical_crossentropy
    sparse_top_k_categorical_accuracy squared_hinge top_k_categorical_accuracy
    """.split()
)
# Other names `keras.metrics.get` resolves (snake_case class names and short aliases);
# "accuracy" / "acc", any case, are Keras' compile shortcuts.
METRIC_ALIASES: frozenset[str] = frozenset(
    """
    BCE MAE MAPE MSE MSLE accuracy auc bce binary_io_u cosine_similarity f1_score f_beta_score
    false_negatives false_positives io_u log_cosh_error mae mape mean mean_io_u mse msle
    one_hot_io_u one_hot_mean_io_u precision precision_at_recall r2_score recall
    recall_at_precision root_mean_squared_error sensitivity_at_specificity
    specificity_at_sensitivity sum true_negatives true_positives
    """.split()
)
METRIC_SHORTCUTS: frozenset[str] = frozenset({"accuracy", "acc"})

# `keras.optimizers` classes, minus the abstract `Optimizer` and MultiOptimizer/OptimizerMap
# (they route variables to optimizers by regular expressions read from the file).
# LossScaleOptimizer's ``inner_optimizer`` is checked like any optimizer.
OPTIMIZERS: frozenset[str] = frozenset(
    """
    Adadelta Adafactor Adagrad Adam AdamW Adamax Ftrl Lamb Lion LossScaleOptimizer Muon Nadam
    RMSprop SGD ScheduleFreeAdamW
    """.split()
)
# Names `keras.optimizers.get` resolves (compared lower-cased, as Keras does).
OPTIMIZER_NAMES: frozenset[str] = frozenset(
    "adadelta adafactor adagrad adam adamax adamw ftrl lion muon nadam rmsprop "
    "schedulefreeadamw sgd".split()
)
# `keras.optimizers.schedules` classes, minus the abstract `LearningRateSchedule`: an
# optimizer's ``learning_rate`` may be one.
LR_SCHEDULES: frozenset[str] = frozenset(
    """
    CosineDecay CosineDecayRestarts ExponentialDecay InverseTimeDecay PiecewiseConstantDecay
    PolynomialDecay
    """.split()
)

# Classes each part of a compile config may name; dtype policies and tuples anywhere.
COMPILE_SUPPORT: frozenset[str] = frozenset({"DTypePolicy", "FloatDTypePolicy", "__tuple__"})
COMPILE_CLASSES: dict[str, frozenset[str]] = {
    "optimizer": OPTIMIZERS | LR_SCHEDULES | COMPILE_SUPPORT,
    "loss": LOSSES | COMPILE_SUPPORT,
    "metric": METRICS | LOSSES | COMPILE_SUPPORT,
}
# Functions (``{"class_name": "function", "config": name}``) each part may name.
COMPILE_FUNCTIONS: dict[str, frozenset[str]] = {
    "optimizer": frozenset(),
    "loss": LOSS_FUNCTIONS,
    "metric": METRIC_FUNCTIONS | LOSS_FUNCTIONS,
}
# Names each part may give as a plain string (Keras looks them up).
COMPILE_NAMES: dict[str, frozenset[str]] = {
    "optimizer": OPTIMIZER_NAMES,
    "loss": LOSSES | LOSS_FUNCTIONS | LOSS_ALIASES,
    "metric": METRICS | METRIC_FUNCTIONS | METRIC_ALIASES,
}
COMPILE_SHORTCUTS: dict[str, frozenset[str]] = {  # compared lower-cased
    "optimizer": OPTIMIZER_NAMES, "loss": LOSS_SHORTCUTS, "metric": METRIC_SHORTCUTS,
}
# compile_config key -> the part it configures; any other key may hold only plain values.
COMPILE_ROLES: dict[str, str] = {
    "optimizer": "optimizer", "loss": "loss", "metrics": "metric",
    "weighted_metrics": "metric",
}
