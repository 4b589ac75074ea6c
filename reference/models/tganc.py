"""TGANs-C: a caption-conditioned video GAN with three matching-aware discriminators (chapter 1).

Pan et al. (2017), "To Create What You Tell", at toy size:

- **Sentence encoder**: word embeddings, a bidirectional LSTM over the words, then an LSTM over its
  outputs; the last state at the caption's final word is the sentence vector S.
- **Generator**: `[S, z]` through a linear layer to a tiny `1 x 4 x 4` volume, then 3D transposed
  convolutions that double frames, height and width together, ending in tanh: a clip `(b, 3, 8, 32, 32)`.
- **Three discriminators**, each given S (tiled over its feature map) and each *matching-aware*
  (Reed et al., 2016): it must call (real clip, its caption) real, and both (real clip, another
  clip's caption) and (generated clip, its caption) fake, so it judges content and caption
  together:
  - video: 3D convolutions over the whole clip, one score per clip;
  - frame: 2D convolutions per frame, one score per frame;
  - motion: the differences between consecutive frames' features, one score per step: the paper's
    temporal coherence term, which asks the motion to look real as well as the frames.

`DiscriminatorKind` lets chapter 1's ablation train with the video discriminator alone, plus the
frame one, plus the motion one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

import torch
from einops import rearrange, repeat
from torch import nn
from torch.nn import functional as F

from ..data.vocab import PAD_ID, WORDS


class DiscriminatorKind(str, Enum):
    VIDEO = "video"
    FRAME = "frame"
    MOTION = "motion"


@dataclass(frozen=True)
class TGANCConfig:
    vocab_size: int = len(WORDS)
    word_dim: int = 32
    sentence_dim: int = 64  # S
    noise_dim: int = 64  # z
    frames: int = 8
    size: int = 32
    generator_channels: tuple[int, ...] = (128, 64, 32)  # widths after the linear layer, per upsampling
    discriminator_channels: tuple[int, ...] = (32, 64, 128)  # widths per stride-2 conv
    discriminators: tuple[DiscriminatorKind, ...] = tuple(DiscriminatorKind)

    @classmethod
    def tiny(cls) -> "TGANCConfig":
        return cls(word_dim=8, sentence_dim=8, noise_dim=8, frames=4, size=16,
                   generator_channels=(16, 8), discriminator_channels=(8, 16))

    def __post_init__(self) -> None:
        ups = len(self.generator_channels)
        if self.size != 4 * 2**ups or self.frames != 2**ups:
            raise ValueError(f"{ups} upsamplings from 1 x 4 x 4 make {2**ups} frames of {4 * 2**ups} pixels, "
                             f"not {self.frames} of {self.size}")
        if not self.discriminators:
            raise ValueError("at least one discriminator is needed")

    def to_dict(self) -> dict:
        return asdict(self)


class SentenceEncoder(nn.Module):
    """Token ids `(b, n)` -> S `(b, sentence_dim)`: bi-LSTM over words, LSTM over its outputs,
    the state at the last real word."""

    def __init__(self, config: TGANCConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.word_dim, padding_idx=PAD_ID)
        self.words = nn.LSTM(config.word_dim, config.word_dim, batch_first=True, bidirectional=True)
        self.sentence = nn.LSTM(2 * config.word_dim, config.sentence_dim, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (b, n) ids, got shape {tuple(tokens.shape)}")
        lengths = (tokens != PAD_ID).sum(dim=1)
        if (lengths == 0).any():
            raise ValueError("every caption needs at least one word")
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        words, _ = self.words(packed)
        _, (state, _) = self.sentence(words)
        return state[-1]  # (b, sentence_dim): the state after the last real word


class Generator(nn.Module):
    """`(S, z)` -> clip `(b, 3, f, h, w)` in [-1, 1]."""

    def __init__(self, config: TGANCConfig) -> None:
        super().__init__()
        self.config = config
        chs = config.generator_channels
        self.project = nn.Linear(config.sentence_dim + config.noise_dim, chs[0] * 16)
        self.norm = nn.BatchNorm3d(chs[0])
        layers: list[nn.Module] = []
        for i, ch in enumerate(chs):
            out = chs[i + 1] if i + 1 < len(chs) else 3
            layers.append(nn.ConvTranspose3d(ch, out, 4, stride=2, padding=1))  # doubles f, h and w
            if i + 1 < len(chs):
                layers += [nn.BatchNorm3d(out), nn.ReLU()]
        self.up = nn.Sequential(*layers)

    def forward(self, sentence: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([sentence, noise], dim=1))
        h = rearrange(h, "b (c f h w) -> b c f h w", f=1, h=4, w=4)
        return torch.tanh(self.up(F.relu(self.norm(h))))


def _trunk(conv: type[nn.Module], channels: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = 3
    for ch in channels:
        layers += [conv(width, ch, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        width = ch
    return nn.Sequential(*layers)


class ScoreHead(nn.Module):
    """Features `(n, c, h, w)` and S `(n, s)` -> one logit per row: S tiled over the map, a 1x1 conv, a linear layer."""

    def __init__(self, channels: int, sentence_dim: int, size: int) -> None:
        super().__init__()
        self.mix = nn.Sequential(nn.Conv2d(channels + sentence_dim, channels, 1), nn.LeakyReLU(0.2))
        self.score = nn.Linear(channels * size * size, 1)

    def forward(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        tiled = repeat(sentence, "n s -> n s h w", h=features.shape[-2], w=features.shape[-1])
        return self.score(self.mix(torch.cat([features, tiled], dim=1)).flatten(1))[:, 0]


class VideoDiscriminator(nn.Module):
    """One logit per clip from 3D convolutions over the whole clip `(b, 3, f, h, w)`."""

    def __init__(self, config: TGANCConfig) -> None:
        super().__init__()
        self.trunk = _trunk(nn.Conv3d, config.discriminator_channels)
        levels = len(config.discriminator_channels)
        self.frames_left = max(config.frames // 2**levels, 1)
        self.head = ScoreHead(config.discriminator_channels[-1] * self.frames_left, config.sentence_dim,
                              config.size // 2**levels)

    def forward(self, video: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        features = rearrange(self.trunk(video), "b c f h w -> b (c f) h w")
        return self.head(features, sentence)  # (b,)


class FrameDiscriminator(nn.Module):
    """One logit per frame `(b, f)` from 2D convolutions on each frame."""

    def __init__(self, config: TGANCConfig) -> None:
        super().__init__()
        self.trunk = _trunk(nn.Conv2d, config.discriminator_channels)
        self.head = ScoreHead(config.discriminator_channels[-1], config.sentence_dim,
                              config.size // 2 ** len(config.discriminator_channels))

    def forward(self, video: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        f = video.shape[2]
        features = self.trunk(rearrange(video, "b c f h w -> (b f) c h w"))
        scores = self.head(features, sentence.repeat_interleave(f, dim=0))
        return rearrange(scores, "(b f) -> b f", f=f)


class MotionDiscriminator(FrameDiscriminator):
    """One logit per step `(b, f - 1)`, from the difference of consecutive frames' 2D features
    (the frame discriminator's layers, its own weights)."""

    def forward(self, video: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        f = video.shape[2]
        features = rearrange(self.trunk(rearrange(video, "b c f h w -> (b f) c h w")), "(b f) c h w -> b f c h w", f=f)
        motion = rearrange(features[:, 1:] - features[:, :-1], "b f c h w -> (b f) c h w")  # (b (f-1)) c h w
        scores = self.head(motion, sentence.repeat_interleave(f - 1, dim=0))
        return rearrange(scores, "(b f) -> b f", f=f - 1)


DISCRIMINATORS: dict[DiscriminatorKind, type[nn.Module]] = {
    DiscriminatorKind.VIDEO: VideoDiscriminator,
    DiscriminatorKind.FRAME: FrameDiscriminator,
    DiscriminatorKind.MOTION: MotionDiscriminator,
}


class TGANC(nn.Module):
    """The generator with its sentence encoder, and the chosen discriminators (each with its own
    sentence encoder, so the generator cannot shape the text features the critics read)."""

    def __init__(self, config: TGANCConfig = TGANCConfig()) -> None:
        super().__init__()
        self.config = config
        self.text = SentenceEncoder(config)
        self.generator = Generator(config)
        self.critic_text = SentenceEncoder(config)
        self.critics = nn.ModuleDict({kind.value: DISCRIMINATORS[kind](config) for kind in config.discriminators})

    def generate(self, tokens: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.generator(self.text(tokens), noise)

    def parameter_groups(self, lr: float) -> list[dict]:
        """For the training loop: Adam with beta1 = 0.5, the usual choice for GANs (Radford et al., 2016)."""
        return [{"params": list(self.parameters()), "lr": lr, "betas": (0.5, 0.999)}]

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.text.parameters(), *self.generator.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [*self.critic_text.parameters(), *self.critics.parameters()]


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def discriminator_loss(model: TGANC, real: torch.Tensor, fake: torch.Tensor, tokens: torch.Tensor,
                       mismatched: torch.Tensor) -> dict[str, torch.Tensor]:
    """Matching-aware loss per discriminator: real + its caption -> real; real + another caption
    and fake + its caption -> fake (the two negatives weighted one half each)."""
    sentence, wrong = model.critic_text(tokens), model.critic_text(mismatched)
    fake = fake.detach()
    losses = {}
    for name, critic in model.critics.items():
        losses[name] = (_bce(critic(real, sentence), True)
                        + 0.5 * (_bce(critic(real, wrong), False) + _bce(critic(fake, sentence), False)))
    return losses


def generator_loss(model: TGANC, fake: torch.Tensor, tokens: torch.Tensor, frozen: bool = False) -> dict[str, torch.Tensor]:
    """Each discriminator should call the generated clip, with its caption, real.

    `frozen=True` reads the discriminators through detached copies of their weights, so the loss's
    gradient reaches the generator only: generator and discriminator losses can then be summed and
    stepped together (simultaneous updates) by one optimiser, in the book's one training loop."""

    def run(module: nn.Module, *args: torch.Tensor) -> torch.Tensor:
        if not frozen:
            return module(*args)
        detached = {name: p.detach() for name, p in module.named_parameters()}
        return torch.func.functional_call(module, detached, args)

    sentence = run(model.critic_text, tokens)
    return {name: _bce(run(critic, fake, sentence), True) for name, critic in model.critics.items()}


def mismatch(tokens: torch.Tensor) -> torch.Tensor:
    """Every caption paired with another sample's: the batch rolled by one."""
    if tokens.shape[0] < 2:
        raise ValueError("mismatched captions need a batch of at least 2")
    return tokens.roll(1, dims=0)
