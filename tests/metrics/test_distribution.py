import numpy as np
import pytest
from scipy.stats import special_ortho_group

from v2a_jax.metrics import distribution

# ---- Frechet distance.


def test_fd_of_diagonal_gaussians_matches_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    var1, var2 = rng.uniform(0.1, 3.0, 5), rng.uniform(0.1, 3.0, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    got = distribution.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_fd_is_rotation_invariant_for_commuting_covariances():
    """Covariances sharing eigenvectors: FD = ||dmu||^2 + sum (sqrt(l1) - sqrt(l2))^2 over the eigenvalues."""
    rng = np.random.default_rng(1)
    rot = special_ortho_group.rvs(4, random_state=2)
    l1, l2 = rng.uniform(0.2, 2.0, 4), rng.uniform(0.2, 2.0, 4)
    mu = rng.normal(size=4)
    got = distribution.frechet_distance(mu, rot @ np.diag(l1) @ rot.T, np.zeros(4), rot @ np.diag(l2) @ rot.T)
    np.testing.assert_allclose(got, mu @ mu + np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2), rtol=1e-8)


@pytest.mark.parametrize("num_clips", [3, 200])  # fewer clips than dimensions: singular covariance
def test_fd_of_identical_sets_is_zero(num_clips):
    x = np.random.default_rng(3).normal(size=(num_clips, 8))
    assert abs(distribution.frechet_distance_from_embeddings(x, x)) < 1e-6


def test_fd_of_shifted_set_is_squared_shift():
    x = np.random.default_rng(4).normal(size=(100, 6))
    delta = np.array([1.0, -2.0, 0.5, 0.0, 0.0, 3.0])
    np.testing.assert_allclose(distribution.frechet_distance_from_embeddings(x, x + delta), delta @ delta, rtol=1e-6)


def test_fd_of_scaled_set():
    """y = 2x: C_y = 4 C_x, so tr(C_x + C_y - 2 (C_x C_y)^(1/2)) = tr(C_x), and the means differ by mean(x)."""
    x = np.random.default_rng(5).normal(size=(50, 3))
    expected = np.trace(np.cov(x, rowvar=False)) + x.mean(0) @ x.mean(0)
    np.testing.assert_allclose(distribution.frechet_distance_from_embeddings(x, 2.0 * x), expected, rtol=1e-6)


def test_fd_errors():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="at least 2 clips"):
        distribution.frechet_distance_from_embeddings(x[:1], x)
    with pytest.raises(ValueError, match="expected"):
        distribution.frechet_distance_from_embeddings(x, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="cov2 has shape"):
        distribution.frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        distribution.frechet_distance_from_embeddings(x, np.full((4, 3), np.nan))


def test_fd_of_constant_embeddings_is_finite():
    """Silence often maps every clip to one embedding: zero covariances."""
    a, b = np.zeros((4, 3)), np.ones((4, 3))
    np.testing.assert_allclose(distribution.frechet_distance_from_embeddings(a, b), 3.0, atol=1e-9)


# ---- KL divergence.


def test_kl_categorical_known_value_and_direction():
    ref = np.array([[0.5, 0.5], [1.0, 0.0]])
    gen = np.array([[0.9, 0.1], [0.5, 0.5]])
    clip0 = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    clip1 = np.log(1.0 / 0.5)  # the 0 * log(0 / 0.5) term vanishes (up to the 1e-6 clipping)
    np.testing.assert_allclose(distribution.kl_divergence(ref, gen, multi_label=False), (clip0 + clip1) / 2, rtol=1e-4)
    assert distribution.kl_divergence(gen, ref, multi_label=False) != pytest.approx((clip0 + clip1) / 2, rel=1e-2)


def test_kl_bernoulli_known_value():
    ref, gen = np.array([[0.2, 0.7]]), np.array([[0.5, 0.6]])
    expected = sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)) for p, q in ((0.2, 0.5), (0.7, 0.6)))
    np.testing.assert_allclose(distribution.kl_divergence(ref, gen, multi_label=True), expected, rtol=1e-6)


@pytest.mark.parametrize("multi_label", [False, True])
def test_kl_of_identical_predictions_is_zero(multi_label):
    p = np.random.default_rng(6).dirichlet(np.ones(5), size=7)
    p[0] = [1.0, 0.0, 0.0, 0.0, 0.0]  # exact zeros and ones too
    assert distribution.kl_divergence(p, p, multi_label) == 0.0


def test_kl_of_a_missed_certain_class_is_finite():
    kl = distribution.kl_divergence(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), multi_label=False)
    assert np.isfinite(kl) and kl > 10.0


def test_kl_errors():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match="shapes differ"):
        distribution.kl_divergence(p, p[:1], multi_label=False)
    with pytest.raises(ValueError, match="sum to 1"):
        distribution.kl_divergence(p * 0.5, p, multi_label=False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        distribution.kl_divergence(p, p + 1.0, multi_label=True)


# ---- Inception score.


def test_is_of_uniform_predictions_is_one():
    np.testing.assert_allclose(distribution.inception_score(np.full((8, 5), 0.2)), 1.0)


def test_is_of_balanced_one_hot_predictions_is_num_classes():
    np.testing.assert_allclose(distribution.inception_score(np.tile(np.eye(4), (3, 1))), 4.0)


def test_is_of_identical_confident_predictions_is_one():
    np.testing.assert_allclose(distribution.inception_score(np.tile([0.0, 1.0, 0.0], (6, 1))), 1.0)


def test_is_lies_between_one_and_num_classes():
    p = np.random.default_rng(7).dirichlet(np.full(6, 0.3), size=50)
    assert 1.0 < distribution.inception_score(p) < 6.0


# ---- Metrics through an embedding.


class BandEnergyEmbedding:
    """Embedding = log energies of 4 FFT bands; class probs = softmax of the same (single-label), or sigmoid
    (multi-label). Records what it was given."""

    sample_rate = 16000

    def __init__(self, multi_label=False, num_classes=4):
        self.multi_label, self.num_classes, self.calls = multi_label, num_classes, []

    def embed(self, audio):
        self.calls.append(np.array(audio))
        power = np.abs(np.fft.rfft(audio, axis=-1)) ** 2
        emb = np.log(np.stack([b.sum(-1) for b in np.array_split(power, 4, axis=-1)], -1) + 1e-8)
        logits = emb[:, : self.num_classes] / 10.0
        if self.multi_label:
            probs = 1.0 / (1.0 + np.exp(-logits))
        else:
            probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        return emb.astype(np.float32), probs.astype(np.float32)


def _clips(seed, num=6, n=1024):
    rng = np.random.default_rng(seed)
    # Clips differ in spectral tilt so that the band energies vary between clips.
    white = rng.normal(size=(num, 2, n))
    tilt = rng.uniform(0.0, 0.95, size=(num, 2, 1))
    return (0.1 * (white + tilt * np.roll(white, 1, axis=-1))).astype(np.float32)


@pytest.mark.parametrize("multi_label", [False, True])
def test_identical_sets_give_zero_fd_and_kl(multi_label):
    x = _clips(0)
    out = distribution.distribution_metrics(BandEnergyEmbedding(multi_label), x, x)
    assert set(out) == {f"{m}_{c}" for m in ("fd", "kl", "is") for c in ("left", "right", "mid")}
    for c in ("left", "right", "mid"):
        assert abs(out[f"fd_{c}"]) < 1e-6 and out[f"kl_{c}"] == 0.0 and 1.0 <= out[f"is_{c}"] <= 4.0


def test_channels_are_left_right_and_mid():
    ref = _clips(1)
    pred = ref.copy()
    pred[:, 1] = _clips(2)[:, 1]  # only the right ear differs
    embedding = BandEnergyEmbedding()
    out = distribution.distribution_metrics(embedding, pred, ref, batch_size=4)
    assert abs(out["fd_left"]) < 1e-6 and out["kl_left"] == 0.0
    assert out["fd_right"] > 1e-3 and out["kl_right"] > 0.0 and out["fd_mid"] > 1e-3
    # Calls go (pred, ref) per channel in batches of 4: 6 clips -> 2 calls each.
    seen = [np.concatenate(embedding.calls[i : i + 2]) for i in range(0, 12, 2)]
    np.testing.assert_array_equal(seen[0], pred[:, 0])
    np.testing.assert_array_equal(seen[3], ref[:, 1])
    np.testing.assert_allclose(seen[4], (pred[:, 0] + pred[:, 1]) / 2, rtol=1e-6)


def test_silence_gives_finite_metrics():
    ref = _clips(3)
    out = distribution.distribution_metrics(BandEnergyEmbedding(multi_label=True), np.zeros_like(ref), ref)
    assert all(np.isfinite(v) for v in out.values())
    assert out["fd_mid"] > 1.0
    np.testing.assert_allclose(out["is_mid"], 1.0, rtol=1e-6)  # every silent clip predicted alike


def test_embedding_without_classes_gives_fd_only():
    x = _clips(4)
    out = distribution.distribution_metrics(BandEnergyEmbedding(num_classes=0), x, x[::-1])
    assert set(out) == {"fd_left", "fd_right", "fd_mid"}


def test_distribution_metrics_errors():
    x = _clips(5)
    embedding = BandEnergyEmbedding()
    with pytest.raises(ValueError, match="one shape"):
        distribution.distribution_metrics(embedding, x, x[:4])
    with pytest.raises(ValueError, match="at least 2 clips"):
        distribution.distribution_metrics(embedding, x[:1], x[:1])
    with pytest.raises(ValueError, match="binaural"):
        distribution.distribution_metrics(embedding, x[:, :1], x[:, :1])
    with pytest.raises(ValueError, match="22050 Hz"):
        distribution.distribution_metrics(embedding, x, x, sample_rate=22050)
