"""VideoFusion: a video denoiser split into a shared base generator and a per-frame residual (chapter 6).

VideoFusion (Luo et al., 2023) writes each frame's noise as a base noise shared by the clip plus a
residual of its own, eps^i = sqrt(lambda^i) b + sqrt(1 - lambda^i) r^i
(`reference.diffusion.noise.decomposed_noise`), and predicts the two parts with two networks:

- the *base generator*, an image denoiser (started from a pretrained image model and fine-tuned),
  reads the key frame alone, whose noise is the base noise (lambda = 1), and predicts b once per
  step for the whole clip;
- the *residual generator*, a second image denoiser told which frame it sees, reads each other
  frame with the predicted base removed, z'^i = z^i_t - sqrt(lambda) sqrt(1 - alpha_bar_t) b_hat,
  and predicts r^i.

The clip's noise prediction is sqrt(lambda) b_hat + sqrt(1 - lambda) r_hat^i (b_hat at the key
frame), an epsilon prediction, so any sampler of `reference.diffusion` runs it. The losses follow
the paper: the key frame trains the base; the other frames train the residual, with the base's
prediction held fixed (stop-gradient), so the base learns from the key frame only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange, repeat
from torch import nn

from ..diffusion import NoiseSchedule, Parameterisation, expand_as, to_x0_eps
from .unet2d import UNet2D, UNet2DConfig


@dataclass(frozen=True)
class VideoFusionConfig:
    base: UNet2DConfig = UNet2DConfig(channels=(24, 48, 96))  # frames-tiny's architecture
    residual: UNet2DConfig = UNet2DConfig(channels=(24, 48, 96))
    base_parameterisation: Parameterisation = Parameterisation.V  # what the base (an image model) outputs
    frames: int = 8
    key_frame: int = 4  # the middle frame, as the paper
    lam: float = 0.5  # lambda of every frame but the key frame (which has 1)

    @classmethod
    def tiny(cls) -> "VideoFusionConfig":
        return cls(base=UNet2DConfig.tiny(), residual=UNet2DConfig.tiny(), frames=4, key_frame=2)

    def __post_init__(self) -> None:
        if not 0 <= self.key_frame < self.frames:
            raise ValueError(f"key_frame must be one of the {self.frames} frames, got {self.key_frame}")
        if not 0 <= self.lam < 1:
            raise ValueError(f"lambda must lie in [0, 1) for the frames that are not the key frame, got {self.lam}")

    def lambdas(self) -> torch.Tensor:
        """`(f,)`: lambda per frame, 1 at the key frame."""
        lam = torch.full((self.frames,), self.lam)
        lam[self.key_frame] = 1.0
        return lam

    def to_dict(self) -> dict:
        return asdict(self)


class VideoFusion(nn.Module):
    """Noisy clip `(b, c, f, h, w)`, timesteps `(b,)`, captions `(b, n)` -> eps prediction `(b, c, f, h, w)`."""

    def __init__(self, config: VideoFusionConfig = VideoFusionConfig(), schedule: NoiseSchedule | None = None) -> None:
        super().__init__()
        self.config = config
        self.schedule = schedule or NoiseSchedule()
        self.base = UNet2D(config.base)
        self.residual = UNet2D(config.residual)
        self.frame_embed = nn.Embedding(config.frames, config.residual.embed_dim)
        nn.init.zeros_(self.frame_embed.weight)  # the residual starts blind to the frame index; it learns it
        self.base_lr_ratio = 1.0  # set below 1 when the base starts from an image model (`parameter_groups`)

    def parameter_groups(self, lr: float) -> list[dict]:
        """For the training loop: the base generator fine-tuned at `base_lr_ratio` of the rate (the
        paper fine-tunes its pretrained base with a small learning rate), the rest at `lr`."""
        base = list(self.base.parameters())
        ids = {id(p) for p in base}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": base, "lr": lr * self.base_lr_ratio}, {"params": rest, "lr": lr}]

    def base_noise(self, key: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """b_hat `(b, c, h, w)` from the noisy key frame: the base network's output as an eps estimate."""
        out = self.base(key, t, tokens)
        return to_x0_eps(self.config.base_parameterisation, self.schedule, out, key, t.cpu()).eps

    def residual_noise(self, x_t: torch.Tensor, b_hat: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """r_hat `(b, c, f, h, w)` for every frame, from z' = z_t - sqrt(lambda) sqrt(1 - alpha_bar_t) b_hat."""
        b, _, f = x_t.shape[:3]
        lam = self.config.lambdas().to(x_t)
        sigma = expand_as((1 - self.schedule.alpha_bar(t.cpu())).sqrt(), b_hat)  # (b, 1, 1, 1)
        shifted = x_t - lam.view(1, 1, f, 1, 1).sqrt() * (sigma * b_hat)[:, :, None]  # (b, c, f, h, w)
        frames = torch.arange(f, device=x_t.device)
        out = self.residual(rearrange(shifted, "b c f h w -> (b f) c h w"), repeat(t, "b -> (b f)", f=f),
                            repeat(tokens, "b n -> (b f) n", f=f), extra=repeat(self.frame_embed(frames), "f e -> (b f) e", b=b))
        return rearrange(out, "(b f) c h w -> b c f h w", f=f)

    def combine(self, b_hat: torch.Tensor, r_hat: torch.Tensor) -> torch.Tensor:
        """eps^i = sqrt(lambda^i) b_hat + sqrt(1 - lambda^i) r_hat^i (the key frame: b_hat alone)."""
        lam = self.config.lambdas().to(r_hat).view(1, 1, -1, 1, 1)
        return lam.sqrt() * b_hat[:, :, None] + (1 - lam).sqrt() * r_hat

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if x_t.dim() != 5 or x_t.shape[2] != self.config.frames:
            raise ValueError(f"expected clips (b, c, {self.config.frames}, h, w), got shape {tuple(x_t.shape)}")
        b_hat = self.base_noise(x_t[:, :, self.config.key_frame], t, tokens)  # once for the whole clip
        return self.combine(b_hat, self.residual_noise(x_t, b_hat, t, tokens))

    def loss(self, x_t: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The paper's two losses, summed: the key frame's noise against b_hat (trains the base); the
        other frames' noise against sqrt(lambda) sg[b_hat] + sqrt(1 - lambda) r_hat (trains the residual)."""
        k = self.config.key_frame
        b_hat = self.base_noise(x_t[:, :, k], t, tokens)
        key_loss = nn.functional.mse_loss(b_hat, noise[:, :, k])
        held = b_hat.detach()
        others = [i for i in range(self.config.frames) if i != k]
        prediction = self.combine(held, self.residual_noise(x_t, held, t, tokens))
        return key_loss + nn.functional.mse_loss(prediction[:, :, others], noise[:, :, others])

    def load_image_weights(self, image_model: UNet2D) -> None:
        """Start the base generator from a pretrained image denoiser (the paper fine-tunes it)."""
        self.base.load_state_dict(image_model.state_dict())
