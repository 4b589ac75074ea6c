"""Make-A-Video's stage networks (chapter 4): each grown network starts as the one it grew from."""

import dataclasses

import pytest
import torch

from reference.models.cascade import StageConfig, StageUNet, freeze_spatial, inflate, is_temporal, widen_input


def inputs(b=2, f=5, size=8, cond=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 3, f, size, size, generator=g)
    c = torch.randn(b, cond, f, size, size, generator=g) if cond else None
    return x, torch.tensor([10, 500]), torch.tensor([[3, 4, 5], [6, 7, 1]]), torch.randn(b, 16, generator=g), c


def perturb(model):
    """Move every weight off its initialisation, so a zero-initialised layer is not the only reason outputs match."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def test_image_stage_treats_every_frame_alone():
    torch.manual_seed(0)
    model = perturb(StageUNet(StageConfig.tiny(clip_dim=16))).eval()
    x, t, tokens, clip, _ = inputs()
    out = model(x, t, tokens, clip=clip)
    assert out.shape == x.shape
    alone = model(x[:, :, 2:3], t, tokens, clip=clip)
    torch.testing.assert_close(out[:, :, 2:3], alone, atol=1e-5, rtol=1e-5)


def test_inflated_stage_equals_the_image_stage_at_start():
    torch.manual_seed(0)
    image = perturb(StageUNet(StageConfig.tiny(clip_dim=16, fps=True))).eval()
    video = inflate(image, time_caption=True).eval()
    assert video.config.temporal and video.config.time_caption
    x, t, tokens, clip, _ = inputs()
    skip = torch.tensor([1, 4])
    torch.testing.assert_close(video(x, t, tokens, clip=clip, skip=skip), image(x, t, tokens, clip=clip, skip=skip),
                               atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="already has temporal"):
        inflate(video)


def test_temporal_layers_mix_frames_once_trained():
    torch.manual_seed(0)
    video = perturb(inflate(StageUNet(StageConfig.tiny(clip_dim=16, fps=True)), time_caption=True)).eval()
    x, t, tokens, clip, _ = inputs()
    skip = torch.tensor([1, 4])
    out = video(x, t, tokens, clip=clip, skip=skip)
    video.time_caption.mlp[-1].weight.data.zero_()
    video.time_caption.mlp[-1].bias.data.zero_()
    assert (video(x, t, tokens, clip=clip, skip=skip) - out).abs().max() > 1e-5, "the temporal caption encoder is read"
    video = perturb(video)
    out = video(x, t, tokens, clip=clip, skip=skip)
    changed = x.clone()
    changed[:, :, 0] += 1.0
    assert (video(changed, t, tokens, clip=clip, skip=skip)[:, :, 3] - out[:, :, 3]).abs().max() > 1e-4
    other = video(x, t, tokens, clip=clip, skip=torch.tensor([2, 2]))
    assert (other - out).abs().max() > 1e-5, "the frame skip is an input"


def test_freeze_spatial_leaves_only_the_new_layers():
    video = inflate(StageUNet(StageConfig.tiny(clip_dim=16, fps=True)), time_caption=True)
    trainable = freeze_spatial(video)
    assert trainable and all(is_temporal(n) for n in trainable)
    assert any(n.startswith("fps_embed") for n in trainable) and any(n.startswith("time_caption") for n in trainable)
    frozen = [n for n, p in video.named_parameters() if not p.requires_grad]
    assert "unet.conv_in.weight" in frozen and "clip_proj.weight" in frozen
    with pytest.raises(ValueError, match="inflate it first"):
        freeze_spatial(StageUNet(StageConfig.tiny()))
    with pytest.raises(ValueError, match="belongs to a video stage"):
        StageConfig.tiny(time_caption=True)


def test_frozen_spatial_weights_do_not_move_in_training():
    torch.manual_seed(0)
    video = inflate(StageUNet(StageConfig.tiny(clip_dim=16, fps=True)))
    freeze_spatial(video)
    before = {n: p.detach().clone() for n, p in video.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in video.parameters() if p.requires_grad], lr=1e-2)
    x, t, tokens, clip, _ = inputs()
    for _ in range(2):
        loss = video(x, t, tokens, clip=clip, skip=torch.tensor([1, 2])).square().mean() + (x.mean() * 0)
        optimizer.zero_grad()
        (loss + sum(p.sum() * 0 for p in video.parameters() if p.requires_grad)).backward()
        optimizer.step()
    for n, p in video.named_parameters():
        if is_temporal(n):
            continue
        assert torch.equal(p, before[n]), n
    assert any(not torch.equal(p, before[n]) for n, p in video.named_parameters() if is_temporal(n))


def test_widened_input_starts_as_the_narrow_network_whatever_the_new_channels_hold():
    torch.manual_seed(0)
    narrow = perturb(inflate(StageUNet(StageConfig.tiny(clip_dim=16, fps=True)))).eval()
    wide = widen_input(narrow, 4).eval()
    assert wide.config.unet.cond_channels == 4
    x, t, tokens, clip, cond = inputs(cond=4)
    skip = torch.tensor([1, 1])
    torch.testing.assert_close(wide(x, t, tokens, clip=clip, skip=skip, cond=cond),
                               narrow(x, t, tokens, clip=clip, skip=skip), atol=1e-5, rtol=1e-5)


def test_missing_conditions_are_named():
    model = StageUNet(StageConfig.tiny(clip_dim=16, fps=True, cond_channels=3, temporal=True))
    x, t, tokens, clip, cond = inputs(cond=3)
    with pytest.raises(ValueError, match="CLIP embedding"):
        model(x, t, tokens, skip=torch.tensor([1, 1]), cond=cond)
    with pytest.raises(ValueError, match="frame skip"):
        model(x, t, tokens, clip=clip, cond=cond)
    with pytest.raises(ValueError, match="expected cond of shape"):
        model(x, t, tokens, clip=clip, skip=torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="expected clips"):
        model(x[:, :, 0], t, tokens, clip=clip, skip=torch.tensor([1, 1]), cond=cond)
    assert dataclasses.replace(model.config).temporal
