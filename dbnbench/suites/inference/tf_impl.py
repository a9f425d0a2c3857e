"""dbn-inference in TensorFlow: the fine-tuning Keras model; mode `eager` calls it op by op,
`graph` wraps the forward in tf.function, `compiled` in tf.function(jit_compile=True) (XLA)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.errors import Skip
from ...harness.frameworks.tf_fw import TensorflowFramework
from ..finetune.tf_impl import build_mlp
from .bench import InferenceBench


class TensorflowForward:
    def __init__(self, fw: TensorflowFramework, init: list[tuple[np.ndarray, np.ndarray]], mode: str) -> None:
        tf = self.tf = fw.tf
        self.fw, self.mode = fw, mode
        model = build_mlp(fw, init)
        out = tf.float64 if fw.precision == "fp64" else tf.float32

        def forward(x: Any) -> Any:
            # Softmax in float32 (float64 in fp64), as Keras's mixed-precision guide advises.
            return tf.nn.softmax(tf.cast(model(x, training=False), out))

        if mode == "eager":
            self.forward = forward
        else:
            self.forward = tf.function(forward, jit_compile=mode == "compiled")

    def to_device(self, x: np.ndarray) -> Any:
        with self.tf.device(self.fw.tf_device):
            return self.tf.constant(np.ascontiguousarray(x), dtype=self.fw.compute_dtype)

    def __call__(self, x: Any) -> Any:
        tf = self.tf
        with tf.device(self.fw.tf_device):
            if self.mode != "compiled":
                return self.forward(x)
            try:
                return self.forward(x)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as exc:
                # XLA lacks some kernels on some devices (e.g. a dtype on the CPU): that is a
                # mode this device cannot do, not a failure of the workload.
                raise Skip(f"XLA cannot compile this forward pass on {self.fw.tf_device}: "
                           f"{' '.join(str(exc.message).split())[:160]}") from None

    def host(self, y: Any) -> np.ndarray:
        return y.numpy().astype(np.float64)


class TensorflowInferenceBench(InferenceBench):
    fw: TensorflowFramework  # the adapter this implementation runs under, typed
    forward_cls = TensorflowForward

    def observe_products(self) -> Any:
        """Compiled mode runs what XLA made of the graph, not the graph: read its HLO."""
        if self.p.text("mode") != "compiled":
            return self.fw.observe_products(self)
        from ...harness.frameworks.tf_probe import observe_xla

        with self.fw.tf.device(self.fw.tf_device):
            return observe_xla(self.net.forward, self.batches[0])
