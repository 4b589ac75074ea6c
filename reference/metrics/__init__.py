"""Metrics: the toy world's judge (caption accuracy, flicker, persistence) and PSNR/SSIM."""

from .consistency import ContentDistance, SizeDrift, average_content_distance, size_drift
from .judge import (
    Accuracy,
    JudgeConfig,
    JudgedObject,
    Judgement,
    caption_accuracy,
    flicker_per_step,
    judge,
    judge_video,
    parse_caption,
)
from .quality import motion_psnr, pooled_motion_psnr, pooled_psnr, psnr, ssim

__all__ = [
    "Accuracy", "ContentDistance", "JudgeConfig", "JudgedObject", "Judgement", "caption_accuracy", "flicker_per_step", "judge", "judge_video",
    "SizeDrift", "average_content_distance", "size_drift",
    "motion_psnr", "parse_caption", "pooled_motion_psnr", "pooled_psnr", "psnr", "ssim",
]
