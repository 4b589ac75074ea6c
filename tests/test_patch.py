import pytest
import torch
from einops import rearrange

from reference.nn.patch import PatchEmbed, PatchUnembed, patch_grid, patchify, unpatchify


@pytest.mark.parametrize("patch, patch_t", [(4, 1), (2, 2), (8, 4), (1, 1)])
def test_patchify_then_unpatchify_is_lossless(patch, patch_t):
    video = torch.randn(2, 3, 8, 16, 24)
    tokens = patchify(video, patch, patch_t)
    grid = patch_grid(8, 16, 24, patch, patch_t)
    assert tokens.shape == (2, grid.tokens, patch_t * patch * patch * 3)
    assert torch.equal(unpatchify(tokens, grid, patch, patch_t), video)


def test_token_counts_uniform_vs_tubelet():
    # 16 frames of 32x32 with 4x4 patches: uniform 16*8*8 = 1024 tokens, 2-frame tubelets half that
    assert patch_grid(16, 32, 32, patch=4).tokens == 1024
    assert patch_grid(16, 32, 32, patch=4, patch_t=2).tokens == 512


@pytest.mark.parametrize("patch_t", [1, 2])
def test_linear_patch_embedding_equals_a_strided_convolution(patch_t):
    embed = PatchEmbed(3, 16, patch=4, patch_t=patch_t)
    conv = torch.nn.Conv3d(3, 16, (patch_t, 4, 4), stride=(patch_t, 4, 4))
    with torch.no_grad():  # the conv kernel is the linear map, laid out as a kernel
        conv.weight.copy_(rearrange(embed.proj.weight, "d (pf ph pw c) -> d c pf ph pw", pf=patch_t, ph=4, pw=4))
        conv.bias.copy_(embed.proj.bias)
    video = torch.randn(2, 3, 4, 8, 12)
    tokens, grid = embed(video)
    expected = rearrange(conv(video), "b d f h w -> b (f h w) d")
    assert torch.allclose(tokens, expected, atol=1e-5)
    assert PatchUnembed(16, 3, patch=4, patch_t=patch_t)(tokens, grid).shape == video.shape


def test_bad_sizes_say_which_axis():
    with pytest.raises(ValueError, match="height 30 is not a multiple of the patch size 4"):
        patchify(torch.zeros(1, 3, 2, 30, 32), 4)
    with pytest.raises(ValueError, match="frames 3 is not a multiple"):
        PatchEmbed(3, 8, patch=4, patch_t=2)(torch.zeros(1, 3, 3, 8, 8))


def test_uniform_embedding_matches_diffusers_patch_embed_per_frame():
    """Oracle: Latte in diffusers embeds each frame with `PatchEmbed`; ours must agree with copied weights."""
    embeddings = pytest.importorskip("diffusers.models.embeddings", reason="diffusers is the oracle (test extra)")
    theirs = embeddings.PatchEmbed(height=16, width=16, patch_size=4, in_channels=3, embed_dim=32, pos_embed_type=None)
    ours = PatchEmbed(3, 32, patch=4)
    with torch.no_grad():
        ours.proj.weight.copy_(rearrange(theirs.proj.weight, "d c ph pw -> d (ph pw c)"))
        ours.proj.bias.copy_(theirs.proj.bias)
    video = torch.randn(2, 3, 5, 16, 16)
    tokens, grid = ours(video)
    per_frame = theirs(rearrange(video, "b c f h w -> (b f) c h w"))  # ((b f), h*w, d)
    assert torch.allclose(tokens, rearrange(per_frame, "(b f) n d -> b (f n) d", f=5), atol=1e-5)
