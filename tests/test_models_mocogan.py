"""MoCoGAN (chapter 6): content fixed per clip, motion from the GRU alone, the category's two routes,
and the critics' outputs."""

import dataclasses

import pytest
import torch

from reference.data import Tokenizer
from reference.models.mocogan import (
    CategoryRoute,
    Labels,
    MoCoGAN,
    MoCoGANConfig,
    VideoDiscriminator,
    caption_labels,
    discriminator_loss,
    generator_loss,
    random_frames,
)


def labels(colour: int = 0, shape: int = 1, motion: int = 2, b: int = 2) -> Labels:
    return Labels(*(torch.full((b,), v) for v in (colour, shape, motion)))


def test_caption_labels_read_each_attribute_and_refuse_two_objects():
    tokens = Tokenizer().encode_batch(["a blue triangle moving up", "a red circle standing still"])
    got = caption_labels(tokens)
    assert got.colour.tolist() == [2, 0] and got.shape.tolist() == [2, 0] and got.motion.tolist() == [2, 4]
    with pytest.raises(ValueError, match="exactly one"):
        caption_labels(Tokenizer().encode_batch(["a red circle moving left and a blue square moving up"]))


def test_frames_differ_only_through_the_motion_codes():
    """Content is one code repeated per frame and the image generator sees one frame at a time, so
    constant motion codes give identical frames, and the GRU's codes are what moves the clip."""
    torch.manual_seed(0)
    model = MoCoGAN(MoCoGANConfig.tiny()).eval()
    content, noise, state = model.sample_codes(2, torch.Generator().manual_seed(1))
    clip = model.generate(labels(), content, noise, state)
    assert clip.shape == (2, 3, 4, 16, 16) and clip.abs().max() <= 1
    assert not torch.allclose(clip[:, :, 0], clip[:, :, 1])
    model.motion.forward = lambda noise, state, category=None: state[:, None].expand(-1, noise.shape[1], -1)
    still = model.generate(labels(), content, noise, state)
    assert torch.allclose(still, still[:, :, :1].expand_as(still))


@pytest.mark.parametrize("route", list(CategoryRoute))
def test_the_category_enters_where_the_route_says(route):
    torch.manual_seed(0)
    model = MoCoGAN(dataclasses.replace(MoCoGANConfig.tiny(), route=route)).eval()
    codes = model.sample_codes(2, torch.Generator().manual_seed(1))
    seen = []
    forward = model.motion.forward
    model.motion.forward = lambda *args: seen.append(forward(*args)) or seen[-1]
    a, b = model.generate(labels(motion=0), *codes), model.generate(labels(motion=3), *codes)
    assert not torch.allclose(a, b)  # either way the motion word changes the clip
    assert torch.allclose(seen[0], seen[1]) == (route == CategoryRoute.IMAGE)  # ...but only this route skips the GRU


def test_critics_shapes_and_the_frozen_generator_loss_reaches_only_the_generator():
    config = MoCoGANConfig.tiny()
    model = MoCoGAN(config)
    real = torch.rand(3, 3, 4, 16, 16) * 2 - 1
    logit, classes = VideoDiscriminator(config)(real)
    assert logit.shape == (3,) and {k: v.shape[1] for k, v in classes.items()} == {"colour": 6, "shape": 3, "motion": 5}
    assert random_frames(real, torch.Generator().manual_seed(0)).shape == (3, 3, 16, 16)
    fake = model.generate(labels(b=3), *model.sample_codes(3))
    sum(generator_loss(model, fake, labels(b=3), frozen=True).values()).backward()
    assert all(p.grad is None for p in [*model.image_critic.parameters(), *model.video_critic.parameters()])
    assert all(p.grad is not None for p in model.generator_parameters())
    model.zero_grad(set_to_none=True)
    sum(discriminator_loss(model, real, fake, labels(b=3)).values()).backward()
    assert all(p.grad is None for p in model.generator_parameters())  # the critics' loss reads fake.detach()


def test_config_refuses_what_the_critics_cannot_read():
    with pytest.raises(ValueError, match="power of two"):
        MoCoGANConfig(size=24)
    with pytest.raises(ValueError, match="one frame per level"):
        MoCoGANConfig(frames=3)
