"""Pictures and videos for the notebooks: inline videos through mediapy, frame grids through matplotlib.

mediapy encodes with ffmpeg; the book takes the binary that `imageio-ffmpeg` ships, so no system
ffmpeg is needed. In the built HTML the videos are embedded in the page (base64), so they play
offline. Everything takes the package's layout, `(c, f, h, w)` or `(b, c, f, h, w)` in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from einops import rearrange


def to_uint8_frames(video: torch.Tensor) -> np.ndarray:
    """`(c, f, h, w)` in [-1, 1] -> `(f, h, w, c)` uint8, the layout video encoders want."""
    if video.dim() != 4:
        raise ValueError(f"expected one video (c, f, h, w), got shape {tuple(video.shape)}")
    frames = ((video.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return rearrange(frames, "c f h w -> f h w c").numpy()


def _mediapy():
    """Import mediapy lazily (GPU machines may lack it) and point it at imageio-ffmpeg's binary."""
    import imageio_ffmpeg
    import mediapy

    mediapy.set_ffmpeg(imageio_ffmpeg.get_ffmpeg_exe())
    return mediapy


def show_videos(
    videos: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    fps: int = 4,
    scale: int = 4,
    codec: str = "gif",
    columns: int = 8,
) -> None:
    """Show videos inline in a notebook, enlarged `scale` times with nearest-neighbour pixels.

    GIF (the default) plays everywhere, loops, and keeps the toy world's hard edges; "h264" is
    smaller for long clips.
    """
    media = _mediapy()
    frames = [np.repeat(np.repeat(to_uint8_frames(v), scale, axis=1), scale, axis=2) for v in videos]
    media.show_videos(frames, titles=titles, fps=fps, codec=codec, columns=columns)


def save_video(video: torch.Tensor, path: str | Path, fps: int = 4, scale: int = 4) -> Path:
    """Write one video to .gif or .mp4 (by the suffix)."""
    media = _mediapy()
    frames = np.repeat(np.repeat(to_uint8_frames(video), scale, axis=1), scale, axis=2)
    media.write_video(str(path), frames, fps=fps, codec="gif" if str(path).endswith(".gif") else "h264")
    return Path(path)


def frame_grid(videos: torch.Tensor, titles: Sequence[str] | None = None, max_frames: int = 8, size: float = 1.2):
    """A matplotlib figure: one row per video, one column per frame. Returns the figure."""
    import matplotlib.pyplot as plt

    if videos.dim() == 4:  # a single video
        videos = videos[None]
    b, _, f, _, _ = videos.shape
    f = min(f, max_frames)
    fig, axes = plt.subplots(b, f, figsize=(size * f, size * b), squeeze=False)
    for i in range(b):
        frames = to_uint8_frames(videos[i])
        for j in range(f):
            axes[i, j].imshow(frames[j], interpolation="nearest")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        if titles is not None:
            axes[i, 0].set_ylabel(titles[i], rotation=0, ha="right", va="center", fontsize=8)
    for j in range(f):
        axes[0, j].set_title(f"frame {j}", fontsize=8)
    fig.tight_layout()
    return fig


def image_grid(images: torch.Tensor, titles: Sequence[str] | None = None, columns: int = 8, size: float = 1.2):
    """A matplotlib figure of images `(b, c, h, w)` or one-frame videos `(b, c, 1, h, w)`."""
    import matplotlib.pyplot as plt

    if images.dim() == 5:
        images = rearrange(images, "b c 1 h w -> b c h w")
    b = images.shape[0]
    rows = (b + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows * (1.25 if titles else 1)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(b):
        ax = axes.flat[i]
        ax.imshow(to_uint8_frames(images[i][:, None])[0], interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def mask_picture(mask: torch.Tensor, title: str = "", ax=None):
    """Draw a boolean attention mask `(n, n)` (rows: queries, columns: keys)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(mask.float().cpu().numpy(), cmap="Greys", interpolation="nearest", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    return ax
