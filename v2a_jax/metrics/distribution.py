"""Distribution metrics of generated audio against references, through a pluggable audio embedding (numpy/scipy).

The embedding networks of the literature (VGGish, PANNs, PaSST) take mono audio, so a binaural set is scored three
times: on the left ears, the right ears and the mid channel (L + R) / 2 (shared/reference.md, section 3: these
metrics are blind to spatial quality; the binaural metrics of `binaural.py` measure that).

- Frechet distance (FAD, Kilgour et al. 2019; FID, Heusel et al. 2017): Gaussians fitted to the two sets of
  clip embeddings, FD = ||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)). The matrix square root follows
  pytorch-fid's `calculate_frechet_distance`: scipy.linalg.sqrtm; if it is not finite (singular product) both
  covariances get `eps * I` added and it is retried; a numerically complex result whose diagonal has an imaginary
  part above 1e-3 is an error, a smaller one is dropped.
- KL divergence (AudioGen / audiocraft's PaSST KLD, av-benchmark as MMAudio uses it): paired clips, the mean
  over clips of KL(p_ref || p_gen) of the classifier's class predictions, i.e. how much of what the reference
  clip contains the generated clip misses. For single-label (softmax) classifiers p is the categorical
  distribution over K classes (av-benchmark's `kl_softmax`). For multi-label (sigmoid) classifiers each class is
  an independent Bernoulli and the KL is summed over classes: sum_k p log(p / q) + (1 - p) log((1 - p) / (1 - q)).
  (av-benchmark's `kl_sigmoid` keeps only the first term, which is not a divergence: it can be negative.)
  Probabilities are clipped to [1e-6, 1 - 1e-6] first (av-benchmark's EPS), so a zero prediction costs a finite
  amount and identical predictions give exactly 0.
- Inception score (Salimans et al. 2016): exp(mean_i KL(p(y | x_i) || p(y))) with p(y) = mean_i p(y | x_i),
  one split, on the generated clips; between 1 (every clip predicted alike) and K (confident, balanced).
  A multi-label classifier's per-class probabilities are normalised to sum to 1 per clip first.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
import scipy.special

from v2a_jax.metrics.binaural import DEFAULT_SAMPLE_RATE, as_binaural

if TYPE_CHECKING:  # the protocol lives with its implementations, which need jax; these metrics do not
    from v2a_jax.classifier.embedding import AudioEmbedding

FD_EPS = 1e-6  # covariance offset of the singular-product retry (pytorch-fid's default)
FD_MAX_IMAG = 1e-3  # largest tolerated imaginary part on the diagonal of sqrtm(C1 C2) (pytorch-fid's atol)
PROB_EPS = 1e-6  # probability clipping of the KL (av-benchmark's EPS)
PROB_SUM_TOL = 1e-3  # |row sum - 1| accepted as a categorical distribution
CHANNELS = ("left", "right", "mid")


def embedding_statistics(embeddings) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[D]` and unbiased covariance `[D, D]` (float64) of `[B, D]` embeddings; B >= 2."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings: expected [B, D], got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"embeddings: a covariance needs at least 2 clips, got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("embeddings: contain NaN or inf")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu1, cov1, mu2, cov2, eps: float = FD_EPS) -> float:
    """Frechet distance between N(mu1, cov1) and N(mu2, cov2) (module docstring); mu `[D]`, cov `[D, D]`."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    dim = mu1.shape[0] if mu1.ndim == 1 else -1
    for name, shape, want in (
        ("mu1", mu1.shape, (dim,)),
        ("mu2", mu2.shape, (dim,)),
        ("cov1", cov1.shape, (dim, dim)),
        ("cov2", cov2.shape, (dim, dim)),
    ):
        if shape != want:
            raise ValueError(f"frechet_distance: {name} has shape {shape}, expected {want} (mu1 {mu1.shape})")
    with warnings.catch_warnings():
        # A singular product (fewer clips than dimensions, silence) is expected; it is handled below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov1 @ cov2)
        if not np.all(np.isfinite(covmean)):
            offset = eps * np.eye(dim)
            covmean = scipy.linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(np.diagonal(covmean).imag))
        if imag > FD_MAX_IMAG:
            raise ValueError(
                f"frechet_distance: sqrtm(cov1 @ cov2) has an imaginary part of {imag:.3g} on its "
                f"diagonal (covariances not positive semi-definite?)"
            )
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))


def frechet_distance_from_embeddings(emb1, emb2) -> float:
    """Frechet distance between Gaussians fitted to `[B1, D]` and `[B2, D]` embeddings (B1, B2 >= 2)."""
    emb1, emb2 = np.asarray(emb1), np.asarray(emb2)
    if emb1.ndim != 2 or emb2.ndim != 2 or emb1.shape[1] != emb2.shape[1]:
        raise ValueError(
            f"frechet_distance_from_embeddings: expected [B1, D] and [B2, D], got {emb1.shape} and {emb2.shape}"
        )
    return frechet_distance(*embedding_statistics(emb1), *embedding_statistics(emb2))


def _check_probs(probs, name: str, categorical: bool) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"{name}: expected class probabilities [B, K] with K >= 1, got shape {p.shape}")
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError(f"{name}: probabilities must lie in [0, 1]")
    if categorical and not np.allclose(p.sum(axis=1), 1.0, atol=PROB_SUM_TOL):
        raise ValueError(f"{name}: rows must sum to 1 (a categorical distribution per clip)")
    return p


def kl_divergence(p_ref, p_gen, multi_label: bool) -> float:
    """Mean over paired clips of KL(p_ref || p_gen) in nats (module docstring).

    Args:
      p_ref, p_gen: `[B, K]` class probabilities of the reference and the generated clip i; rows sum to 1 unless
        `multi_label`, where each entry is an independent class probability.
      multi_label: Bernoulli KL summed over classes (sigmoid classifiers) instead of the categorical KL.
    """
    p = _check_probs(p_ref, "p_ref", not multi_label)
    q = _check_probs(p_gen, "p_gen", not multi_label)
    if p.shape != q.shape:
        raise ValueError(f"kl_divergence: p_ref and p_gen shapes differ: {p.shape} vs {q.shape}")
    p, q = np.clip(p, PROB_EPS, 1.0 - PROB_EPS), np.clip(q, PROB_EPS, 1.0 - PROB_EPS)
    kl = scipy.special.rel_entr(p, q)
    if multi_label:
        kl = kl + scipy.special.rel_entr(1.0 - p, 1.0 - q)
    return float(np.mean(np.sum(kl, axis=1)))


def inception_score(probs) -> float:
    """exp(mean_i KL(p(y | x_i) || p(y))) of `[B, K]` per-clip class distributions (rows sum to 1); in [1, K]."""
    p = _check_probs(probs, "probs", categorical=True)
    marginal = p.mean(axis=0, keepdims=True)
    # rel_entr gives 0 where p = 0; the marginal is > 0 wherever some p > 0.
    return float(np.exp(np.mean(np.sum(scipy.special.rel_entr(p, marginal), axis=1))))


def as_class_distribution(probs, multi_label: bool) -> np.ndarray:
    """`[B, K]` probabilities as per-clip categorical distributions: unchanged for a single-label classifier,
    divided by their sum for a multi-label one (a row of zeros becomes uniform)."""
    p = np.asarray(probs, dtype=np.float64)
    if not multi_label:
        return p
    p = p + 1e-12  # keeps an all-zero row finite (then uniform)
    return p / p.sum(axis=1, keepdims=True)


def _embed_all(embedding: AudioEmbedding, audio: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    parts = [embedding.embed(audio[i : i + batch_size]) for i in range(0, audio.shape[0], batch_size)]
    return np.concatenate([e for e, _ in parts]), np.concatenate([p for _, p in parts])


def distribution_metrics(
    embedding: AudioEmbedding, pred_audio, ref_audio, sample_rate: int = DEFAULT_SAMPLE_RATE, batch_size: int = 64
) -> dict[str, float]:
    """FD, KL and IS of generated binaural clips against their references, per ear and on the mid channel.

    Args:
      embedding: an AudioEmbedding (v2a_jax/classifier/embedding.py) whose `sample_rate` is `sample_rate`.
      pred_audio, ref_audio: `[B, 2, N]` binaural clips (index 0 = left ear), clip i of pred generated for the
        video of clip i of ref (the KL pairs them); B >= 2 (FD needs covariances).
      sample_rate: Hz of both.
      batch_size: clips per `embedding.embed` call.
    Returns:
      For c in left, right, mid: `fd_c` (generated vs reference embeddings); when the embedding has classes
      (K > 0), also `kl_c` (mean paired KL(ref || gen)) and `is_c` (inception score of the generated clips).
    """
    pred, ref = as_binaural(pred_audio, "pred_audio"), as_binaural(ref_audio, "ref_audio")
    if pred.shape != ref.shape or pred.ndim != 3:
        raise ValueError(
            f"distribution_metrics: expected pred_audio and ref_audio of one shape [B, 2, N], got "
            f"{pred.shape} and {ref.shape}"
        )
    if pred.shape[0] < 2:
        raise ValueError(f"distribution_metrics: the Frechet distance needs at least 2 clips, got {pred.shape[0]}")
    if embedding.sample_rate != sample_rate:
        raise ValueError(
            f"distribution_metrics: audio at {sample_rate} Hz but the embedding takes {embedding.sample_rate} Hz"
        )
    out = {}
    for channel, (p, r) in zip(CHANNELS, _mono_channels(pred, ref)):
        emb_p, probs_p = _embed_all(embedding, p.astype(np.float32), batch_size)
        emb_r, probs_r = _embed_all(embedding, r.astype(np.float32), batch_size)
        out[f"fd_{channel}"] = frechet_distance_from_embeddings(emb_p, emb_r)
        if probs_p.shape[-1]:
            out[f"kl_{channel}"] = kl_divergence(probs_r, probs_p, embedding.multi_label)
            out[f"is_{channel}"] = inception_score(as_class_distribution(probs_p, embedding.multi_label))
    return out


def _mono_channels(pred: np.ndarray, ref: np.ndarray):
    """(pred, ref) `[B, N]` pairs for the left ear, the right ear and the mid channel (L + R) / 2."""
    yield pred[:, 0], ref[:, 0]
    yield pred[:, 1], ref[:, 1]
    yield pred.mean(axis=1), ref.mean(axis=1)
