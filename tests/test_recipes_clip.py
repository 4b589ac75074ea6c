"""clip-tiny's recipe: frames and captions as the loss sees them, matches by colour and shape,
zero-shot retrieval and CLIP-score, and training through the zoo."""

import dataclasses

import torch

from reference import zoo
from reference.data import Tokenizer
from reference.recipes import clip
from tests.conftest import train_sandbox_zoo


def test_matches_shortening_and_random_frames():
    tokens = Tokenizer().encode_batch(["a red circle moving left", "a red circle standing still", "a blue circle moving up"])
    assert clip.object_matches(tokens).tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    short = clip.shorten(tokens, 1.0, torch.Generator().manual_seed(0))
    assert [Tokenizer().decode(t) for t in short] == ["a red circle", "a red circle", "a blue circle"]
    assert torch.equal(clip.shorten(tokens, 0.0, torch.Generator().manual_seed(0)), tokens)
    videos = torch.arange(2 * 3 * 4).float().view(2, 1, 4, 3, 1).expand(2, 3, 4, 3, 1)
    frames = clip.random_frames(videos, torch.Generator().manual_seed(1))
    assert frames.shape == (2, 3, 3, 1)
    assert all(any(torch.equal(frames[i], videos[i, :, k]) for k in range(4)) for i in range(2))


def test_clip_tiny_trains_and_measures_through_the_zoo(tmp_path, monkeypatch):
    entries = {"clip-tiny": dataclasses.replace(zoo.REGISTRY["clip-tiny"], recipe=clip.CLIPRecipe.tiny())}
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    metrics = zoo.card("clip-tiny")["metrics"]
    for key in ("colour_retrieval", "shape_retrieval", "object_retrieval", "motion_retrieval"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["object_retrieval"] <= min(metrics["colour_retrieval"], metrics["shape_retrieval"])
    model = zoo.load("clip-tiny")
    videos = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    scores = clip.clip_score(model, videos, ["a red circle moving left", "a blue square"])
    assert scores.shape == (2,) and (scores.abs() <= 100).all()
