"""The three members as notebooks 02-04 build them, in one place for the code that needs the
same models without running those notebooks: notebook 08 (a fresh student of the same
architecture) and the benchmarks.

The notebooks keep their architecture code in view because it is the lesson. A test
(``tests/test_members.py``) runs the notebooks' own model-building cells and checks that they
build exactly what this module builds, so the two cannot drift apart.
"""

# helpers first: importing it quiets TensorFlow's C++ start-up messages.
from helpers import config, data, models  # noqa: I001
import keras

#: Trainable layers left at the end of each pre-trained backbone (notebooks 03 and 04).
UNFROZEN = {"vgg16": 3, "mobilenet": 5}
#: Backbones trained whole when there are no ImageNet weights (notebooks 03 and 04 say why).
TRAINED_WHOLE_WITHOUT_WEIGHTS = ("mobilenet",)
NAMES = ("custom_cnn", "vgg16", "mobilenet")


def learns_from_scratch(name: str, settings: config.Settings,
                        as_with_imagenet: bool = False) -> bool:
    """True for a backbone trained whole from random weights (MobileNet without ImageNet
    weights)."""
    return (settings.weights == "none" and not as_with_imagenet
            and name in TRAINED_WHOLE_WITHOUT_WEIGHTS)


def optimizer(name: str, settings: config.Settings,
              as_with_imagenet: bool = False) -> keras.optimizers.Optimizer:
    """RMSprop for the custom CNN (the original's), SGD 1e-3 with momentum 0.9 for fine-tuned
    backbones, Adam 1e-3 for a backbone learning from scratch (notebook 04 says why)."""
    if name == "custom_cnn":
        return keras.optimizers.RMSprop()
    if learns_from_scratch(name, settings, as_with_imagenet):
        return keras.optimizers.Adam(learning_rate=1e-3)
    return keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9)


def prepared_backbone(name: str, settings: config.Settings, train_data=None,
                      as_with_imagenet: bool = False) -> tuple[keras.Model, bool | None]:
    """The backbone ready for training and the ``training`` argument to call it with.

    With ImageNet weights (or ``as_with_imagenet``, for timing random weights like them): all but
    the last layers frozen, called with ``training=False`` so BatchNormalization keeps the
    pre-trained statistics. Without weights, MobileNet is trained whole and its
    BatchNormalization learns (``training=None``), after its statistics are estimated on
    ``train_data`` when given; VGG16 keeps its frozen random convolutions (measured: training
    it whole costs about three times as much per image)."""
    backbone = models.backbone(name, settings)
    if not learns_from_scratch(name, settings, as_with_imagenet):
        return models.freeze_all_but_last(backbone, UNFROZEN[name]), False
    models.train_whole(backbone)
    if train_data is not None:
        models.estimate_batchnorm_statistics(backbone, name, train_data)
    return backbone, None


def build(name: str, settings: config.Settings, n_classes: int = 8, train_data=None,
          as_with_imagenet: bool = False) -> keras.Model:
    """``custom_cnn``, ``vgg16`` or ``mobilenet``, compiled as in its notebook."""
    if name not in NAMES:
        raise ValueError(f"Unknown member {name!r}; choose one of {', '.join(NAMES)}.")
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
    else:
        backbone, training = prepared_backbone(name, settings, train_data, as_with_imagenet)
        x = models.BackbonePreprocess(name)(x)
        x = backbone(x, training=training)
        if name == "vgg16":
            x = keras.layers.Dropout(0.25)(x)
            x = keras.layers.Flatten()(x)
        elif learns_from_scratch(name, settings, as_with_imagenet):
            x = keras.layers.GlobalAveragePooling2D()(x)
        else:
            x = keras.layers.Dropout(0.5)(x)
            x = keras.layers.Flatten()(x)
            x = keras.layers.Dense(32, activation="relu")(x)
            x = keras.layers.Dropout(0.5)(x)
            x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=optimizer(name, settings, as_with_imagenet),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def architecture(model: keras.Model) -> list[tuple]:
    """What makes two members the same: every layer's type, trainability and size, nested
    models expanded, and the optimizer's class and settings."""
    rows = []

    def walk(layer):
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                walk(inner)
            return
        rows.append((type(layer).__name__, layer.trainable, int(layer.count_params()),
                     getattr(layer, "momentum", None)))

    walk(model)
    opt = model.optimizer.get_config() if model.optimizer else {}
    rows.append((type(model.optimizer).__name__, opt.get("learning_rate"), opt.get("momentum")))
    return rows
