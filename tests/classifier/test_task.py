import json

import flax.linen as nn
import jax
import numpy as np
import pytest

from experiments import classifier as classifier_config
from v2a_jax.classifier import task as task_lib
from v2a_jax.classifier.embedding import ClassifierEmbedding
from v2a_jax.train.trainer import train_and_evaluate


@pytest.fixture(scope="module")
def tiny_run(tiny_synth, tmp_path_factory):
    """Two training steps of the tiny variant on the tiny dataset: (config, workdir, final state)."""
    config = classifier_config.get_config("tiny")
    config.data.data_dir = tiny_synth[2]
    workdir = tmp_path_factory.mktemp("classifier_run")
    return config, workdir, train_and_evaluate(config, workdir)


def test_crop_labels_mark_classes_that_sound_in_the_crop():
    class_id = np.array([[3, 7, -1], [2, 2, 5]])
    present = np.array([[True, True, False], [True, True, True]])
    sounding = np.zeros((2, 4, 3), bool)
    sounding[0, 2, 0] = True  # class 3 sounds in one frame; class 7 is silent in the crop
    sounding[1, :, 1] = True  # the second class-2 source
    sounding[1, 0, 2] = True
    labels = np.asarray(task_lib.crop_labels(class_id, present, sounding, 10))
    expected = np.zeros((2, 10))
    expected[0, 3] = expected[1, 2] = expected[1, 5] = 1.0
    np.testing.assert_array_equal(labels, expected)


def test_average_precision_known_values():
    scores = np.array([[0.9, 0.5], [0.8, 0.5], [0.7, 0.1], [0.6, 0.2]])
    labels = np.array([[1, 1], [0, 0], [1, 0], [0, 0]], float)
    ap, has_positive = (np.asarray(a) for a in task_lib.average_precision(scores, labels))
    # Class 0: positives at ranks 1 and 3 -> (1/1 + 2/3) / 2. Class 1: the positive ties with a negative at the
    # top -> precision 1/2 there.
    np.testing.assert_allclose(ap, [(1 + 2 / 3) / 2, 0.5], rtol=1e-6)
    assert has_positive.tolist() == [True, True]
    _, has_positive = task_lib.average_precision(scores, np.zeros_like(labels))
    assert not np.any(has_positive)


def test_metrics_of_perfect_logits():
    labels = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]], np.float32)
    metrics = task_lib.classification_metrics(20.0 * (2 * labels - 1), labels)
    assert float(metrics["loss"]) < 1e-6
    assert float(metrics["top1_accuracy"]) == float(metrics["exact_match"]) == float(metrics["map"]) == 1.0


def test_mono_views_are_left_right_mid():
    audio = np.random.default_rng(0).normal(size=(2, 2, 10)).astype(np.float32)
    views = np.asarray(task_lib.mono_views(audio))
    np.testing.assert_array_equal(views[:, :2], audio)
    np.testing.assert_allclose(views[:, 2], (audio[:, 0] + audio[:, 1]) / 2, rtol=1e-6)


def test_params_carry_logical_axis_names():
    config = classifier_config.get_config("tiny")
    batch = {"audio": jax.ShapeDtypeStruct((2, 2, 10240), np.float32)}
    params = jax.eval_shape(task_lib.ClassifierTask(config).init, jax.random.key(0), batch)
    leaves = jax.tree.leaves(params, is_leaf=lambda x: isinstance(x, nn.LogicallyPartitioned))
    assert leaves and all(isinstance(leaf, nn.LogicallyPartitioned) for leaf in leaves)
    names = {name for leaf in leaves for name in leaf.names}
    assert names <= {"conv_kernel", "channels", "embed", "vocab", None} and {"embed", "channels"} <= names
    assert params["logits"]["kernel"].value.shape == (16, 10)


def test_training_steps_through_the_trainer(tiny_run):
    _, workdir, state = tiny_run
    assert int(state.step) == 2
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["split"] == "train"]
    val = [r for r in records if r["split"] == "val"]
    assert [r["step"] for r in train] == [1, 2] and [r["step"] for r in val] == [2]
    for record in train + val:
        assert {"loss", "top1_accuracy", "exact_match", "map"} <= set(record)
        assert np.isfinite(record["loss"]) and 0.0 <= record["map"] <= 1.0
    assert (workdir / "checkpoints").is_dir()


def test_classifier_embedding_is_deterministic_and_uses_ema_params(tiny_run):
    config, workdir, state = tiny_run
    embedding = ClassifierEmbedding(config, workdir)
    assert embedding.step == 2 and embedding.sample_rate == 16000 and embedding.multi_label
    jax.tree.map(np.testing.assert_array_equal, embedding.params, jax.device_get(state.ema_params))
    audio = np.random.default_rng(1).normal(size=(3, 6000)).astype(np.float32) * 0.1
    emb, probs = embedding.embed(audio)
    assert emb.shape == (3, 16) and probs.shape == (3, 10)
    assert emb.dtype == probs.dtype == np.float32 and np.all((probs > 0) & (probs < 1))
    emb2, probs2 = embedding.embed(audio)
    np.testing.assert_array_equal(emb, emb2)
    # From the workdir alone (the config the trainer saved there): the same embedding.
    np.testing.assert_array_equal(ClassifierEmbedding.from_workdir(workdir).embed(audio)[0], emb)
    np.testing.assert_array_equal(probs, probs2)
    # Clip i's embedding does not depend on the other clips of the batch.
    np.testing.assert_allclose(embedding.embed(audio[1:2])[0], emb[1:2], rtol=1e-5, atol=1e-6)
    silence_emb, silence_probs = embedding.embed(np.zeros((2, 6000), np.float32))
    assert np.all(np.isfinite(silence_emb)) and np.all(np.isfinite(silence_probs))
    with pytest.raises(ValueError, match=r"\[B, N\]"):
        embedding.embed(audio[0])


def test_classifier_embedding_without_a_checkpoint_names_the_directory(tiny_synth, tmp_path):
    config = classifier_config.get_config("tiny")
    config.data.data_dir = tiny_synth[2]
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        ClassifierEmbedding(config, tmp_path)
