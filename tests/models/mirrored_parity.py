"""Run as a script: trains the same model under the default strategy and under MirroredStrategy over two logical
CPUs, and prints both loss trajectories and the largest weight difference as JSON. A subprocess, because logical
devices must be configured before TensorFlow starts."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402  pylint: disable=g-import-not-at-top
import numpy as np  # noqa: E402

from electra_tf.data.pretraining_dataset import pretraining_dataset  # noqa: E402
from electra_tf.models.electra_pretrainer import ElectraPretrainer  # noqa: E402
from tests.models.conftest import MICRO_ENCODER  # noqa: E402


def train(strategy, data_dir, initial_weights):
    with strategy.scope():
        model = ElectraPretrainer(encoder=MICRO_ENCODER, clip_norm=0.5)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        model.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=False)
    history = model.fit(pretraining_dataset(data_dir, batch_size=8, seed=2), steps_per_epoch=1, epochs=4, verbose=0)
    return model, history.history


def main(data_dir):
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    start = ElectraPretrainer(encoder=MICRO_ENCODER).get_weights()
    default_model, default_history = train(tf.distribute.get_strategy(), data_dir, start)
    mirrored_model, mirrored_history = train(mirrored, data_dir, start)
    weight_diff = max(
        float(np.abs(a - b).max()) for a, b in zip(default_model.get_weights(), mirrored_model.get_weights())
    )
    print(
        json.dumps(
            {
                "replicas": mirrored.num_replicas_in_sync,
                "default": default_history,
                "mirrored": mirrored_history,
                "max_weight_difference": weight_diff,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
