"""dbn-finetune in TensorFlow: a Keras model, tf.GradientTape inside one tf.function, Keras
SGD with momentum. Mixed modes use Keras's mixed dtype policies (fp32 variables) and, for
fp16, a LossScaleOptimizer; the loss is computed in float32 (float64 in fp64). Data parallel,
the gradients are all-reduced through MultiWorkerMirroredStrategy and averaged before the
update."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.frameworks.tf_fw import TensorflowFramework
from .bench import FinetuneBench


def build_mlp(fw: TensorflowFramework, init: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """Sigmoid Dense layers and a linear output under the case's dtype policy."""
    import keras

    policy = keras.DTypePolicy(fw.keras_policy)
    layers = [keras.layers.Dense(w.shape[1], activation="sigmoid" if i + 1 < len(init) else None,
                                 dtype=policy) for i, (w, _) in enumerate(init)]
    with fw.tf.device(fw.tf_device):
        # The input's dtype is the compute dtype: keras.Input defaults to float32, which
        # would round fp64 inputs.
        inputs = keras.Input((init[0][0].shape[0],), dtype=fw.compute_dtype.name)
        model = keras.Sequential([inputs, *layers])
        for layer, (w, b) in zip(layers, init, strict=True):
            layer.set_weights([w, b])
    return model


class KerasNet:
    def __init__(self, fw: TensorflowFramework, init: list[tuple[np.ndarray, np.ndarray]], *, lr: float,
                 momentum: float, accumulate: int = 1) -> None:
        import keras

        tf = self.tf = fw.tf
        self.fw, self.accumulate = fw, accumulate
        self.loss_dtype = tf.float64 if fw.precision == "fp64" else tf.float32
        self.model = build_mlp(fw, init)
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
        if fw.precision == "fp16-mixed":
            opt = keras.optimizers.LossScaleOptimizer(opt)
        self.opt = opt
        with tf.device(fw.tf_device):
            self.opt.build(self.model.trainable_variables)
        self.train_step = tf.function(self._train_step)
        self._logits = tf.function(lambda x: self.model(x, training=False))

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        tf = self.tf
        with tf.device(self.fw.tf_device):
            return (tf.constant(np.ascontiguousarray(x), dtype=self.fw.compute_dtype),
                    tf.constant(y, dtype=tf.int64))

    def _train_step(self, x: Any, y: Any) -> None:
        tf, variables = self.tf, self.model.trainable_variables
        total: list[Any] = []
        # Equal micro-batches (a Python loop: unrolled when traced), each adding its
        # mean-loss gradient at 1/accumulate; one update with the sum.
        for xs, ys in zip(tf.split(x, self.accumulate), tf.split(y, self.accumulate),
                          strict=True):
            with tf.GradientTape() as tape:
                logits = tf.cast(self.model(xs, training=True), self.loss_dtype)
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ys, logits=logits))
                # Identity for a plain optimizer; multiplies by the dynamic scale for fp16.
                scaled = self.opt.scale_loss(loss / self.accumulate)
            grads = tape.gradient(scaled, variables)
            total = list(grads) if not total else [a + b for a, b in zip(total, grads, strict=True)]
        group = self.fw.group
        if group is not None:
            # Data parallel: every replica's mean-loss gradient, averaged over the replicas
            # (the global batch's mean loss), the same on each before its update.
            total = [g / group.world for g in group.all_reduce_sum(total)]
        self.opt.apply_gradients(zip(total, variables, strict=True))

    def logits(self, x: Any) -> np.ndarray:
        with self.tf.device(self.fw.tf_device):
            return self._logits(x).numpy().astype(np.float64)

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [tuple(a.astype(np.float64) for a in layer.get_weights())
                for layer in self.model.layers]


class TensorflowFinetuneBench(FinetuneBench):
    fw: TensorflowFramework  # the adapter this implementation runs under, typed
    net_cls = KerasNet
