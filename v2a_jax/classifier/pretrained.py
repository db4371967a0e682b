"""Adapter for pretrained audio embedding networks whose weights a user has as a local file.

No weights ship with the project and none are downloaded. A user converts a released checkpoint into the one
format read here and names the architecture it belongs to:

  File format: a NumPy `.npz` archive (`np.savez`), one float array per tensor, named
  '<layer name>/kernel' and '<layer name>/bias'. Conv kernels are [kh, kw, in, out] (time, frequency, channels:
  TensorFlow's HWIO), dense kernels [in, out]; biases [out]. Extra arrays are ignored. A BatchNorm (PANNs) is
  folded into the preceding conv's kernel and bias by the converter.

  Architecture: an `ArchitectureSpec` (log-mel frontend, layer list, which output is the embedding, head
  activation), either from `ARCHITECTURES` by name or built by the user. Layers act on a log-mel image
  [T, F, C] (C = 1 at the input) and are one of
    conv(name, features, (kh, kw))  3x3-style convolution, stride 1, SAME padding, plus bias
    relu
    maxpool((a, b)) / avgpool((a, b))  window = stride, VALID (trailing rows that do not fill a window drop)
    flatten                        [T, F, C] -> [T * F * C] in row-major order (TensorFlow's flatten)
    global_pool                    PANNs' head: mean over frequency, then mean + max over time -> [C]
    dense(name, features)          on a vector, plus bias
  A spec with `patch_frames` > 0 cuts the log-mel into consecutive non-overlapping patches of that many frames
  (VGGish: 0.96 s), drops a trailing partial patch, and averages the patches' embeddings and probabilities.

`ARCHITECTURES['vggish']` is written from the published VGGish (Hershey et al. 2017; tensorflow/models
research/audioset/vggish: vggish_slim.py, vggish_input.py, mel_features.py; fc2 without activation as in the
current release; no PCA/quantisation postprocessing). Tensor names map as 'vggish/conv3/conv3_1/weights' ->
'conv3/conv3_1/kernel', '.../biases' -> '.../bias'. It has not been checked against the released weights here.
PANNs' CNN14 fits the same layer vocabulary once its BatchNorms are folded, but its frontend (Slaney mel, dB
log) differs from the HTK-mel frontend of features.py; PaSST is a transformer and does not fit it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal

from v2a_jax.classifier.embedding import check_mono
from v2a_jax.classifier.features import LogMelConfig, log_mel

LAYER_KINDS = ("conv", "relu", "maxpool", "avgpool", "flatten", "global_pool", "dense")
HEADS = ("sigmoid", "softmax", "none")


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer (module docstring). `name` prefixes the tensors of conv/dense; `features` is their output
    width; `window` is the conv kernel or pooling window (time, frequency)."""

    kind: str
    name: str = ""
    features: int = 0
    window: tuple[int, int] = (1, 1)

    def __post_init__(self):
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"Layer: kind {self.kind!r} is not one of {LAYER_KINDS}")
        if self.kind in ("conv", "dense") and (not self.name or self.features < 1):
            raise ValueError(f"Layer: a {self.kind} layer needs a name and features >= 1, got {self}")


def conv(name: str, features: int, window: tuple[int, int] = (3, 3)) -> Layer:
    return Layer("conv", name, features, window)


def dense(name: str, features: int) -> Layer:
    return Layer("dense", name, features)


def maxpool(window: tuple[int, int] = (2, 2)) -> Layer:
    return Layer("maxpool", window=window)


def avgpool(window: tuple[int, int] = (2, 2)) -> Layer:
    return Layer("avgpool", window=window)


RELU, FLATTEN, GLOBAL_POOL = Layer("relu"), Layer("flatten"), Layer("global_pool")


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
    """A network: log-mel `frontend` (its sample_rate is the network's), `layers`, the index into `layers` of
    the layer whose output is the embedding (negative counts from the end), the `head` activation applied to the
    last layer's output to give class probabilities ('none': embedding-only network, K = 0), and `patch_frames`
    (0: the whole clip at once)."""

    name: str
    frontend: LogMelConfig
    layers: tuple[Layer, ...]
    embedding_index: int = -1
    head: str = "none"
    patch_frames: int = 0

    def __post_init__(self):
        if self.head not in HEADS:
            raise ValueError(f"ArchitectureSpec {self.name!r}: head {self.head!r} is not one of {HEADS}")
        if not -len(self.layers) <= self.embedding_index < len(self.layers):
            raise ValueError(
                f"ArchitectureSpec {self.name!r}: embedding_index {self.embedding_index} outside "
                f"its {len(self.layers)} layers"
            )

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor the weights file must hold (by shape inference through the layers)."""
        shape: tuple[int | None, ...] = (self.patch_frames or None, self.frontend.n_mels, 1)  # [T, F, C]
        shapes = {}
        for i, layer in enumerate(self.layers):
            where = f"ArchitectureSpec {self.name!r}, layer {i} ({layer.kind} {layer.name})".rstrip()
            if layer.kind in ("conv", "maxpool", "avgpool", "flatten", "global_pool") and len(shape) != 3:
                raise ValueError(f"{where}: needs a [T, F, C] input, gets a vector")
            if layer.kind == "conv":
                shapes[f"{layer.name}/kernel"] = (*layer.window, shape[2], layer.features)
                shapes[f"{layer.name}/bias"] = (layer.features,)
                shape = (shape[0], shape[1], layer.features)
            elif layer.kind in ("maxpool", "avgpool"):
                a, b = layer.window
                shape = (None if shape[0] is None else shape[0] // a, shape[1] // b, shape[2])
                if shape[0] == 0 or shape[1] == 0:
                    raise ValueError(f"{where}: the input is smaller than the pooling window")
            elif layer.kind == "flatten":
                if shape[0] is None:
                    raise ValueError(f"{where}: flatten needs a fixed number of frames (set patch_frames)")
                shape = (math.prod(shape),)
            elif layer.kind == "global_pool":
                shape = (shape[2],)
            elif layer.kind == "dense":
                if len(shape) != 1:
                    raise ValueError(f"{where}: dense needs a vector input (flatten or global_pool first)")
                shapes[f"{layer.name}/kernel"] = (shape[0], layer.features)
                shapes[f"{layer.name}/bias"] = (layer.features,)
                shape = (layer.features,)
        if self.head != "none" and len(shape) != 1:
            raise ValueError(f"ArchitectureSpec {self.name!r}: a {self.head} head needs a vector output")
        return shapes


def _vggish() -> ArchitectureSpec:
    frontend = LogMelConfig(
        sample_rate=16000,
        n_fft=512,
        win_length=400,
        hop=160,
        n_mels=64,
        fmin=125.0,
        fmax=7500.0,
        power=1.0,
        center=False,
        log_offset=0.01,
    )
    layers = (
        conv("conv1", 64),
        RELU,
        maxpool(),
        conv("conv2", 128),
        RELU,
        maxpool(),
        conv("conv3/conv3_1", 256),
        RELU,
        conv("conv3/conv3_2", 256),
        RELU,
        maxpool(),
        conv("conv4/conv4_1", 512),
        RELU,
        conv("conv4/conv4_2", 512),
        RELU,
        maxpool(),
        FLATTEN,
        dense("fc1/fc1_1", 4096),
        RELU,
        dense("fc1/fc1_2", 4096),
        RELU,
        dense("fc2", 128),
    )
    return ArchitectureSpec("vggish", frontend, layers, embedding_index=-1, head="none", patch_frames=96)


ARCHITECTURES: dict[str, ArchitectureSpec] = {"vggish": _vggish()}


def load_weights(path: str | os.PathLike, spec: ArchitectureSpec) -> dict[str, np.ndarray]:
    """The tensors `spec` needs from the `.npz` at `path`, as float32; ValueError naming the file and the
    tensor if the file is missing or unreadable, or a tensor is missing or mis-shaped."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: weights file not found")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz weights file ({e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive of named tensors, found a single array")
    with archive:
        weights = {}
        for name, shape in spec.tensor_shapes().items():
            if name not in archive.files:
                raise ValueError(f"{path}: tensor {name!r} missing (architecture {spec.name!r} needs shape {shape})")
            tensor = archive[name]
            if tensor.shape != shape:
                raise ValueError(
                    f"{path}: tensor {name!r} has shape {tensor.shape}, architecture {spec.name!r} expects {shape}"
                )
            if not np.issubdtype(tensor.dtype, np.floating) or not np.all(np.isfinite(tensor)):
                raise ValueError(f"{path}: tensor {name!r} must hold finite floats, got dtype {tensor.dtype}")
            weights[name] = tensor.astype(np.float32)
    return weights


def apply_layers(spec: ArchitectureSpec, weights: dict[str, jax.Array], x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Runs `spec.layers` on log-mels `[B, T, F]` -> (embeddings `[B, D]`, last-layer outputs `[B, ...]`)."""
    x = x[..., None]
    outputs = []
    for layer in spec.layers:
        if layer.kind == "conv":
            x = (
                jax.lax.conv_general_dilated(
                    x,
                    weights[f"{layer.name}/kernel"],
                    window_strides=(1, 1),
                    padding="SAME",
                    dimension_numbers=("NHWC", "HWIO", "NHWC"),
                )
                + weights[f"{layer.name}/bias"]
            )
        elif layer.kind == "relu":
            x = jax.nn.relu(x)
        elif layer.kind in ("maxpool", "avgpool"):
            dims = (1, *layer.window, 1)
            if layer.kind == "maxpool":
                x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, dims, dims, "VALID")
            else:
                x = jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, dims, "VALID") / math.prod(layer.window)
        elif layer.kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif layer.kind == "global_pool":
            x = jnp.mean(x, axis=2)
            x = jnp.mean(x, axis=1) + jnp.max(x, axis=1)
        elif layer.kind == "dense":
            x = x @ weights[f"{layer.name}/kernel"] + weights[f"{layer.name}/bias"]
        outputs.append(x)
    return outputs[spec.embedding_index], outputs[-1]


class PretrainedEmbedding:
    """An `AudioEmbedding` (v2a_jax/classifier/embedding.py) running `spec` with the weights of a local file.

    Input audio at `sample_rate` is resampled to the network's rate (spec.frontend.sample_rate) with
    scipy.signal.resample_poly (Kaiser-windowed polyphase filter), then log-mel -> layers. class_probs are the
    head activation of the last layer (`[B, 0]` for head 'none').
    """

    def __init__(self, weights_path: str | os.PathLike, spec: ArchitectureSpec | str, sample_rate: int = 16000):
        """`spec`: an ArchitectureSpec or a name in ARCHITECTURES."""
        if isinstance(spec, str):
            if spec not in ARCHITECTURES:
                raise ValueError(f"spec: unknown architecture {spec!r}; known: {sorted(ARCHITECTURES)}")
            spec = ARCHITECTURES[spec]
        self.spec = spec
        self.sample_rate = sample_rate
        self.multi_label = spec.head == "sigmoid"
        self.weights = {k: jnp.asarray(v) for k, v in load_weights(weights_path, spec).items()}
        network_rate = spec.frontend.sample_rate
        ratio = math.gcd(network_rate, sample_rate)
        self._up, self._down = network_rate // ratio, sample_rate // ratio
        self._forward = jax.jit(self._network)

    def _network(self, weights, audio):
        mel = log_mel(audio, self.spec.frontend)  # [B, T, F]
        batch, frames = mel.shape[0], mel.shape[1]
        patch = self.spec.patch_frames
        if patch:
            num_patches = frames // patch
            mel = mel[:, : num_patches * patch].reshape(batch * num_patches, patch, mel.shape[-1])
        embeddings, out = apply_layers(self.spec, weights, mel)
        if self.spec.head == "sigmoid":
            probs = jax.nn.sigmoid(out)
        elif self.spec.head == "softmax":
            probs = jax.nn.softmax(out, axis=-1)
        else:
            probs = jnp.zeros((out.shape[0], 0), out.dtype)
        if patch:
            embeddings = embeddings.reshape(batch, -1, embeddings.shape[-1]).mean(axis=1)
            probs = probs.reshape(batch, -1, probs.shape[-1]).mean(axis=1)
        return embeddings, probs

    def resample(self, audio) -> np.ndarray:
        """`[B, N]` at `sample_rate` -> `[B, N']` float32 at the network's rate."""
        audio = check_mono(audio)
        if self._up == self._down:
            return audio
        return scipy.signal.resample_poly(audio, self._up, self._down, axis=-1).astype(np.float32)

    def embed(self, audio) -> tuple[np.ndarray, np.ndarray]:
        """See `AudioEmbedding.embed`."""
        audio = self.resample(audio)
        frontend = self.spec.frontend
        frames = frontend.num_frames(audio.shape[1])
        if self.spec.patch_frames and frames < self.spec.patch_frames:
            raise ValueError(
                f"audio: {audio.shape[1]} samples at {frontend.sample_rate} Hz give {frames} frames, "
                f"fewer than one {self.spec.patch_frames}-frame patch of {self.spec.name!r}"
            )
        embeddings, probs = self._forward(self.weights, audio)
        return np.asarray(embeddings), np.asarray(probs)
