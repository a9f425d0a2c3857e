"""dbn-pretrain in TensorFlow: rbm-cdk's TensorflowRBM per layer (its update a tf.function);
p(h|x) with the product in the case's compute dtype, as the RBM's own products."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.frameworks.tf_fw import TensorflowFramework
from ..rbm.tf_impl import TensorflowRBM
from .stack import PretrainBench


class TensorflowPretrainBench(PretrainBench):
    fw: TensorflowFramework  # the adapter this implementation runs under, typed
    model_cls = TensorflowRBM

    def hidden(self, model: Any, x: Any) -> Any:
        tf, cd = self.fw.tf, self.fw.compute_dtype
        with tf.device(self.fw.tf_device):
            logits = tf.cast(tf.matmul(tf.cast(x, cd), tf.cast(model.w, cd)), self.fw.dtype)
            return tf.sigmoid(logits + model.c)

    def host(self, x: Any) -> np.ndarray:
        return x.numpy().astype(np.float64)
