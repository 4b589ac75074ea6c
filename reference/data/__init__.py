"""The toy world of bouncing shapes: rendering, captions, tokenizer and datasets (chapter 0)."""

from .dataset import Batch, DatasetConfig, Sample, ShapesDataset, collate, random_frames, single_frame
from .vocab import PAD_ID, WORDS, Tokenizer
from .world import (
    COLOURS,
    MOTIONS,
    SHAPES,
    Motion,
    ObjectSpec,
    Scene,
    WorldConfig,
    combination_count,
    make_object,
    random_scene,
    render,
    render_combinations,
    scene_from_attributes,
    trajectory,
)

__all__ = [
    "COLOURS", "MOTIONS", "SHAPES", "Motion", "ObjectSpec", "Scene", "WorldConfig",
    "combination_count", "make_object", "random_scene", "render", "render_combinations", "scene_from_attributes",
    "trajectory", "Batch", "DatasetConfig", "Sample", "ShapesDataset", "collate", "random_frames", "single_frame",
    "PAD_ID", "WORDS", "Tokenizer",
]
