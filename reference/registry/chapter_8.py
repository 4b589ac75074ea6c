"""Chapter 8's models: CogVideoX and Wan, small, in the causal VAE's latents."""

from __future__ import annotations

from ..data.native import first
from ..entry import Entry
from ..recipes import motion, sora


def _t2v(name: str, description: str, recipe: motion.MotionRecipe) -> Entry:
    return Entry(name=name, description=description, recipe=recipe, build=motion.build_model, loss=motion.make_loss,
                 generate=motion.generate, evaluate=motion.evaluate, headline="caption_accuracy",
                 initialize=motion.initialize, curve=motion.curve_point)


ENTRIES = [
    _t2v("cogvideox-tiny", "CogVideoX: caption tokens and video latents in one full-attention sequence, expert adaLN, "
         "QK-LayerNorm, 3D RoPE, v-prediction with zero terminal SNR (chapter 8)", motion.COGVIDEOX),
    _t2v("wan-tiny", "Wan: flow-matching DiT, full 3D attention with qk-RMSNorm and 3D RoPE, cross-attention to "
         "caption tokens, one shared time MLP (chapter 8)", motion.WAN),
    *[_t2v(f"cogvideox-ablation-{row}", f"CogVideoX ablation {row!r}: one change off cogvideox-tiny, same budget "
           "(chapter 8)", recipe) for row, recipe in motion.COGVIDEOX_ABLATIONS.items()],
]


def _sora(name: str, description: str, recipe: sora.SoraRecipe) -> Entry:
    return Entry(name=name, description=description, recipe=recipe, build=sora.build_model, loss=sora.make_loss,
                 generate=sora.generate, evaluate=sora.evaluate, headline="cut", dataset=sora.dataset, collate=first,
                 initialize=sora.initialize)


# Sora's native sizes (part 2): trained by `python -m reference.zoo train NAME` like every model.
SORA_SQUARE = _sora("sora-square-tiny", "t2v-tiny's recipe on clips of several aspect ratios and lengths, each "
                    "centre-cropped to a square first: the pipeline Sora's report argues against (chapter 8)", sora.SQUARE)
SORA_NATIVE = _sora("sora-native-tiny", "t2v-tiny's recipe on clips of several aspect ratios and lengths at their "
                    "native sizes, batched by Open-Sora's buckets (chapter 8)", sora.NATIVE)
ENTRIES += [SORA_SQUARE, SORA_NATIVE]
