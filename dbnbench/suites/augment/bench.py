"""The harness-facing side of augment, shared by every framework's model class."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..batches import POOL_BATCHES, PooledBench, split
from ..data import synthetic_images
from ..quality import labelled
from .draws import draw, identity, quality_images
from .reference import reference
from .spec import QUALITY_IMAGES, quality_report


class AugmentBench(PooledBench):
    """Impl for augment: builds `model_cls` (one per framework) and drives it.

    A model offers to_device/to_numpy, draws(n) with the framework's own generator (the
    timed path), from_numpy(Draws) (the shared draws of the quality check) and apply()."""

    model_cls: ClassVar[type]
    quality_note: ClassVar[str | None] = None

    def setup(self) -> None:
        p = self.p
        self.model = self.model_cls(self.fw, p)
        pool = synthetic_images(POOL_BATCHES * p.integer("batch"), self.fw.seed, p.integer("side"))
        self.batches = split(pool, self.model.to_device)
        self.step()  # first call: kernels, graph tracing and allocator warm here, not in timing

    def step(self) -> None:
        images = self.batches[self.next_index()]
        self.out = self.model.apply(images, self.model.draws(len(images)))

    def quality(self) -> dict[str, Any]:
        """The case's transform (its side and ranges) on real digits, against the independent
        float64 reference on the same draws, and the identity."""
        p, m = self.p, self.model
        images = quality_images(p.integer("side"), self.fw.seed, QUALITY_IMAGES)
        d = draw(np.random.default_rng(self.fw.seed), len(images), p)
        want = reference(images, d, p)
        got = m.to_numpy(m.apply(m.to_device(images), m.from_numpy(d)))
        # Identity: compared with the input as the framework holds it (bf16 rounds pixels).
        held = m.to_device(images)
        same = m.to_numpy(m.apply(held, m.from_numpy(identity(*images.shape[:2]))))
        diff = np.abs(got - want)
        report = quality_report(float(diff.max()), float(diff.mean()),
                                float(np.abs(same - m.to_numpy(held)).max()), self.fw.precision,
                                note=self.quality_note)
        model = f"the case's transform at {p['side']}×{p['side']} px in {self.fw.precision}"
        return labelled(report, model, report["data"], None)
