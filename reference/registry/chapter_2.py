"""Chapter 2's models: VDM's space-time UNet and TimeSformer's ten small classifiers."""

from __future__ import annotations

from ..entry import Entry
from ..nn.attention import Variant
from ..recipes import timesformer, vdm
from .chapter_0 import captioned_diffusion

ENTRIES = [
    captioned_diffusion("vdm-tiny", "text-to-video VDM space-time UNet, 8x32x32, inflated from frames-tiny (chapter 2)",
                        vdm.VDMRecipe(), vdm.build_model, vdm.evaluate, initialize=vdm.initialize),
    captioned_diffusion("vdm-first-tiny", "chapter 2's first vdm-tiny: unshifted cosine schedule, temporal attention "
                        "without the caption, 8x32x32, inflated from frames-tiny (chapter 2)",
                        vdm.FIRST, vdm.build_model, vdm.evaluate, initialize=vdm.initialize),
    # TimeSformer's comparison at toy scale: one classifier per attention variant and task.
    *[Entry(name=f"timesformer-{kind.value}-{task.value}",
            description=f"video classifier, {kind.value} attention, {task.value} task (chapter 2)",
            recipe=timesformer.ClassifierRecipe.for_variant(kind, task), build=timesformer.build_model,
            loss=timesformer.make_loss, generate=None, evaluate=timesformer.evaluate, headline="accuracy",
            dataset=timesformer.dataset, collate=timesformer.collate)
      for task in timesformer.Task for kind in Variant],
]
