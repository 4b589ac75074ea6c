"""Chapter 7's models: image-to-video, four ways (and I2VGen-XL's two encoders alone), each
fine-tuned from `t2v-tiny`; `i2v-tiny` names the method that measured best."""

from __future__ import annotations

from ..entry import Entry
from ..recipes import i2v

DESCRIPTIONS = {
    "seine": "SEINE: mask and masked latents concatenated on channels, four tasks in training",
    "wan": "Wan 2.1: four latent mask channels and the image's latents concatenated on channels",
    "consisti2v": "ConsistI2V: the clean first-frame latent substituted, FrameInit noise at sampling",
    "consisti2v-long": "ConsistI2V at twice the fine-tuning steps (1600), sampled with guidance 2",
    "i2vgenxl": "I2VGen-XL: CLIP image tokens beside the words and a detail encoder's channels",
    "i2vgenxl-global": "I2VGen-XL with its global (CLIP) encoder only",
    "i2vgenxl-detail": "I2VGen-XL with its detail encoder only",
}

ENTRIES = [
    Entry(name=f"i2v-{method}-tiny", description=f"{DESCRIPTIONS[method]}, fine-tuned from t2v-tiny (chapter 7)",
          recipe=recipe, build=i2v.build_model, loss=i2v.make_loss, generate=i2v.generate, evaluate=i2v.evaluate,
          headline="first_frame_psnr", initialize=i2v.initialize)
    for method, recipe in i2v.RECIPES.items()
]

# The book's best image-to-video model by chapter 7's bar (first-frame PSNR >= 30 dB, colour and shape
# >= 0.95 on every frame, motion at least t2v-tiny's): the only one that meets all of it.
ALIASES = {"i2v-tiny": "i2v-consisti2v-long-tiny"}
