"""dbn-pretrain in PyTorch: rbm-cdk's TorchRBM per layer; p(h|x) under the case's autocast."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.frameworks.torch_fw import TorchFramework
from ..rbm.torch_impl import TorchRBM
from .stack import PretrainBench


class TorchPretrainBench(PretrainBench):
    fw: TorchFramework  # the adapter this implementation runs under, typed
    model_cls = TorchRBM

    def hidden(self, model: Any, x: Any) -> Any:
        t = self.fw.torch
        with t.inference_mode(), self.fw.autocast():
            # Back to the storage dtype: the next layer's data lives in its buffers' dtype.
            return t.addmm(model.c, x, model.w).sigmoid_().to(self.fw.dtype)

    def host(self, x: Any) -> np.ndarray:
        return x.detach().to("cpu", self.fw.torch.float64).numpy()
