"""Chapter 4's models: Make-A-Video's cascade on the toy world, starting with its toy CLIP."""

from __future__ import annotations

from ..entry import Entry, variant
from ..recipes import cascade, clip, prior

CLIP = Entry(
    name="clip-tiny",
    description="a toy CLIP: frame and caption encoders trained contrastively, the book's shared text-image "
                "embedding (chapter 4)",
    recipe=clip.CLIPRecipe(), build=clip.build_model, loss=clip.make_loss, generate=None, evaluate=clip.evaluate,
    headline="object_retrieval",
)

PRIOR = Entry(
    name="prior-tiny",
    description="Make-A-Video's prior P (DALL-E 2's diffusion prior): a caption to a clip-tiny image embedding, "
                "trained on frames and their captions only (chapter 4)",
    recipe=prior.PriorRecipe(), build=prior.build_model, loss=prior.make_loss, generate=None, evaluate=prior.evaluate,
    headline="prior_object_retrieval",
)


def _stage(name: str, recipe: cascade.StageRecipe, what: str, headline: str) -> Entry:
    return Entry(name=name, description=f"{what} (chapter 4)", recipe=recipe, build=cascade.build_model,
                 loss=cascade.make_loss, generate=None, evaluate=cascade.evaluate, headline=headline,
                 initialize=cascade.initialize)


DECODER = _stage("decoder-tiny", cascade.DECODER, "Make-A-Video's image decoder D: a 16x16 frame from a clip-tiny image "
                 "embedding and the caption, trained on frames", "prior_object_accuracy")
DECODER_T = _stage("decoder-t-tiny", cascade.DECODER_T, "Make-A-Video's spatiotemporal decoder D^t: decoder-tiny with "
                   "pseudo-3D temporal layers and fps conditioning, only the new layers trained on clips; 5 key frames",
                   "caption_accuracy")
DECODER_T_SCRATCH = variant(DECODER_T, "decoder-t-scratch", cascade.DECODER_T_SCRATCH,
                            "D^t's network trained from scratch on clips, every weight, same steps: the image "
                            "pretraining ablation (chapter 4)")
DECODER_T_LONG = variant(DECODER_T, "decoder-t-long", cascade.DECODER_T_LONG,
                         "decoder-t-tiny's recipe for 3x the steps (4500 x 16 clips, about the clips chapter 6's "
                         "study gave a model to learn motion): the next fix for D^t's motion (chapter 4)")
INTERPOLATION = _stage("interpolation-tiny", cascade.INTERPOLATION, "Make-A-Video's frame interpolation network ↑F: "
                       "decoder-t-tiny given the masked clip and its mask as input channels; fills 9 frames from "
                       "every 2nd, 4th or 8th, or continues the first", "skip_4_psnr")
SR_LOW = _stage("sr-low-tiny", cascade.SR_LOW, "super-resolution SR_l, 16 to 32 pixels, trained on frames "
                "(the image model SR_l^t starts from)", "psnr")
SR_LOW_T = _stage("sr-low-t-tiny", cascade.SR_LOW_T, "Make-A-Video's SR_l^t: sr-low-tiny with temporal layers, "
                  "only they trained on 9-frame clips", "psnr")
SR_HIGH = _stage("sr-high-tiny", cascade.SR_HIGH, "Make-A-Video's SR_h, 32 to 64 pixels, frame by frame, trained on "
                 "frames", "psnr")

CASCADE = Entry(
    name="cascade-tiny",
    description="Make-A-Video's whole cascade: prior-tiny, decoder-t-tiny, interpolation-tiny (two windows), "
                "sr-low-t-tiny, sr-high-tiny; 17 frames at 64x64, no weights of its own (chapter 4)",
    recipe=cascade.CascadeRecipe(), build=cascade.build_cascade, loss=cascade.no_loss, generate=cascade.generate,
    evaluate=cascade.evaluate_cascade, headline="caption_accuracy",
)

ENTRIES = [CLIP, PRIOR, DECODER, DECODER_T, DECODER_T_SCRATCH, DECODER_T_LONG, INTERPOLATION, SR_LOW, SR_LOW_T, SR_HIGH, CASCADE]
