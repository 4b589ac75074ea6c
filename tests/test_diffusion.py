"""The diffusion core against its definitions and against diffusers' schedulers (the oracle)."""

import pytest
import torch

from reference.diffusion import (
    DDIMSampler,
    DDPMSampler,
    NoiseSchedule,
    Parameterisation,
    ScheduleConfig,
    ScheduleKind,
    diffusion_loss,
    guided,
    q_sample,
    sample,
    target,
    to_x0_eps,
)

diffusers = pytest.importorskip("diffusers", reason="diffusers is the oracle; install the `test` extra")

DIFFUSERS_NAME = {ScheduleKind.LINEAR: "linear", ScheduleKind.COSINE: "squaredcos_cap_v2"}
PREDICTION = {Parameterisation.EPSILON: "epsilon", Parameterisation.X0: "sample", Parameterisation.V: "v_prediction"}


@pytest.mark.parametrize("kind", list(ScheduleKind))
def test_schedules_match_diffusers(kind):
    ours = NoiseSchedule(ScheduleConfig(kind=kind))
    theirs = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=DIFFUSERS_NAME[kind])
    assert torch.allclose(ours.betas, theirs.betas, atol=1e-7)
    assert torch.allclose(ours.alpha_bars, theirs.alphas_cumprod, atol=1e-6)
    assert (ours.alpha_bars[1:] < ours.alpha_bars[:-1]).all(), "alpha_bar must fall monotonically"


@pytest.mark.parametrize("kind", list(ScheduleKind))
@pytest.mark.parametrize("parameterisation", list(Parameterisation))
@pytest.mark.parametrize("num_steps", [1000, 50])
def test_ddpm_step_matches_diffusers(kind, parameterisation, num_steps):
    schedule = NoiseSchedule(ScheduleConfig(kind=kind))
    ours = DDPMSampler(schedule, num_steps, parameterisation)
    theirs = diffusers.DDPMScheduler(beta_schedule=DIFFUSERS_NAME[kind], prediction_type=PREDICTION[parameterisation])
    theirs.set_timesteps(num_steps)
    assert torch.equal(ours.timesteps, theirs.timesteps)
    x = torch.randn(2, 3, 4, 8, 8)  # a video batch: any rank works
    for t in [ours.timesteps[0], ours.timesteps[len(ours.timesteps) // 2], ours.timesteps[-1]]:
        out = torch.randn_like(x)
        expected = theirs.step(out, int(t), x, generator=torch.Generator().manual_seed(1)).prev_sample
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
        assert torch.allclose(ours.step(out, int(t), x, noise=noise).prev_sample, expected, atol=1e-5)


@pytest.mark.parametrize("kind", list(ScheduleKind))
@pytest.mark.parametrize("parameterisation", list(Parameterisation))
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_step_matches_diffusers(kind, parameterisation, eta):
    schedule = NoiseSchedule(ScheduleConfig(kind=kind))
    ours = DDIMSampler(schedule, 25, parameterisation, eta=eta)
    theirs = diffusers.DDIMScheduler(beta_schedule=DIFFUSERS_NAME[kind], prediction_type=PREDICTION[parameterisation])
    theirs.set_timesteps(25)
    assert torch.equal(ours.timesteps, theirs.timesteps)
    x = torch.randn(2, 3, 8, 8)  # an image batch
    for t in ours.timesteps.tolist():
        out = torch.randn_like(x)
        expected = theirs.step(out, t, x, eta=eta, generator=torch.Generator().manual_seed(2)).prev_sample
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
        got = ours.step(out, t, x, noise=noise).prev_sample
        assert torch.allclose(got, expected, atol=1e-5)
        x = got


def test_zero_terminal_snr_matches_diffusers_and_ends_in_pure_noise():
    ours = NoiseSchedule(ScheduleConfig(zero_terminal_snr=True))
    theirs = diffusers.DDPMScheduler(beta_schedule="squaredcos_cap_v2", rescale_betas_zero_snr=True)
    assert ours.alpha_bars[-1] == 0 and ours.snr(999) == 0, "the last step is pure noise"
    assert torch.allclose(ours.alpha_bars, theirs.alphas_cumprod, atol=1e-6)
    plain = NoiseSchedule()
    assert plain.alpha_bars[-1] > 0, "without the rescale some signal is left at T"
    assert torch.allclose(ours.alpha_bars[0], plain.alpha_bars[0]), "the first step is kept"


def test_trailing_ddim_starts_at_the_last_step_and_matches_diffusers():
    schedule = NoiseSchedule(ScheduleConfig(zero_terminal_snr=True))
    ours = DDIMSampler(schedule, 25, Parameterisation.V, clip_x0=False, trailing=True)
    theirs = diffusers.DDIMScheduler(beta_schedule="squaredcos_cap_v2", rescale_betas_zero_snr=True,
                                     prediction_type="v_prediction", timestep_spacing="trailing", clip_sample=False)
    theirs.set_timesteps(25)
    assert torch.equal(ours.timesteps, theirs.timesteps) and ours.timesteps[0] == 999
    x = torch.randn(2, 4, 3, 8, 8)
    for t in ours.timesteps.tolist():
        out = torch.randn_like(x)
        got = ours.step(out, t, x).prev_sample
        assert torch.allclose(got, theirs.step(out, t, x).prev_sample, atol=1e-5)
        x = got
    # At alpha_bar = 0 the v-prediction alone gives x0 = -v: the network, not the input, says what the data is.
    x_T, v = torch.randn(1, 4, 3, 8, 8), torch.randn(1, 4, 3, 8, 8)
    assert torch.allclose(ours.step(v, 999, x_T).x0, -v, atol=1e-6)


def test_forward_process_has_the_right_moments():
    schedule = NoiseSchedule()
    x0 = torch.full((20000, 1), 0.5)
    t = torch.full((20000,), 300)
    x_t = q_sample(schedule, x0, t, torch.randn_like(x0))
    a = schedule.alpha_bars[300]
    assert x_t.mean().item() == pytest.approx(a.sqrt().item() * 0.5, abs=0.02)
    assert x_t.var().item() == pytest.approx(1 - a.item(), abs=0.02)


@pytest.mark.parametrize("parameterisation", list(Parameterisation))
def test_each_parameterisation_recovers_x0_and_eps(parameterisation):
    schedule = NoiseSchedule()
    x0, eps = torch.randn(4, 3, 2, 8, 8), torch.randn(4, 3, 2, 8, 8)
    t = torch.tensor([0, 10, 500, 900])  # at t = 999 float32 cannot recover x0 from eps
    x_t = q_sample(schedule, x0, t, eps)
    prediction = to_x0_eps(parameterisation, schedule, target(parameterisation, schedule, x0, eps, t), x_t, t)
    assert torch.allclose(prediction.x0, x0, atol=1e-3)
    assert torch.allclose(prediction.eps[1:], eps[1:], atol=1e-3)  # at t = 0 eps is barely identifiable


def test_ddim_with_eta_zero_is_deterministic_and_ddpm_is_not():
    schedule = NoiseSchedule()
    model = lambda x, t: 0.1 * x  # noqa: E731  any fixed function stands in for a network
    ddim = DDIMSampler(schedule, 10)
    first = sample(ddim, model, (2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    # Same start noise, different step noise: DDIM with eta = 0 ignores the step noise entirely.
    x = torch.randn((2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    for t in ddim.timesteps.tolist():
        x = ddim.step(model(x, None), t, x, noise=torch.randn_like(x)).prev_sample
    assert torch.allclose(first, x)
    ddpm = DDPMSampler(schedule, 10)
    a = sample(ddpm, model, (2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    b = sample(ddpm, model, (2, 3, 8, 8), generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(a, b)


def test_guidance_is_the_linear_extrapolation():
    def model(x, t, cond):
        return x * cond[:, :1, None, None].float()

    x, t = torch.randn(2, 1, 4, 4), torch.zeros(2, dtype=torch.long)
    cond, null = torch.full((2, 3), 3), torch.full((2, 3), 1)
    out = guided(model, cond, null, scale=2.5)(x, t)
    assert torch.allclose(out, x * 1 + 2.5 * (x * 3 - x * 1))
    assert torch.allclose(guided(model, cond, null, scale=1.0)(x, t), model(x, t, cond))


def test_loss_is_zero_for_a_perfect_denoiser():
    schedule = NoiseSchedule()
    x0 = torch.randn(4, 3, 8, 8)
    generator = torch.Generator().manual_seed(5)
    loss = diffusion_loss(lambda x_t, t: x0, x0, schedule, Parameterisation.X0, generator)
    assert loss.item() == 0.0


def test_bad_arguments():
    schedule = NoiseSchedule()
    with pytest.raises(ValueError, match="num_steps must lie in"):
        DDIMSampler(schedule, 0)
    with pytest.raises(ValueError, match="timesteps must lie in"):
        schedule.alpha_bar(1000)
    with pytest.raises(ValueError, match="pass `noise`"):
        DDPMSampler(schedule, 10).step(torch.zeros(1, 3), 900, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="noise shape"):
        q_sample(schedule, torch.zeros(1, 3), torch.zeros(1, dtype=torch.long), torch.zeros(1, 4))


@pytest.mark.parametrize("shift", [0.5, 2.0, 4.0])
def test_shifted_schedule_divides_every_snr_by_the_shift_squared(shift):
    """Simple diffusion's shifted schedule (chapter 2's pixel video model): log-SNR moves down by
    2 log(shift) at every step, and the betas still describe it (alpha_bar is their product)."""
    plain, shifted = NoiseSchedule(ScheduleConfig()), NoiseSchedule(ScheduleConfig(snr_shift=shift))
    t = torch.arange(1, 999)
    assert torch.allclose(plain.snr(t) / shifted.snr(t), torch.full((998,), shift**2), rtol=1e-3)
    assert torch.allclose(torch.cumprod(1 - shifted.betas, 0), shifted.alpha_bars)
    assert ((shifted.betas > 0) & (shifted.betas < 1)).all()
    assert torch.equal(NoiseSchedule(ScheduleConfig(snr_shift=1.0)).betas, plain.betas)
    with pytest.raises(ValueError, match="snr_shift"):
        NoiseSchedule(ScheduleConfig(snr_shift=0.0))
