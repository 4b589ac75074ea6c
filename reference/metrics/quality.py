"""Reconstruction metrics: PSNR and SSIM (Wang et al., 2004), for images and videos.

Both take tensors in [-1, 1] (data range 2). Videos `(b, c, f, h, w)` are scored frame by
frame and averaged; images `(b, c, h, w)` directly. Used from chapter 5 (VAEs) on.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch.nn import functional as F


def _as_frames(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 5:
        return rearrange(x, "b c f h w -> (b f) c h w")
    if x.dim() == 4:
        return x
    raise ValueError(f"expected (b, c, h, w) or (b, c, f, h, w), got {tuple(x.shape)}")


def psnr(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per sample `(b,)`: 10 log10(range^2 / MSE)."""
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    mse = (prediction.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(data_range**2 / mse.clamp(min=1e-12))


def pooled_psnr(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> float:
    """One PSNR in dB for a whole batch, from the MSE over all its samples. The mean of per-sample
    PSNRs is not this: a sample reproduced exactly (a still clip whose frames are copied, whose
    frame differences are all zero) scores 120 dB and outweighs many samples that are wrong."""
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    mse = (prediction.float() - target.float()).pow(2).mean().clamp(min=1e-12)
    return (10 * torch.log10(data_range**2 / mse)).item()


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]  # (size, size)


def ssim(
    prediction: torch.Tensor, target: torch.Tensor, data_range: float = 2.0, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Mean structural similarity per sample `(b,)`, Gaussian window 11 / 1.5, K1 = 0.01, K2 = 0.03."""
    if prediction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}")
    b = prediction.shape[0]
    x, y = _as_frames(prediction.float()), _as_frames(target.float())
    c = x.shape[1]
    size = min(window, x.shape[-1], x.shape[-2])  # small frames get a smaller window
    kernel = _gaussian_window(size, sigma).to(x.device).expand(c, 1, size, size)
    blur = lambda z: F.conv2d(z, kernel, groups=c)  # noqa: E731  valid convolution, as the reference code
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(dim=1).reshape(b, -1).mean(dim=1)


def motion_psnr(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per video `(b,)` between the frame-to-frame differences x[t+1] - x[t] of two
    videos `(b, c, f, h, w)`: how well a reconstruction keeps what moves, whatever it does to what
    stands still. Differences span [-2, 2]; the peak is taken as 2, the frames' own range, so a
    value is comparable with the frames' PSNR."""
    return psnr(_differences(prediction), _differences(target))


def _differences(videos: torch.Tensor) -> torch.Tensor:
    """x[t+1] - x[t] of videos `(b, c, f, h, w)`, `(b, c, f - 1, h, w)`."""
    if videos.dim() != 5 or videos.shape[2] < 2:
        raise ValueError(f"expected videos (b, c, f, h, w) with f >= 2, got {tuple(videos.shape)}")
    videos = videos.float()
    return videos[:, :, 1:] - videos[:, :, :-1]


def pooled_motion_psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """`motion_psnr` pooled over the batch as `pooled_psnr` is: one value in dB for the frame-to-frame
    differences of all the videos `(b, c, f, h, w)`."""
    return pooled_psnr(_differences(prediction), _differences(target))
