"""Metrics: the toy world's judge (caption accuracy, flicker, persistence) and PSNR/SSIM."""

from .judge import Accuracy, JudgeConfig, JudgedObject, Judgement, caption_accuracy, judge, judge_video, parse_caption
from .quality import psnr, ssim

__all__ = [
    "Accuracy", "JudgeConfig", "JudgedObject", "Judgement", "caption_accuracy", "judge", "judge_video",
    "parse_caption", "psnr", "ssim",
]
