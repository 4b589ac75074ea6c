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


def query_steps(variant, f: int, h: int, w: int, query: tuple[int, int, int]) -> torch.Tensor:
    """`(f, h, w)` integers: 0 for the query token, k for tokens its k-th attention call of
    `variant` reads (the first call that reaches them), -1 for tokens it never reads directly."""
    from .nn.attention import VARIANT_AXES, Variant, axis_mask

    index = (query[0] * h + query[1]) * w + query[2]  # position in (f h w) order
    steps = torch.full((f * h * w,), -1)
    for k, axis in reversed(list(enumerate(VARIANT_AXES[Variant(variant)], start=1))):
        steps[axis_mask(axis, f, h, w)[index]] = k  # reversed: earlier calls overwrite later ones
    steps[index] = 0
    return steps.reshape(f, h, w)


def attention_pattern(variants, f: int = 4, h: int = 6, w: int = 6, query: tuple[int, int, int] = (1, 2, 1),
                      size: float = 0.9):
    """One row per attention variant, one panel per frame: which tokens one query attends to, and
    in which of the variant's attention calls (TimeSformer's figure 2, drawn from the real masks)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from .nn.attention import VARIANT_AXES, Variant

    colours = ["#ffffff", "#1f4e9c", "#e4572e", "#29a35a", "#f3a712"]  # unseen, query, call 1, 2, 3
    cmap = ListedColormap(colours)
    variants = [Variant(v) for v in variants]
    fig, axes = plt.subplots(len(variants), f, figsize=(size * f + 1.6, size * len(variants)), squeeze=False)
    for row, variant in zip(axes, variants):
        steps = query_steps(variant, f, h, w, query) + 1  # 0 unseen, 1 query, 2.. calls
        names = [a.value for a in VARIANT_AXES[variant]]
        for i, ax in enumerate(row):
            ax.imshow(steps[i].numpy(), cmap=cmap, vmin=0, vmax=len(colours) - 1)
            ax.set_xticks(torch.arange(w + 1).numpy() - 0.5, minor=True)
            ax.set_yticks(torch.arange(h + 1).numpy() - 0.5, minor=True)
            ax.grid(which="minor", color="#bbbbbb", linewidth=0.5)
            ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
            if row is axes[0]:
                ax.set_title(f"frame {i}", fontsize=8)
        row[0].set_ylabel(f"{variant.value}\n" + " → ".join(names), fontsize=7, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig
