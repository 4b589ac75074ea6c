"""Recipe of `clip-tiny`, the book's shared text-image embedding (chapter 4; chapter 7 reuses it).

Trained on single frames of the toy world's clips, each with its clip's caption: one random frame
per clip, and half the captions cut to the words a frame can show ("a red circle moving left" ->
"a red circle"), so the caption encoder learns to place both forms and to ignore the motion words
a still frame cannot confirm. A frame matches every caption in the batch that names its object's
colour and shape (`contrastive_loss`'s matches). The card measures zero-shot retrieval on frames
from a seed training never used: the frame against the 18 captions "a COLOUR SHAPE" (colour,
shape, both right), and against the five motions of its own object (chance: an image model cannot
see motion, which is why Make-A-Video adds temporal layers after CLIP).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ..data import COLOURS, SHAPES, Batch, DatasetConfig, ShapesDataset, Tokenizer, WorldConfig, collate, random_frames
from ..data.vocab import PAD_ID
from ..data.world import MOTIONS
from ..evaluation import HELD_OUT
from ..models.clip import CLIP, CLIPConfig, contrastive_loss
from ..train import TrainConfig

OBJECT_WORDS = 3  # "a COLOUR SHAPE": what one frame of a one-object clip can show


@dataclass(frozen=True)
class CLIPRecipe:
    model: CLIPConfig = CLIPConfig()
    data: DatasetConfig = DatasetConfig(
        world=WorldConfig(frames=9, height=32, width=32), length=1_000_000, seed=11, holdout=HELD_OUT
    )
    train: TrainConfig = TrainConfig(
        steps=1000, batch_size=64, lr=1e-3, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.99,
    )
    short_captions: float = 0.5  # share of captions cut to "a COLOUR SHAPE"
    eval_seed: int = 12
    eval_samples: int = 512

    @classmethod
    def tiny(cls) -> "CLIPRecipe":
        return cls(model=CLIPConfig.tiny(), data=DatasetConfig(world=WorldConfig(frames=3, height=16, width=16), length=64),
                   train=TrainConfig.tiny(), eval_samples=16)


def build_model(recipe: CLIPRecipe) -> CLIP:
    if recipe.data.world.num_objects != 1:
        raise ValueError(f"clip-tiny pairs a frame with its one object's caption; got num_objects={recipe.data.world.num_objects}")
    if recipe.model.image_size != recipe.data.world.height or recipe.data.world.height != recipe.data.world.width:
        raise ValueError(f"the encoder takes {recipe.model.image_size}^2 frames; the data has "
                         f"{recipe.data.world.height} x {recipe.data.world.width}")
    return CLIP(recipe.model)


def object_matches(tokens: torch.Tensor) -> torch.Tensor:
    """`(b, b)` bool: captions i and j name the same colour and shape (words 2 and 3)."""
    words = tokens[:, 1:OBJECT_WORDS]
    return (words[:, None] == words[None]).all(dim=-1)


def shorten(tokens: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """Cut a `share` of captions to their first three words, "a COLOUR SHAPE"."""
    cut = torch.rand(tokens.shape[0], generator=generator).to(tokens.device) < share
    short = tokens.clone()
    short[:, OBJECT_WORDS:] = PAD_ID
    return torch.where(cut[:, None], short, tokens)


def make_loss(recipe: CLIPRecipe):
    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        frames = random_frames(batch.video, generator)
        tokens = shorten(batch.tokens, recipe.short_captions, generator)
        return contrastive_loss(model(frames, tokens), object_matches(batch.tokens))

    return loss_fn


def eval_frames(recipe: CLIPRecipe, n: int) -> tuple[torch.Tensor, list[tuple[str, str, str]]]:
    """n frames (the middle frame of clips from `eval_seed`) and their objects' (colour, shape, motion)."""
    data = ShapesDataset(dataclasses.replace(recipe.data, seed=recipe.eval_seed, length=n))
    batch = collate([data[i] for i in range(n)])
    objects = [data.scene(i).objects[0] for i in range(n)]
    return batch.video[:, :, batch.video.shape[2] // 2], [(o.colour, o.shape, o.motion.value) for o in objects]


@torch.no_grad()
def zero_shot(model: CLIP, frames: torch.Tensor, objects: list[tuple[str, str, str]]) -> dict[str, float]:
    """Retrieval accuracies: each frame against the 18 "a COLOUR SHAPE" captions (colour, shape,
    both right), and against the five "a COLOUR SHAPE moving ..." captions of its own object."""
    device = next(model.parameters()).device
    tokenizer = Tokenizer()
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    captions = model.embed_captions(tokenizer.encode_batch([f"a {c} {s}" for c, s in pairs]).to(device))
    images = torch.cat([model.embed_frames(chunk.to(device)) for chunk in frames.split(256)])
    best = (images @ captions.T).argmax(dim=1).cpu()
    colour = sum(pairs[i][0] == o[0] for i, o in zip(best.tolist(), objects)) / len(objects)
    shape = sum(pairs[i][1] == o[1] for i, o in zip(best.tolist(), objects)) / len(objects)
    both = sum(pairs[i] == o[:2] for i, o in zip(best.tolist(), objects)) / len(objects)
    right = 0
    for image, (c, s, m) in zip(images, objects):
        texts = [f"a {c} {s} {'standing still' if mm == 'still' else f'moving {mm}'}" for mm in MOTIONS]
        scores = model.embed_captions(tokenizer.encode_batch(texts).to(device)) @ image
        right += MOTIONS[scores.argmax().item()] == m
    return {"colour_retrieval": colour, "shape_retrieval": shape, "object_retrieval": both,
            "motion_retrieval": right / len(objects)}


@torch.no_grad()
def clip_score(model: CLIP, videos: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    """`(n,)` CLIP-scores: 100 x the mean cosine similarity of each clip's frames `(n, c, f, h, w)` to
    its prompt (the frame-averaged "CLIPSIM" of video papers, with the toy CLIP)."""
    if len(videos) != len(prompts):
        raise ValueError(f"{len(videos)} videos but {len(prompts)} prompts")
    device = next(model.parameters()).device
    n, f = videos.shape[0], videos.shape[2]
    frames = videos.transpose(1, 2).reshape(n * f, *videos.shape[1:2], *videos.shape[3:]).to(device)
    images = model.embed_frames(frames).view(n, f, -1)
    texts = model.embed_captions(Tokenizer().encode_batch(prompts).to(device))
    return 100 * (images * texts[:, None]).sum(dim=-1).mean(dim=1).cpu()


def evaluate(model: CLIP, recipe: CLIPRecipe) -> dict[str, float | int | str]:
    frames, objects = eval_frames(recipe, recipe.eval_samples)
    return {**zero_shot(model, frames, objects), "temperature": 1 / model.scale().item(),
            "eval_samples": recipe.eval_samples, "eval_frames": f"middle frames of clips from seed {recipe.eval_seed}"}
