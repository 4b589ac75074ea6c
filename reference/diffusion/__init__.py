"""The diffusion core: schedules, forward process, parameterisations, samplers, guidance (chapter 0)."""

from .forward import Parameterisation, Prediction, diffusion_loss, expand_as, q_sample, target, to_x0_eps
from .guidance import guided
from .samplers import DDIMSampler, DDPMSampler, StepOutput, sample
from .schedule import NoiseSchedule, ScheduleConfig, ScheduleKind

__all__ = [
    "Parameterisation", "Prediction", "diffusion_loss", "expand_as", "q_sample", "target", "to_x0_eps",
    "guided", "DDIMSampler", "DDPMSampler", "StepOutput", "sample", "NoiseSchedule", "ScheduleConfig",
    "ScheduleKind",
]
