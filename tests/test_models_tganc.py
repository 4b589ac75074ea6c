"""TGANs-C (chapter 1): shapes, the three matching-aware discriminators and the two losses."""

import dataclasses

import pytest
import torch

from reference.data import Tokenizer
from reference.models.tganc import (
    TGANC,
    DiscriminatorKind,
    SentenceEncoder,
    TGANCConfig,
    discriminator_loss,
    generator_loss,
    mismatch,
)

PROMPTS = ["a red circle moving left", "a blue square standing still", "a green triangle moving up"]


def test_generator_and_discriminators_shapes():
    torch.manual_seed(0)
    config = TGANCConfig.tiny()
    model = TGANC(config)
    tokens = Tokenizer().encode_batch(PROMPTS)
    video = model.generate(tokens, torch.randn(3, config.noise_dim))
    assert video.shape == (3, 3, 4, 16, 16) and video.abs().max() <= 1.0
    sentence = model.critic_text(tokens)
    assert model.critics["video"](video, sentence).shape == (3,)
    assert model.critics["frame"](video, sentence).shape == (3, 4)  # one score per frame
    assert model.critics["motion"](video, sentence).shape == (3, 3)  # one score per step between frames


def test_sentence_vector_ignores_padding_and_reads_word_order():
    torch.manual_seed(0)
    encoder = SentenceEncoder(TGANCConfig.tiny())
    tokenizer = Tokenizer()
    short, long_ = Tokenizer(max_length=8), Tokenizer(max_length=16)
    a = encoder(short.encode_batch(["a red circle moving left"]))
    b = encoder(long_.encode_batch(["a red circle moving left"]))
    assert torch.allclose(a, b, atol=1e-6)  # padding changes nothing
    swapped = encoder(tokenizer.encode_batch(["a red circle moving left", "left moving circle red a"]))
    assert not torch.allclose(swapped[0], swapped[1])  # an LSTM, not a bag of words
    with pytest.raises(ValueError, match="at least one word"):
        encoder(torch.zeros(1, 4, dtype=torch.long))


def test_matching_aware_discriminator_loss():
    """Real clip with its caption -> real; real clip with another caption and fake clip -> fake."""
    torch.manual_seed(0)
    model = TGANC(TGANCConfig.tiny())
    tokens = Tokenizer().encode_batch(PROMPTS)
    real = torch.rand(3, 3, 4, 16, 16) * 2 - 1
    fake = model.generate(tokens, torch.randn(3, 8))
    wrong = mismatch(tokens)
    assert torch.equal(wrong[0], tokens[2]) and torch.equal(wrong[1], tokens[0])
    losses = discriminator_loss(model, real, fake, tokens, wrong)
    assert set(losses) == {"video", "frame", "motion"}
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    s, w = model.critic_text(tokens), model.critic_text(wrong)
    critic = model.critics["frame"]
    expected = (bce(critic(real, s), torch.ones(3, 4)) + 0.5 * (bce(critic(real, w), torch.zeros(3, 4))
                                                               + bce(critic(fake, s), torch.zeros(3, 4))))
    assert torch.allclose(losses["frame"], expected)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.generator_parameters())  # the fake clip was detached


def test_generator_loss_trains_the_generator_only_through_the_critics():
    torch.manual_seed(0)
    model = TGANC(dataclasses.replace(TGANCConfig.tiny(), discriminators=(DiscriminatorKind.VIDEO,)))
    assert list(model.critics) == ["video"]  # the ablation's first row
    tokens = Tokenizer().encode_batch(PROMPTS)
    losses = generator_loss(model, model.generate(tokens, torch.randn(3, 8)), tokens)
    losses["video"].backward()
    assert all(p.grad is not None for p in model.generator.parameters())


def test_bad_configs_and_batches_raise():
    with pytest.raises(ValueError, match="upsamplings"):
        TGANCConfig(frames=16)
    with pytest.raises(ValueError, match="at least one discriminator"):
        TGANCConfig(discriminators=())
    with pytest.raises(ValueError, match="at least 2"):
        mismatch(torch.ones(1, 4, dtype=torch.long))


def test_frozen_generator_loss_reaches_the_generator_only():
    torch.manual_seed(0)
    model = TGANC(TGANCConfig.tiny())
    tokens = Tokenizer().encode_batch(PROMPTS)
    fake = model.generate(tokens, torch.randn(3, 8))
    frozen = generator_loss(model, fake, tokens, frozen=True)
    plain = generator_loss(model, fake, tokens)
    assert all(torch.allclose(frozen[k], plain[k]) for k in plain)  # same value
    sum(frozen.values()).backward()
    assert all(p.grad is None for p in model.discriminator_parameters())
    assert all(p.grad is not None for p in model.generator.parameters())
