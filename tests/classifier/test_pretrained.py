import numpy as np
import pytest
import scipy.signal

from v2a_jax.classifier import pretrained
from v2a_jax.classifier.features import LogMelConfig, mel_filterbank

FRONTEND = LogMelConfig(
    sample_rate=8000,
    n_fft=256,
    win_length=200,
    hop=80,
    n_mels=16,
    fmin=50.0,
    fmax=4000.0,
    power=2.0,
    center=False,
    log_offset=1e-6,
)
# Global pooling + softmax head; the embedding is the ReLU after 'fc'.
POOLED = pretrained.ArchitectureSpec(
    "pooled",
    FRONTEND,
    (
        pretrained.conv("c1", 3),
        pretrained.RELU,
        pretrained.maxpool(),
        pretrained.conv("c2", 4, (3, 1)),
        pretrained.RELU,
        pretrained.GLOBAL_POOL,
        pretrained.dense("fc", 5),
        pretrained.RELU,
        pretrained.dense("out", 3),
    ),
    embedding_index=-2,
    head="softmax",
)
# VGGish-style: 8-frame patches, flatten, sigmoid head; the embedding is the flattened conv output.
PATCHED = pretrained.ArchitectureSpec(
    "patched",
    FRONTEND,
    (pretrained.conv("block/c", 2), pretrained.avgpool((2, 4)), pretrained.FLATTEN, pretrained.dense("head", 3)),
    embedding_index=2,
    head="sigmoid",
    patch_frames=8,
)


def _random_weights(spec, seed=0):
    rng = np.random.default_rng(seed)
    return {name: (0.3 * rng.normal(size=shape)).astype(np.float32) for name, shape in spec.tensor_shapes().items()}


def _save(tmp_path, weights, name="weights.npz"):
    path = tmp_path / name
    np.savez(path, **weights)
    return path


def _log_mel(x):
    """x [N] at 8 kHz -> [T, 16], framed from sample 0 as FRONTEND says."""
    num = 1 + (len(x) - 200) // 80
    frames = np.stack([x[i * 80 : i * 80 + 200] for i in range(num)]) * scipy.signal.get_window("hann", 200)
    power = np.abs(np.fft.rfft(frames, n=256)) ** 2
    return np.log(power @ mel_filterbank(256, 8000, 16, 50.0, 4000.0) + 1e-6)


def _conv_same(x, kernel, bias):
    """x [T, F, C], kernel [kh, kw, C, O] (odd sizes), stride 1, zero padding that keeps T and F."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    out = np.zeros(x.shape[:2] + (kernel.shape[3],))
    for i in range(kh):
        for j in range(kw):
            out += padded[i : i + x.shape[0], j : j + x.shape[1]] @ kernel[i, j]
    return out + bias


def _pool(x, a, b, reduce):
    t, f = x.shape[0] // a, x.shape[1] // b
    return reduce(x[: t * a, : f * b].reshape(t, a, f, b, x.shape[2]), axis=(1, 3))


def _pooled_reference(w, x):
    h = _pool(np.maximum(_conv_same(_log_mel(x)[..., None], w["c1/kernel"], w["c1/bias"]), 0), 2, 2, np.max)
    h = np.maximum(_conv_same(h, w["c2/kernel"], w["c2/bias"]), 0).mean(axis=1)
    h = h.mean(axis=0) + h.max(axis=0)
    emb = np.maximum(h @ w["fc/kernel"] + w["fc/bias"], 0)
    logits = emb @ w["out/kernel"] + w["out/bias"]
    return emb, np.exp(logits) / np.exp(logits).sum()


def _patched_reference(w, x):
    mel = _log_mel(x)
    embs, probs = [], []
    for p in range(mel.shape[0] // 8):
        h = _pool(_conv_same(mel[p * 8 : (p + 1) * 8, :, None], w["block/c/kernel"], w["block/c/bias"]), 2, 4, np.mean)
        embs.append(h.reshape(-1))
        probs.append(1 / (1 + np.exp(-(embs[-1] @ w["head/kernel"] + w["head/bias"]))))
    return np.mean(embs, axis=0), np.mean(probs, axis=0)


@pytest.mark.parametrize("spec, reference", [(POOLED, _pooled_reference), (PATCHED, _patched_reference)])
def test_outputs_equal_a_numpy_forward_pass_on_resampled_audio(tmp_path, spec, reference):
    weights = _random_weights(spec)
    embedding = pretrained.PretrainedEmbedding(_save(tmp_path, weights), spec, sample_rate=16000)
    assert embedding.multi_label == (spec.head == "sigmoid")
    audio = (0.1 * np.random.default_rng(1).normal(size=(2, 6000))).astype(np.float32)  # 16 kHz
    emb, probs = embedding.embed(audio)
    for i in range(2):
        want_emb, want_probs = reference(weights, scipy.signal.resample_poly(audio[i].astype(np.float64), 1, 2))
        np.testing.assert_allclose(emb[i], want_emb, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(probs[i], want_probs, rtol=1e-3, atol=1e-5)
    assert emb.dtype == probs.dtype == np.float32


def test_embedding_only_network_has_no_classes(tmp_path):
    spec = pretrained.ArchitectureSpec("emb", FRONTEND, (pretrained.conv("c", 2), pretrained.GLOBAL_POOL))
    embedding = pretrained.PretrainedEmbedding(_save(tmp_path, _random_weights(spec)), spec, sample_rate=8000)
    emb, probs = embedding.embed(np.zeros((3, 2000), np.float32))
    assert emb.shape == (3, 2) and probs.shape == (3, 0) and np.all(np.isfinite(emb))


def test_weights_file_validation(tmp_path):
    weights = _random_weights(POOLED)
    with pytest.raises(ValueError, match=f"{tmp_path / 'absent.npz'}: weights file not found"):
        pretrained.PretrainedEmbedding(tmp_path / "absent.npz", POOLED)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="garbage.npz: not a readable .npz"):
        pretrained.PretrainedEmbedding(garbage, POOLED)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single.npy: expected an .npz"):
        pretrained.PretrainedEmbedding(single, POOLED)
    missing = _save(tmp_path, {k: v for k, v in weights.items() if k != "c2/kernel"}, "missing.npz")
    with pytest.raises(ValueError, match=r"missing.npz: tensor 'c2/kernel' missing .*\(3, 1, 3, 4\)"):
        pretrained.PretrainedEmbedding(missing, POOLED)
    misshaped = _save(tmp_path, {**weights, "fc/kernel": np.zeros((5, 5), np.float32)}, "misshaped.npz")
    with pytest.raises(ValueError, match=r"misshaped.npz: tensor 'fc/kernel' has shape \(5, 5\).*\(4, 5\)"):
        pretrained.PretrainedEmbedding(misshaped, POOLED)
    integer = _save(tmp_path, {**weights, "out/bias": np.zeros(3, np.int32)}, "integer.npz")
    with pytest.raises(ValueError, match="integer.npz: tensor 'out/bias' must hold finite floats"):
        pretrained.PretrainedEmbedding(integer, POOLED)


def test_spec_validation():
    with pytest.raises(ValueError, match="set patch_frames"):
        pretrained.ArchitectureSpec("bad", FRONTEND, (pretrained.FLATTEN,)).tensor_shapes()
    with pytest.raises(ValueError, match="dense needs a vector"):
        pretrained.ArchitectureSpec("bad", FRONTEND, (pretrained.dense("d", 2),)).tensor_shapes()
    with pytest.raises(ValueError, match="unknown architecture 'panns'"):
        pretrained.PretrainedEmbedding("unused.npz", "panns")


def test_short_clip_is_rejected(tmp_path):
    embedding = pretrained.PretrainedEmbedding(_save(tmp_path, _random_weights(PATCHED)), PATCHED, sample_rate=8000)
    with pytest.raises(ValueError, match="fewer than one 8-frame patch"):
        embedding.embed(np.zeros((1, 500), np.float32))


def test_vggish_spec_tensor_shapes():
    """VGGish: 96 x 64 log-mel patches, four 2x2 max-pools -> 6 x 4 x 512 = 12288 inputs to fc1."""
    shapes = pretrained.ARCHITECTURES["vggish"].tensor_shapes()
    assert shapes["conv1/kernel"] == (3, 3, 1, 64)
    assert shapes["conv4/conv4_2/kernel"] == (3, 3, 512, 512)
    assert shapes["fc1/fc1_1/kernel"] == (12288, 4096)
    assert shapes["fc2/kernel"] == (4096, 128) and len(shapes) == 18
