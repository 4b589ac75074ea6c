"""Chapter 8's models: CogVideoX and Wan, small, in the causal VAE's latents."""

from __future__ import annotations

from ..entry import Entry
from ..recipes import motion


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
