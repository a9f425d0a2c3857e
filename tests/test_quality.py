"""The quality procedure: an RBM trained on the digits in fp32 reconstructs them under the bar,
and one whose update is broken does not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dbnbench.suites.rbm.spec import RECON_MSE_BAR, RBMSpec, quality_report
from dbnbench.suites.registry import impl_class

from .conftest import make_fw


def impl(framework: str, precision: str = "fp32"):
    fw = make_fw(framework, precision)
    params = RBMSpec().defaults()
    return impl_class("rbm-cdk", framework)(SimpleNamespace(params=params), fw)


@pytest.mark.parametrize("framework", ["numpy", "torch", "tensorflow", "sklearn"])
def test_fp32_training_passes_the_bar(framework):
    q = impl(framework).quality()
    assert q["passed"], q
    assert q["recon_mse"] < RECON_MSE_BAR


def test_untrained_weights_fail_the_bar():
    from dbnbench.suites.data import digits
    from dbnbench.suites.rbm.spec import init_weights

    _, _, x_test, _ = digits(0)
    q = quality_report(*init_weights(64, 100, 0), x_test)
    assert not q["passed"] and q["recon_mse"] > 2 * RECON_MSE_BAR
    broken = quality_report(np.full((64, 100), np.nan), np.zeros(64), np.zeros(100), x_test)
    assert broken["passed"] is False and broken["recon_mse"] is None
