"""The three members as notebooks 02-04 build them, for the benchmarks.

The notebooks keep their architecture code in view because it is the lesson; the benchmarks
need the same models without running a notebook, so this module repeats them. If you change a
member in its notebook, change it here too (``python benchmarks/training_cost.py`` prints the
parameter counts, which match the notebooks' ``models.count_params(model)``).
"""

# helpers first: importing it quiets TensorFlow's C++ start-up messages.
from helpers import config, data, models  # noqa: I001
import keras

#: Trainable layers left at the end of each backbone (notebooks 03 and 04).
UNFROZEN = {"vgg16": 3, "mobilenet": 5}


def build(name: str, settings: config.Settings, n_classes: int = 8) -> keras.Model:
    """``custom_cnn``, ``vgg16`` or ``mobilenet``, compiled as in its notebook."""
    inputs = models.image_input(settings)
    x = data.augmentation(seed=settings.seed)(inputs)
    if name == "custom_cnn":
        x = keras.layers.Rescaling(1.0 / 255)(x)
        for filters in (32, 64, 128, 256):
            x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
            x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Dropout(0.25)(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(128, activation="relu")(x)
        x = keras.layers.Dense(64, activation="relu")(x)
        optimizer = keras.optimizers.RMSprop()
    else:
        backbone = models.freeze_all_but_last(models.backbone(name, settings), UNFROZEN[name])
        x = models.BackbonePreprocess(name)(x)
        x = backbone(x, training=False)
        if name == "vgg16":
            x = keras.layers.Dropout(0.25)(x)
            x = keras.layers.Flatten()(x)
        else:
            x = keras.layers.Dropout(0.5)(x)
            x = keras.layers.Flatten()(x)
            x = keras.layers.Dense(32, activation="relu")(x)
            x = keras.layers.Dropout(0.5)(x)
            x = keras.layers.Dense(16, activation="relu")(x)
        optimizer = keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def random_images(n: int, image_size: int, seed: int = 0):
    """``n`` random 0-255 images and labels: timing does not depend on what the pixels show."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, image_size, image_size, 3), dtype=np.uint8).astype("float32")
    return images, rng.integers(0, 8, n).astype("int32")


def settings_for(preset: str, image_size: int | None = None) -> config.Settings:
    """A preset's settings with random weights (the same compute as ImageNet weights when
    the same layers are frozen, and no download needed)."""
    env = {"ENSEMBLE_PRESET": preset, "ENSEMBLE_WEIGHTS": "none"}
    if image_size:
        env["ENSEMBLE_IMAGE_SIZE"] = str(image_size)
    return config.load(env)
