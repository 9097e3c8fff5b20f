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
     "value_dim", "num_bins", "num_tokens", "output_sequence_length", "depth_multiplier"}
)
MAX_SIZE_VALUE = 1_000_000
