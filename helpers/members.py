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

from helpers.lesson import features

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


def is_frozen(name: str, settings: config.Settings, as_with_imagenet: bool = False) -> bool:
    """True for a member whose backbone's lower layers are frozen (VGG16 always, MobileNet with
    ImageNet weights): its top and head train on the frozen part's stored output."""
    return name != "custom_cnn" and not learns_from_scratch(name, settings, as_with_imagenet)


def frozen_parts(name: str, settings: config.Settings, n_classes: int = 8,
                 as_with_imagenet: bool = False,
                 head_name: str | None = None) -> tuple[keras.Model, keras.Model]:
    """The frozen bottom and the compiled head of a frozen member (``is_frozen``), as notebooks
    03 and 04 build them: the head is the backbone's trainable top and the new layers, and takes
    the bottom's output (``features.split_at``). ``head_name`` names the head (and so its
    checkpoint) when it is not the member's own, e.g. notebook 08's student."""
    backbone = models.freeze_all_but_last(models.backbone(name, settings), UNFROZEN[name])
    bottom, top = features.split_at(backbone, UNFROZEN[name])
    inputs = keras.Input(shape=bottom.output.shape[1:], name=f"{name}_features")
    x = top(inputs, training=False)
    if name == "vgg16":
        x = keras.layers.Dropout(0.25)(x)
        x = keras.layers.Flatten()(x)
    else:
        x = keras.layers.Dropout(0.5)(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(32, activation="relu")(x)
        x = keras.layers.Dropout(0.5)(x)
        x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    head = keras.Model(inputs, outputs, name=head_name or f"{name}_head")
    head.compile(optimizer=optimizer(name, settings, as_with_imagenet),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return bottom, head


def build(name: str, settings: config.Settings, n_classes: int = 8, train_data=None,
          as_with_imagenet: bool = False, augment: bool = True) -> keras.Model:
    """``custom_cnn``, ``vgg16`` or ``mobilenet`` as its notebook builds it.

    A member trained whole (the custom CNN; MobileNet without ImageNet weights) is returned
    compiled, raw images in, augmentation inside (left out with ``augment=False``, for training on
    views made beforehand). A frozen member (``is_frozen``) is returned as notebooks 03 and 04
    assemble it from ``frozen_parts`` (``features.assemble_member``), not compiled: what trains
    is its head, on the bottom's stored output."""
    if name not in NAMES:
        raise ValueError(f"Unknown member {name!r}; choose one of {', '.join(NAMES)}.")
    if is_frozen(name, settings, as_with_imagenet):
        bottom, head = frozen_parts(name, settings, n_classes, as_with_imagenet)
        return features.assemble_member(bottom, head, name, settings, name)
    inputs = models.image_input(settings)
    x = data.augmentation(seed=settings.seed)(inputs) if augment else inputs
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
        backbone = models.train_whole(models.backbone(name, settings))
        if train_data is not None:
            models.estimate_batchnorm_statistics(backbone, name, train_data)
        x = models.BackbonePreprocess(name)(x)
        x = backbone(x, training=None)
        x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=optimizer(name, settings, as_with_imagenet),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def architecture(model: keras.Model) -> list[tuple]:
    """What makes two members the same: every layer's type, trainability and size, nested
    models expanded, and the optimizer's class and settings (of the head, for frozen parts)."""
    rows = []

    def walk(layer):
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                walk(inner)
            return
        rows.append((type(layer).__name__, layer.trainable, int(layer.count_params()),
                     getattr(layer, "momentum", None)))

    walk(model)
    optimizer_ = getattr(model, "optimizer", None)  # an assembled frozen member has none
    opt = optimizer_.get_config() if optimizer_ else {}
    rows.append((type(optimizer_).__name__, opt.get("learning_rate"), opt.get("momentum")))
    return rows
