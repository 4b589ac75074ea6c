"""Video noise priors: every frame stays N(0, I); the frames correlate as PYoCo and VideoFusion say."""

import pytest
import torch

from reference.diffusion.noise import (
    NoisePrior,
    decomposed_noise,
    frame_correlation,
    mixed_noise,
    progressive_noise,
    video_noise,
)

SHAPE = (64, 4, 6, 16, 16)


def test_independent_noise_has_no_correlation_between_frames():
    corr = frame_correlation(video_noise(SHAPE, NoisePrior.INDEPENDENT, generator=torch.Generator().manual_seed(0)))
    assert torch.allclose(corr, torch.eye(6), atol=0.02)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_mixed_noise_correlates_every_pair_of_frames_alike(alpha):
    noise = mixed_noise(SHAPE, alpha, torch.Generator().manual_seed(0))
    assert abs(noise.var().item() - 1) < 0.02, "each frame keeps unit variance"
    corr = frame_correlation(noise)
    expected = torch.full((6, 6), alpha**2 / (1 + alpha**2)).fill_diagonal_(1.0)
    assert torch.allclose(corr, expected, atol=0.02)


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_progressive_noise_correlation_decays_with_frame_distance(alpha):
    noise = progressive_noise(SHAPE, alpha, torch.Generator().manual_seed(0))
    for i in range(6):
        assert abs(noise[:, :, i].var().item() - 1) < 0.03, i
    rho = alpha / (1 + alpha**2) ** 0.5
    distance = (torch.arange(6)[:, None] - torch.arange(6)[None]).abs()
    assert torch.allclose(frame_correlation(noise), rho**distance.float(), atol=0.03)


def test_videofusion_decomposition_key_frame_residual_and_mixed_equivalence():
    g = torch.Generator().manual_seed(0)
    base, residual = torch.randn(2, 3, 1, 4, 4, generator=g), torch.randn(2, 3, 5, 4, 4, generator=g)
    assert torch.equal(decomposed_noise(base, residual, 1.0), base.expand_as(residual)), "lambda = 1: the shared noise"
    assert torch.equal(decomposed_noise(base, residual, 0.0), residual), "lambda = 0: independent noise"
    lam = torch.tensor([0.5, 0.5, 1.0, 0.5, 0.5])  # VideoFusion: the middle frame is the key frame
    noise = decomposed_noise(base, residual, lam)
    assert torch.equal(noise[:, :, 2], base[:, :, 0])
    # one lambda for every frame is PYoCo's mixed noise with alpha^2 / (1 + alpha^2) = lambda
    alpha = 1.0
    mixed = base * (alpha**2 / (1 + alpha**2)) ** 0.5 + residual * (1 / (1 + alpha**2)) ** 0.5
    assert torch.allclose(decomposed_noise(base, residual, alpha**2 / (1 + alpha**2)), mixed)
    wide = decomposed_noise(torch.randn(256, 4, 1, 8, 8), torch.randn(256, 4, 5, 8, 8), 0.3)
    assert torch.allclose(frame_correlation(wide), torch.full((5, 5), 0.3).fill_diagonal_(1.0), atol=0.03)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"\(b, c, f, h, w\)"):
        mixed_noise((2, 3, 4), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        progressive_noise(SHAPE, -1.0)
    with pytest.raises(ValueError, match="lambda"):
        decomposed_noise(torch.zeros(1, 1, 1, 2, 2), torch.zeros(1, 1, 3, 2, 2), 1.5)
    with pytest.raises(ValueError, match="shared by all"):
        decomposed_noise(torch.zeros(1, 1, 3, 2, 2), torch.zeros(1, 1, 3, 2, 2), 0.5)


def test_the_loss_and_the_sampler_draw_the_recipes_prior():
    """A recipe with `noise` set trains on and samples from that prior (chapter 2's `vdm-tiny`); a
    recipe without it keeps independent noise, drawn exactly as before."""
    from types import SimpleNamespace

    from reference import sampling
    from reference.data import DatasetConfig, WorldConfig
    from reference.diffusion import NoiseSchedule, Parameterisation, ScheduleConfig, diffusion_loss
    from reference.recipes import vdm

    schedule = NoiseSchedule(ScheduleConfig())
    x0 = torch.zeros(SHAPE)
    seen = []

    def denoiser(x_t, t):  # x_0 = 0, so x_t is the scaled noise the loss drew
        seen.append(x_t / (1 - schedule.alpha_bar(t)).sqrt().view(-1, 1, 1, 1, 1))
        return torch.zeros_like(x_t)

    diffusion_loss(denoiser, x0, schedule, Parameterisation.EPSILON, torch.Generator().manual_seed(0),
                   NoisePrior.PROGRESSIVE, 2.0)
    rho = 2.0 / 5**0.5
    distance = (torch.arange(6)[:, None] - torch.arange(6)[None]).abs()
    assert torch.allclose(frame_correlation(seen[-1]), rho**distance.float(), atol=0.03)
    diffusion_loss(denoiser, x0, schedule, Parameterisation.EPSILON, torch.Generator().manual_seed(0))
    assert torch.allclose(frame_correlation(seen[-1]), torch.eye(6), atol=0.02)

    recipe = vdm.VDMRecipe.tiny()
    assert sampling.noise_prior(recipe) == (NoisePrior(recipe.noise), recipe.noise_alpha)
    assert sampling.noise_prior(SimpleNamespace()) == (NoisePrior.INDEPENDENT, 1.0)
    starts = []

    class Model(torch.nn.Module):  # records the sampler's first input: the starting noise x_T
        config = SimpleNamespace(in_channels=4)

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, t, tokens):
            starts.append(x)
            return torch.zeros_like(x)

    world = WorldConfig(frames=6, height=16, width=16)
    for prior, expected in [(NoisePrior.PROGRESSIVE, rho**distance.float()), (NoisePrior.INDEPENDENT, torch.eye(6))]:
        starts.clear()
        r = SimpleNamespace(**{**vars(recipe), "noise": prior, "noise_alpha": 2.0, "data": DatasetConfig(world=world),
                               "guidance_scale": 1.0})
        r.sample_steps = 1
        sampling.generate(Model(), r, ["a red circle moving left"] * 64, seed=0)
        assert torch.allclose(frame_correlation(starts[0]), expected, atol=0.03), prior
