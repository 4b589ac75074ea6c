"""Chapter 7's image conditioning: SEINE's masks and channels, Wan's latent mask regrouping,
zero-initialised input widening, and ConsistI2V's FrameInit."""

import math

import pytest
import torch

from reference.models.i2v import (
    DetailEncoder,
    MaskKind,
    first_frame_mask,
    first_frame_spatial_attention,
    frame_init,
    frame_mask,
    frequency_mix,
    gaussian_low_pass,
    pixel_frames,
    random_frame_masks,
    seine_condition,
    seine_input,
    wan_mask_channels,
    widen_patch_embed,
)
from reference.models.t2v import VideoDiT, VideoDiTConfig
from reference.nn.attention import Axis, FoldedSelfAttention, attention
from reference.nn.patch import PatchEmbed


def test_each_task_gives_its_frames():
    given = lambda kind, k=2: frame_mask(kind, 9, k).nonzero().flatten().tolist()  # noqa: E731
    assert given(MaskKind.IMAGE) == [0]
    assert given(MaskKind.TRANSITION) == [0, 8]
    assert given(MaskKind.PREDICTION, 3) == [0, 1, 2]
    assert given(MaskKind.INTERPOLATION, 4) == [0, 4, 8]
    assert given("interpolation", 3) == [0, 3, 6]
    for bad in ({"kind": MaskKind.PREDICTION, "k": 9}, {"kind": MaskKind.INTERPOLATION, "k": 1}):
        with pytest.raises(ValueError, match="1 <= k|2 <= k"):
            frame_mask(frames=9, **bad)
    with pytest.raises(ValueError, match="at least 2 frames"):
        frame_mask(MaskKind.IMAGE, 1)


def test_random_masks_mix_every_task_and_always_leave_work():
    masks = random_frame_masks(400, 9, torch.Generator().manual_seed(0))
    assert masks.shape == (400, 9) and masks.dtype == torch.bool
    assert masks.any(1).all() and (~masks).any(1).all(), "every row gives a frame and asks for one"
    assert masks[:, 0].all(), "every SEINE task gives the first frame"
    patterns = {tuple(row.tolist()) for row in masks}
    assert (True, *[False] * 8) in patterns and (True, *[False] * 7, True) in patterns
    assert len(patterns) >= 10, "prediction and interpolation vary k"
    again = random_frame_masks(400, 9, torch.Generator().manual_seed(0))
    assert torch.equal(masks, again)
    only = random_frame_masks(20, 9, torch.Generator().manual_seed(1), kinds=(MaskKind.IMAGE,))
    assert torch.equal(only, frame_mask(MaskKind.IMAGE, 9).expand(20, 9))
    assert random_frame_masks(8, 2, torch.Generator(), kinds=(MaskKind.IMAGE, MaskKind.PREDICTION))[:, 0].all()
    with pytest.raises(ValueError, match="at least 3 frames"):
        random_frame_masks(8, 2, torch.Generator())


def test_seine_channels_hide_the_frames_to_generate():
    x0, x_t = torch.randn(2, 4, 5, 3, 3), torch.randn(2, 4, 5, 3, 3)
    mask = torch.stack([frame_mask(MaskKind.IMAGE, 5), frame_mask(MaskKind.TRANSITION, 5)])
    cond = seine_condition(x0, mask)
    assert cond.shape == (2, 5, 5, 3, 3)
    assert torch.equal(cond[:, 0, :, 0, 0], mask.float())
    assert torch.equal(cond[0, 1:, 0], x0[0, :, 0]) and torch.equal(cond[1, 1:, 4], x0[1, :, 4])
    assert (cond[0, 1:, 1:] == 0).all() and (cond[1, 1:, 1:4] == 0).all()
    whole = seine_input(x_t, x0, mask)
    assert whole.shape == (2, 9, 5, 3, 3) and torch.equal(whole[:, :4], x_t)
    with pytest.raises(ValueError, match=r"\(b, f\)"):
        seine_condition(x0, mask[:, :4])


def _wan_original(pixel_mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Wan 2.1's image2video.py, written out for one clip: repeat_interleave the first entry 4 times,
    view as (n, 4), transpose to (4, n)."""
    msk = pixel_mask.float()[None, :, None, None].expand(1, -1, h, w)
    msk = torch.concat([torch.repeat_interleave(msk[:, 0:1], repeats=4, dim=1), msk[:, 1:]], dim=1)
    msk = msk.view(1, msk.shape[1] // 4, 4, h, w)
    return msk.transpose(1, 2)[0]


def test_wan_regroups_a_hand_made_mask():
    first_only = frame_mask(MaskKind.IMAGE, 9)[None]
    m = wan_mask_channels(first_only, 2, 2)
    assert m.shape == (1, 4, 3, 2, 2)
    assert (m[0, :, 0] == 1).all() and (m[0, :, 1:] == 0).all(), "latent frame 0 is the given image, all 4 channels"
    # given pixel frames 0 and 5: frames 1-4 fill latent frame 1's channels 0-3, frames 5-8 latent frame 2's
    hand = torch.zeros(1, 9, dtype=torch.bool)
    hand[0, [0, 5]] = True
    m = wan_mask_channels(hand, 1, 1)[0, :, :, 0, 0]
    assert m.tolist() == [[1, 0, 1], [1, 0, 0], [1, 0, 0], [1, 0, 0]]
    for mask in (first_only[0], hand[0], frame_mask(MaskKind.INTERPOLATION, 9, 2)):
        assert torch.equal(wan_mask_channels(mask[None], 2, 3)[0], _wan_original(mask, 2, 3))
    with pytest.raises(ValueError, match="1 \\+ 4k"):
        wan_mask_channels(torch.ones(1, 8, dtype=torch.bool), 2, 2)


def test_pixel_frames_of_latent_frames():
    """The middle of 3 latent frames is pixel frames 2..5 of 9; a latent mask of the frames that
    cover a pixel mask, spread back, gives every pixel frame of those latent frames."""
    middle = torch.tensor([[False, True, False]])
    assert pixel_frames(middle).nonzero()[:, 1].tolist() == [1, 2, 3, 4]
    assert pixel_frames(frame_mask(MaskKind.TRANSITION, 3)[None]).nonzero()[:, 1].tolist() == [0, 5, 6, 7, 8]
    assert pixel_frames(torch.tensor([[True, False]]), factor=2).tolist() == [[True, False, False]]
    with pytest.raises(ValueError, match="\\(b, n\\) mask"):
        pixel_frames(middle[0])


def test_widened_embedding_starts_as_the_base_model():
    torch.manual_seed(0)
    embed = PatchEmbed(4, 16, patch=2, patch_t=1)
    wide = widen_patch_embed(embed, 5)
    x, extra = torch.randn(2, 4, 3, 4, 4), torch.randn(2, 5, 3, 4, 4)
    assert torch.allclose(wide(torch.cat([x, extra], 1))[0], embed(x)[0], atol=1e-6)
    model = VideoDiT(VideoDiTConfig.tiny(in_channels=4))
    for p in model.parameters():  # adaLN-Zero starts at zero: make the output depend on the input
        torch.nn.init.normal_(p, std=0.1)
    x, t, tokens = torch.randn(2, 4, 3, 4, 4), torch.tensor([10, 500]), torch.randint(1, 10, (2, 5))
    with torch.no_grad():
        before = model(x, t, tokens)
        model.patch_embed = widen_patch_embed(model.patch_embed, 5)
        after = model(torch.cat([x, extra], 1), t, tokens)
    assert after.shape == before.shape == x.shape
    assert torch.allclose(after, before, atol=1e-5), "zero-initialised channels change nothing at the start"
    with pytest.raises(ValueError, match=">= 1"):
        widen_patch_embed(embed, 0)


def test_low_pass_is_freeinits_filter_centred_on_zero_frequency():
    lp = gaussian_low_pass(4, 8, 8, 0.25)
    assert lp[0, 0, 0] == 1 and lp.max() == 1 and (lp > 0).all()
    # FreeInit / ConsistI2V compute it on the fftshift-ed grid with (2 i / n - 1) per axis
    shifted = torch.tensor([[[math.exp(-((2 * t / 4 - 1) ** 2 + (2 * h / 8 - 1) ** 2 + (2 * w / 8 - 1) ** 2) / (2 * 0.25**2))
                              for w in range(8)] for h in range(8)] for t in range(4)])
    assert torch.allclose(torch.fft.fftshift(lp), shifted, atol=1e-6)
    odd = gaussian_low_pass(3, 8, 8, 0.25)
    assert odd[0, 0, 0] == 1 and torch.allclose(odd[1], odd[2]), "odd sizes: symmetric about frequency 0"
    assert (gaussian_low_pass(3, 8, 8, 0.0) == 0).all()
    with pytest.raises(ValueError, match=">= 0"):
        gaussian_low_pass(3, 8, 8, -0.1)


def test_frequency_mix_splits_the_spectrum():
    a, b = torch.randn(2, 4, 3, 8, 8), torch.randn(2, 4, 3, 8, 8)
    assert torch.allclose(frequency_mix(a, b, torch.ones(3, 8, 8)), a, atol=1e-5)
    assert torch.allclose(frequency_mix(a, b, torch.zeros(3, 8, 8)), b, atol=1e-5)
    lp = gaussian_low_pass(3, 8, 8, 0.25)
    mixed = frequency_mix(a, b, lp)
    assert torch.allclose(mixed.mean((-3, -2, -1)), a.mean((-3, -2, -1)), atol=1e-5), "the mean (frequency 0) is a's"


def test_frame_init_keeps_the_images_layout_and_fresh_detail():
    g = torch.Generator().manual_seed(0)
    image, noise = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 3, 8, 8, generator=g)
    signal, sigma = math.sqrt(0.05), math.sqrt(0.95)
    assert torch.allclose(frame_init(image, 3, noise, signal, sigma, cutoff=0.0), noise, atol=1e-6), "cutoff 0: plain noise"
    everything = frame_init(image, 3, noise, signal, sigma, cutoff=1e6)
    assert torch.allclose(everything, signal * image[:, :, None] + sigma * noise, atol=1e-4), "no cutoff: the diffused still"
    start = frame_init(image, 3, noise, signal, sigma)
    still_part = (start - noise).mean(2)  # what FrameInit added, averaged over frames
    corr = torch.corrcoef(torch.stack([still_part.flatten(), image.flatten()]))[0, 1]
    assert corr > 0.2, f"the start correlates with the image: {corr:.2f}"
    with pytest.raises(ValueError, match=r"\(b, c, h, w\)"):
        frame_init(noise, 3, noise, signal, sigma)
    with pytest.raises(ValueError, match="noise must be"):
        frame_init(image, 4, noise, signal, sigma)


def test_first_frame_attention_is_spatial_attention_that_also_sees_frame_one():
    torch.manual_seed(0)
    f, h, w = 3, 2, 2
    layer, x = FoldedSelfAttention(8, 2, Axis.SPACE), torch.randn(2, f * h * w, 8)
    mask = first_frame_mask(f, h, w)
    assert mask.sum(1).tolist() == [4] * 4 + [8] * 8, "frame 1 sees 4 keys, later frames 4 + 4"
    got = first_frame_spatial_attention(layer, x, f, h, w)
    q, k, v = layer.qkv(x).reshape(2, f * h * w, 3, 2, 4).permute(2, 0, 3, 1, 4)
    masked = layer.out(attention(q, k, v, mask=mask, fused=False).transpose(1, 2).reshape(2, f * h * w, 8))
    assert torch.allclose(got, masked, atol=1e-5), "equals full attention under the first-frame mask"
    plain = layer(x, f, h, w)
    assert torch.allclose(got[:, : h * w], plain[:, : h * w], atol=1e-5), "frame 1 attends as before"
    assert not torch.allclose(got[:, h * w :], plain[:, h * w :], atol=1e-3), "later frames now see frame 1"
    with pytest.raises(ValueError, match="SPACE"):
        first_frame_spatial_attention(FoldedSelfAttention(8, 2, Axis.TIME), x, f, h, w)


def test_detail_encoder_counts_the_frames_after_the_image():
    latent = torch.randn(2, 4, 8, 8)
    planes = DetailEncoder.planes(latent, 3)
    assert torch.equal(planes[:, :, 0], latent)
    assert (planes[:, :, 1] == 0.5).all() and (planes[:, :, 2] == 1.0).all()
    encoder = DetailEncoder(4, 4)
    out = encoder(latent, 3)
    assert out.shape == (2, 4, 3, 8, 8)
    assert not torch.allclose(out[:, :, 1], out[:, :, 2]), "the planes tell frames apart"
    other = latent.clone()
    other[1] = torch.randn(4, 8, 8)
    again = encoder(other, 3)
    assert torch.allclose(again[0], out[0], atol=1e-6) and not torch.allclose(again[1], out[1]), "clips stay apart"
    with pytest.raises(ValueError, match="one latent frame"):
        encoder(torch.randn(2, 4, 3, 8, 8), 3)
    with pytest.raises(ValueError, match="at least 2 frames"):
        encoder(latent, 1)
