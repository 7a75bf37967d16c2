"""Training's defaults, each a flag of the commands: the configuration in one place, light to import
so that `--help` answers without starting TensorFlow."""

IMAGE_SIZE = 128          # pixels a side; the page and the server resize to this too
CHANNELS = 1              # grayscale: MRI slices carry no colour, and it is 3x less work
BATCH_SIZE = 32
EPOCHS = 30               # an upper bound: early stopping on validation loss ends most runs sooner
LEARNING_RATE = 2e-3
PATIENCE = 10             # epochs without a better validation loss before stopping; the validation
                          # loss is noisy under augmentation and batch norm
SEED = 42
CACHE_DIR = ".cache/images"
INTENSITY = "stacked"     # intensity augmentation (training.augment): the sequence's look must not
                          # stand in for the tumour
INTENSITY_MODES = ("curve", "stacked")
SKULL = True              # skull/background augmentation: nor must "skull-stripped or not"
PASTE_SHARE = 0.35        # share of glioma draws made by pasting a masked tumour into another collection's
                          # normal slice (training.paste): no collection's look may stand for "normal"
SAMPLING = "balanced"     # each collection x class drawn by sqrt(its size) (training.fit.sampling_weights)
SAMPLING_MODES = ("natural", "balanced")
LOCO_EPOCHS = 12          # per leave-one-collection-out fold: five folds of the full data fit in
                          # about 3 hours on 2 CPU cores
# The names training.models registers (tests/test_models.py checks that the two agree): listed here
# so that argument parsing needs no Keras.
MODELS = ("alexnet", "cnn", "compact", "lenet")
