"""MoCoGAN: a video GAN whose latent space is split into content and motion (chapter 6).

Tulyakov et al. (2018), "MoCoGAN: Decomposing Motion and Content for Video Generation", at toy size
(its official code, `sergeytulyakov/mocogan`, fixes the details the paper leaves open):

- **Content** `z_C`: one Gaussian draw per clip, repeated at every frame, so what the clip shows
  cannot change along it. Here the caption's colour and shape (one-hot) join it: they are content too.
- **Motion** `z_M^(1..f)`: a GRU cell stepped once per frame, driven by fresh noise each step and
  started from a random state, so the motion codes form a trajectory, one point per frame.
- **Category**: a one-hot class (here the caption's motion word). The official code concatenates it
  to every frame's code for the image generator (`CategoryRoute.IMAGE`); the paper's best variant feeds
  it to the motion network instead (`CategoryRoute.MOTION`), where only the trajectory can carry it.
- **Image generator**: a DCGAN stack of transposed convolutions from each frame's code
  `[z_C, z_M^(i)]` (1 x 1) to a 32 x 32 frame, batch norm and ReLU, tanh at the end. It never sees
  other frames: the GRU is the only temporal model.
- **Two discriminators**: an image one (2D convolutions on single frames, a patch of logits) that
  judges appearance, and a video one (3D convolutions, kernel 4, stride (1, 2, 2)) that judges
  clips and, like the code's categorical discriminator, also classifies them. It learns the classes
  from real clips; the generator is asked to make clips it classifies as their conditioning (the
  code's `use_infogan`). Here it classifies colour, shape and motion, three heads.

Everything is `(b, c, f, h, w)`; codes are `(b, f, d)` before the image generator folds frames
into the batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import NamedTuple

import torch
from einops import rearrange, repeat
from torch import nn
from torch.nn import functional as F

from ..data.dataset import random_frames
from ..data.vocab import WORDS
from ..data.world import COLOURS, MOTIONS, SHAPES


class CategoryRoute(str, Enum):
    IMAGE = "image"  # the official code: the category joins every frame's code
    MOTION = "motion"  # the paper's best variant: the category drives the motion GRU


class Labels(NamedTuple):
    """Class indices `(b,)` each, read from single-object captions."""

    colour: torch.Tensor
    shape: torch.Tensor
    motion: torch.Tensor


CLASSES = {"colour": tuple(COLOURS), "shape": SHAPES, "motion": MOTIONS}


def caption_labels(tokens: torch.Tensor) -> Labels:
    """Token ids `(b, n)` of captions naming one object -> its colour, shape and motion indices."""
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (b, n) ids, got shape {tuple(tokens.shape)}")
    out = []
    for names in CLASSES.values():
        ids = torch.tensor([WORDS.index(w) for w in names], device=tokens.device)  # (k,)
        hits = tokens[:, :, None] == ids  # (b, n, k)
        counts = hits.sum(dim=(1, 2))
        if (counts != 1).any():
            raise ValueError(f"every caption must name exactly one of {names}; counts per caption: {counts.tolist()}")
        out.append(hits.any(dim=1).float().argmax(dim=1))
    return Labels(*out)


@dataclass(frozen=True)
class MoCoGANConfig:
    content_dim: int = 50  # z_C, the code's default
    motion_dim: int = 10  # z_M, the code's default
    frames: int = 8
    size: int = 32  # frame side: 4 * 2**levels
    generator_width: int = 32  # ngf: channels of the last hidden layer, doubled per level up
    discriminator_width: int = 32  # ndf
    route: CategoryRoute = CategoryRoute.MOTION

    @classmethod
    def tiny(cls) -> "MoCoGANConfig":
        return cls(content_dim=8, motion_dim=4, frames=4, size=16, generator_width=8, discriminator_width=8)

    def __post_init__(self) -> None:
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"size must be a power of two >= 8 (4 x 4 doubled per level), got {self.size}")
        if self.frames <= self.levels:
            raise ValueError(f"the video discriminator loses one frame per level: it needs more than "
                             f"{self.levels} frames at size {self.size}, got {self.frames}")

    @property
    def levels(self) -> int:
        return (self.size // 4).bit_length() - 1  # 32 -> 3 upsamplings from 4 x 4

    def to_dict(self) -> dict:
        return asdict(self)


class MotionNetwork(nn.Module):
    """R_M: a GRU cell run over the frames. Noise `(b, f, d)` (and a category `(b, k)` on the
    MOTION route) -> motion codes `(b, f, d)`, from a random initial state `(b, d)`."""

    def __init__(self, motion_dim: int, category_dim: int) -> None:
        super().__init__()
        self.category_dim = category_dim
        self.cell = nn.GRUCell(motion_dim + category_dim, motion_dim)

    def forward(self, noise: torch.Tensor, state: torch.Tensor, category: torch.Tensor | None = None) -> torch.Tensor:
        if (category is None) != (self.category_dim == 0):
            raise ValueError("pass a category exactly when the motion network was built for one")
        codes = []
        for i in range(noise.shape[1]):
            step = noise[:, i] if category is None else torch.cat([noise[:, i], category], dim=1)
            state = self.cell(step, state)
            codes.append(state)
        return torch.stack(codes, dim=1)


class ImageGenerator(nn.Module):
    """G_I: one code `(n, d)` -> one frame `(n, 3, size, size)` in [-1, 1], DCGAN-style."""

    def __init__(self, code_dim: int, config: MoCoGANConfig) -> None:
        super().__init__()
        widths = [config.generator_width * 2**k for k in reversed(range(config.levels))]  # e.g. 128, 64, 32
        layers: list[nn.Module] = [nn.ConvTranspose2d(code_dim, widths[0], 4, 1, 0, bias=False),  # 1 -> 4
                                   nn.BatchNorm2d(widths[0]), nn.ReLU()]
        for i, width in enumerate(widths):
            last = i + 1 == len(widths)
            out = 3 if last else widths[i + 1]
            layers.append(nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False))  # doubles h and w
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code[:, :, None, None])


class ImageDiscriminator(nn.Module):
    """D_I: frames `(n, 3, h, w)` -> a patch of real/fake logits `(n, 4, 4)`."""

    def __init__(self, config: MoCoGANConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width, out = 3, config.discriminator_width
        for i in range(config.levels - 1):
            layers.append(nn.Conv2d(width, out, 4, 2, 1, bias=False))
            layers += [nn.LeakyReLU(0.2)] if i == 0 else [nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            width, out = out, out * 2
        layers.append(nn.Conv2d(width, 1, 4, 2, 1, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames)[:, 0]


class VideoDiscriminator(nn.Module):
    """D_V: clips `(b, 3, f, h, w)` -> a real/fake logit `(b,)` and class logits per attribute.

    3D convolutions with kernel 4 and stride (1, 2, 2): space halves at every layer while time
    shrinks by one frame per layer (one frame of padding each side), then one convolution over
    what is left gives 1 + 6 + 3 + 5 outputs, as the code's categorical discriminator."""

    def __init__(self, config: MoCoGANConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width, out = 3, config.discriminator_width
        for i in range(config.levels):
            layers.append(nn.Conv3d(width, out, 4, stride=(1, 2, 2), padding=1, bias=False))
            layers += [nn.LeakyReLU(0.2)] if i == 0 else [nn.BatchNorm3d(out), nn.LeakyReLU(0.2)]
            width, out = out, out * 2
        self.trunk = nn.Sequential(*layers)
        frames_left = config.frames - config.levels  # kernel 4, padding 1: one frame fewer per layer
        self.outputs = {name: len(names) for name, names in CLASSES.items()}
        self.head = nn.Conv3d(width, 1 + sum(self.outputs.values()), (frames_left, 4, 4))

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = self.head(self.trunk(video)).flatten(1)  # (b, 1 + classes)
        logits, start = {}, 1
        for name, k in self.outputs.items():
            logits[name] = out[:, start : start + k]
            start += k
        return out[:, 0], logits


class MoCoGAN(nn.Module):
    """The generator (motion network + image generator) and its two discriminators."""

    def __init__(self, config: MoCoGANConfig = MoCoGANConfig()) -> None:
        super().__init__()
        self.config = config
        self.content_classes = len(COLOURS) + len(SHAPES)
        self.motion_classes = len(MOTIONS)
        on_motion = config.route == CategoryRoute.MOTION
        self.motion = MotionNetwork(config.motion_dim, self.motion_classes if on_motion else 0)
        code_dim = config.content_dim + self.content_classes + config.motion_dim + (0 if on_motion else self.motion_classes)
        self.image = ImageGenerator(code_dim, config)
        self.image_critic = ImageDiscriminator(config)
        self.video_critic = VideoDiscriminator(config)

    def parameter_groups(self, lr: float) -> list[dict]:
        """Adam with betas (0.5, 0.999), the code's setting for all three networks."""
        return [{"params": list(self.parameters()), "lr": lr, "betas": (0.5, 0.999)}]

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.motion.parameters(), *self.image.parameters()]

    def sample_codes(self, batch: int, generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The noise of one clip each: content `(b, content_dim)`, motion noise `(b, f, motion_dim)`
        and the GRU's initial state `(b, motion_dim)`, drawn in that order."""
        c = self.config
        content = torch.randn(batch, c.content_dim, generator=generator)
        motion = torch.randn(batch, c.frames, c.motion_dim, generator=generator)
        state = torch.randn(batch, c.motion_dim, generator=generator)
        return content.to(device), motion.to(device), state.to(device)

    def generate(self, labels: Labels, content: torch.Tensor, motion_noise: torch.Tensor,
                 state: torch.Tensor) -> torch.Tensor:
        """Clips `(b, 3, f, h, w)` in [-1, 1]: content fixed along the clip, motion from the GRU."""
        f = motion_noise.shape[1]
        attributes = torch.cat([F.one_hot(labels.colour, len(COLOURS)), F.one_hot(labels.shape, len(SHAPES))], 1)
        category = F.one_hot(labels.motion, self.motion_classes).to(content)
        what = torch.cat([content, attributes.to(content)], dim=1)  # (b, content)
        if self.config.route == CategoryRoute.MOTION:
            how = self.motion(motion_noise, state, category)  # (b, f, motion_dim)
        else:
            how = torch.cat([self.motion(motion_noise, state), repeat(category, "b k -> b f k", f=f)], dim=2)
        codes = torch.cat([repeat(what, "b d -> b f d", f=f), how], dim=2)  # (b, f, d)
        frames = self.image(rearrange(codes, "b f d -> (b f) d"))
        return rearrange(frames, "(b f) c h w -> b c f h w", f=f)


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def _classes(logits: dict[str, torch.Tensor], labels: Labels) -> torch.Tensor:
    return sum(F.cross_entropy(logits[name], getattr(labels, name)) for name in CLASSES)


def discriminator_loss(model: MoCoGAN, real: torch.Tensor, fake: torch.Tensor, labels: Labels,
                       generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """D_I: real frames real, generated frames fake. D_V: the same on clips, plus cross-entropy of
    its class heads on the real clips' labels (the categories are learnt from data)."""
    fake = fake.detach()
    frames_real, frames_fake = random_frames(real, generator), random_frames(fake, generator)
    image = _bce(model.image_critic(frames_real), True) + _bce(model.image_critic(frames_fake), False)
    real_logit, real_classes = model.video_critic(real)
    fake_logit, _ = model.video_critic(fake)
    video = _bce(real_logit, True) + _bce(fake_logit, False) + _classes(real_classes, labels)
    return {"image": image, "video": video}


def generator_loss(model: MoCoGAN, fake: torch.Tensor, labels: Labels, generator: torch.Generator | None = None,
                   frozen: bool = False) -> dict[str, torch.Tensor]:
    """Both critics should call the generated frames and clip real, and D_V should read back the
    conditioning classes. `frozen=True` reads the critics through detached weights (as TGANs-C's
    recipe), so this loss and `discriminator_loss` can be summed and stepped together."""

    def run(module: nn.Module, *args: torch.Tensor):
        if not frozen:
            return module(*args)
        detached = {name: p.detach() for name, p in module.named_parameters()}
        return torch.func.functional_call(module, detached, args)

    image = _bce(run(model.image_critic, random_frames(fake, generator)), True)
    logit, classes = run(model.video_critic, fake)
    return {"image": image, "video": _bce(logit, True) + _classes(classes, labels)}
