"""Rectified flow: the straight path, its velocity, SD3's times, and an Euler sampler that is exact
on straight paths."""

import pytest
import torch

from reference.diffusion.flow import (
    TIME_SCALE,
    euler_sample,
    interpolate,
    logit_normal,
    sampling_times,
    shift_times,
    velocity,
)


def test_path_runs_from_data_to_noise_at_the_velocity():
    x0, x1 = torch.randn(3, 2, 4, 5, 5), torch.randn(3, 2, 4, 5, 5)
    assert torch.equal(interpolate(x0, x1, torch.zeros(3)), x0)
    assert torch.equal(interpolate(x0, x1, torch.ones(3)), x1)
    t, dt = torch.full((3,), 0.3), 1e-3
    slope = (interpolate(x0, x1, t + dt) - interpolate(x0, x1, t)) / dt
    assert torch.allclose(slope, velocity(x0, x1), atol=1e-2)
    per_frame = interpolate(x0, x1, torch.tensor([[0.0, 1.0, 0.0, 1.0]] * 3))  # one time per frame
    assert torch.equal(per_frame[:, :, 0], x0[:, :, 0]) and torch.equal(per_frame[:, :, 1], x1[:, :, 1])


def test_euler_is_exact_when_the_velocity_is_the_true_one():
    x0, x1 = torch.randn(2, 3, 2, 4, 4), torch.randn(2, 3, 2, 4, 4)
    seen = []

    def model_fn(x, t):
        seen.append(t[0].item() / TIME_SCALE)
        return velocity(x0, x1)

    out = euler_sample(model_fn, x1, num_steps=7, shift=3.0)
    assert torch.allclose(out, x0, atol=1e-5)
    assert seen[0] == pytest.approx(1.0) and len(seen) == 7


def test_times():
    t = logit_normal(10_000, torch.Generator().manual_seed(0))
    assert 0 < t.min() and t.max() < 1 and abs(t.median().item() - 0.5) < 0.02
    grid = torch.linspace(0, 1, 11)
    assert torch.allclose(shift_times(grid, 1.0), grid)
    shifted = shift_times(grid, 3.0)
    assert shifted[0] == 0 and shifted[-1] == 1 and (shifted[1:-1] > grid[1:-1]).all(), "s > 1 spends steps at high noise"
    times = sampling_times(5)
    assert times[0] == 1 and times[-1] == 0 and len(times) == 6
    with pytest.raises(ValueError, match="shift"):
        shift_times(grid, 0.0)
    with pytest.raises(ValueError, match="num_steps"):
        sampling_times(0)


def test_euler_sampler_matches_diffusers_flow_match_scheduler_step_for_step():
    """Wan's and SD3's sampler (diffusers' `FlowMatchEulerDiscreteScheduler`), given our unshifted
    times, shifts them as we do and takes the same Euler steps."""
    diffusers = pytest.importorskip("diffusers", reason="diffusers is the oracle; install the `test` extra")
    for shift in (1.0, 3.0):
        theirs = diffusers.FlowMatchEulerDiscreteScheduler(shift=shift)
        theirs.set_timesteps(sigmas=torch.linspace(1.0, 0.0, 11)[:-1].numpy())
        ours = sampling_times(10, shift)
        assert torch.allclose(theirs.sigmas, ours, atol=1e-6)
        assert torch.allclose(theirs.timesteps, ours[:-1] * TIME_SCALE, atol=1e-3)
        weight = torch.randn(3, 4, 1, 1, 1)
        model_fn = lambda x, t: weight * x + t[:, None, None, None, None] / TIME_SCALE  # noqa: E731
        noise = torch.randn(3, 4, 2, 5, 5)
        x = noise
        for t in theirs.timesteps:
            x = theirs.step(model_fn(x, t.repeat(3)), t, x).prev_sample
        assert torch.allclose(euler_sample(model_fn, noise, 10, shift), x, atol=1e-5)
