"""Notebook 09's "several members in one network" (``helpers.lesson.families``): each
BatchEnsemble layer and each packed block computes exactly what M separate members compute on
the same input, and a network made of them saves to ``.keras`` and loads in a fresh process."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers.config import project_root
from helpers.lesson import families
from helpers.lesson.custom_cnn import custom_cnn


M, BATCH = 3, 4


def randomized(layer, seed):
    """Give every weight of ``layer`` random values (biases start at zero, fast weights near 1)."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def member_slices(x):
    return [x[i * BATCH:(i + 1) * BATCH] for i in range(M)]


def test_batch_ensemble_dense_is_m_dense_layers():
    x = np.random.default_rng(0).normal(size=(M * BATCH, 5)).astype("float32")
    be = families.BatchEnsembleDense(6, M, activation="relu")
    be.build(x.shape)
    randomized(be, 1)
    batched = np.asarray(be(x))
    for i, (inputs, out) in enumerate(zip(member_slices(x), member_slices(batched))):
        dense = keras.layers.Dense(6, activation="relu")
        dense.build(inputs.shape)  # member i: W scaled by r_i on its inputs, s_i on its outputs
        dense.set_weights([be.r.numpy()[i][:, None] * be.kernel.numpy() * be.s.numpy()[i],
                           be.bias.numpy()[i]])
        np.testing.assert_allclose(out, np.asarray(dense(inputs)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_batch_ensemble_conv_is_m_convolutions(padding):
    x = np.random.default_rng(2).normal(size=(M * BATCH, 7, 7, 4)).astype("float32")
    be = families.BatchEnsembleConv2D(5, 3, M, padding=padding, activation="relu")
    be.build(x.shape)
    randomized(be, 3)
    batched = np.asarray(be(x))
    for i, (inputs, out) in enumerate(zip(member_slices(x), member_slices(batched))):
        conv = keras.layers.Conv2D(5, 3, padding=padding, activation="relu")
        conv.build(inputs.shape)
        kernel = be.kernel.numpy() * be.r.numpy()[i][:, None] * be.s.numpy()[i]
        conv.set_weights([kernel, be.bias.numpy()[i]])
        np.testing.assert_allclose(out, np.asarray(conv(inputs)), rtol=1e-4, atol=1e-5)


def test_repeat_and_split_give_each_member_the_same_batch():
    x = np.arange(2 * 3, dtype="float32").reshape(2, 3)
    repeated = np.asarray(families.RepeatForMembers(M)(x))
    np.testing.assert_array_equal(repeated, np.concatenate([x] * M))
    split = np.asarray(families.SplitMembers(M)(repeated))
    assert split.shape == (2, M, 3)
    for i in range(M):
        np.testing.assert_array_equal(split[:, i], x)


def test_packed_dense_is_m_dense_layers_on_their_own_groups():
    x = np.random.default_rng(4).normal(size=(BATCH, M * 5)).astype("float32")
    packed = families.PackedDense(M * 2, M, activation="relu")
    packed.build(x.shape)
    randomized(packed, 5)
    out = np.asarray(packed(x))
    kernel, bias = packed.get_weights()
    for i in range(M):
        dense = keras.layers.Dense(2, activation="relu")
        dense.build((None, 5))
        dense.set_weights([kernel[i], bias[2 * i:2 * i + 2]])
        alone = np.asarray(dense(x[:, 5 * i:5 * i + 5]))
        np.testing.assert_allclose(out[:, 2 * i:2 * i + 2], alone, rtol=1e-4, atol=1e-5)


def test_packed_block_is_m_convolutions_then_m_dense_layers():
    """The packed block as the network uses it: ``PackedConv2D``, ``GroupFlatten`` and
    ``PackedDense`` equal, for member i, a convolution on its channels, a ``Flatten`` and a
    dense layer, each with member i's part of the weights."""
    x = np.random.default_rng(6).normal(size=(BATCH, 6, 6, M * 2)).astype("float32")
    conv = families.PackedConv2D(M * 4, 3, M, activation="relu")
    packed = families.PackedDense(M * 3, M)
    packed(families.GroupFlatten(M)(conv(x)))  # builds both
    randomized(conv, 7)
    randomized(packed, 8)
    out = np.asarray(packed(families.GroupFlatten(M)(conv(x))))
    (conv_kernel, conv_bias), (kernel, bias) = conv.get_weights(), packed.get_weights()
    for i in range(M):
        own_conv = keras.layers.Conv2D(4, 3, activation="relu")
        own_conv.build((None, 6, 6, 2))
        own_conv.set_weights([conv_kernel[..., 4 * i:4 * i + 4], conv_bias[4 * i:4 * i + 4]])
        dense = keras.layers.Dense(3)
        dense.build((None, 4 * 4 * 4))
        dense.set_weights([kernel[i], bias[3 * i:3 * i + 3]])
        alone = dense(keras.layers.Flatten()(own_conv(x[..., 2 * i:2 * i + 2])))
        np.testing.assert_allclose(out[:, 3 * i:3 * i + 3], np.asarray(alone), rtol=1e-4,
                                   atol=1e-4)


def test_packed_conv_is_keras_grouped_convolution():
    """Same weights, same answer as ``Conv2D(groups=M)``, which TensorFlow runs with XLA on a
    CPU."""
    x = np.random.default_rng(13).normal(size=(BATCH, 6, 6, M * 2)).astype("float32")
    packed = families.PackedConv2D(M * 4, 3, M, padding="same")
    grouped = keras.layers.Conv2D(M * 4, 3, groups=M, padding="same")
    packed.build(x.shape)
    grouped.build(x.shape)
    randomized(packed, 14)
    grouped.set_weights(packed.get_weights())
    np.testing.assert_allclose(np.asarray(packed(x)), np.asarray(grouped(x)), rtol=1e-4,
                               atol=1e-4)


def test_members_loss_is_the_members_mean_cross_entropy():
    rng = np.random.default_rng(9)
    probs = rng.dirichlet(np.ones(4), size=(BATCH, M)).astype("float32")
    labels = np.array([0, 3, 1, 2])
    expected = -np.log(probs[np.arange(BATCH), :, labels]).mean(axis=1)
    np.testing.assert_allclose(np.asarray(families.members_crossentropy(labels, probs)), expected,
                               rtol=1e-5)
    mean_right = probs.mean(axis=1).argmax(axis=1) == labels
    np.testing.assert_array_equal(np.asarray(families.members_accuracy(labels, probs)), mean_right)


@pytest.fixture(scope="module")
def networks():
    from helpers import config
    settings = config.load({"ENSEMBLE_PRESET": "smoke"})
    return settings, {"batch_ensemble": families.batch_ensemble_network(settings, 8, M, False),
                      "packed": families.packed_network(settings, 8, M, False)}


def test_the_networks_give_m_different_members_at_a_copys_cost(networks):
    settings, built = networks
    one_copy = custom_cnn(settings, 8).count_params()
    images = np.random.default_rng(10).uniform(0, 255, size=(BATCH, *settings.image_shape))
    for name, model in built.items():
        probs = np.asarray(model.predict(images.astype("float32"), verbose=0))
        assert probs.shape == (BATCH, M, 8), name
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
        assert np.abs(probs[:, 0] - probs[:, 1]).max() > 1e-4, f"{name}: members start equal"
    # BatchEnsemble adds only fast weights and biases; packing with alpha=2 costs about
    # alpha**2 / M of a copy in the grouped layers, and the first layer alpha times
    assert built["batch_ensemble"].count_params() < 1.1 * one_copy
    assert built["packed"].count_params() < 2 * one_copy


def test_a_network_with_them_loads_in_a_fresh_process(networks, tmp_path):
    settings, built = networks
    images = np.random.default_rng(11).uniform(0, 255, size=(BATCH, *settings.image_shape))
    np.save(tmp_path / "images.npy", images.astype("float32"))
    for name, model in built.items():
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", model.predict(images.astype("float32"), verbose=0))
    code = (
        "import sys, numpy as np, keras\n"
        "import helpers.lesson.families\n"
        "folder = sys.argv[1]\n"
        "images = np.load(f'{folder}/images.npy')\n"
        "for name in ('batch_ensemble', 'packed'):\n"
        "    model = keras.saving.load_model(f'{folder}/{name}.keras')\n"
        "    assert model.loss.__name__ == 'members_crossentropy', model.loss\n"
        "    np.save(f'{folder}/{name}_loaded.npy', model.predict(images, verbose=0))\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, timeout=300, cwd=project_root())
    assert result.returncode == 0, result.stderr[-3000:]
    for name in built:
        np.testing.assert_allclose(np.load(tmp_path / f"{name}_loaded.npy"),
                                   np.load(tmp_path / f"{name}.npy"), rtol=1e-5, atol=1e-6)


def test_the_deployable_model_averages_the_members(networks):
    settings, built = networks
    images = np.random.default_rng(12).uniform(0, 255, size=(BATCH, *settings.image_shape))
    images = images.astype("float32")
    for model in built.values():
        mean = families.members_mean(model)
        np.testing.assert_allclose(mean.predict(images, verbose=0),
                                   model.predict(images, verbose=0).mean(axis=1), rtol=1e-5,
                                   atol=1e-6)
