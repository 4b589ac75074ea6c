"""Chapter 4's prior P: trained, sampled and measured through a sandbox zoo with a test CLIP."""

import dataclasses

import pytest
import torch

from reference import zoo
from reference.data.vocab import PAD_ID
from reference.recipes import clip, prior
from tests.conftest import train_sandbox_zoo


@pytest.fixture
def prior_zoo(tmp_path, monkeypatch):
    recipe = prior.PriorRecipe.tiny()
    clip_recipe = dataclasses.replace(clip.CLIPRecipe.tiny(), data=recipe.data)
    entries = {"clip-test": dataclasses.replace(zoo.REGISTRY["clip-tiny"], name="clip-test", recipe=clip_recipe),
               "prior-test": dataclasses.replace(zoo.REGISTRY["prior-tiny"], name="prior-test", recipe=recipe)}
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    return recipe


def test_prior_trains_samples_and_measures_through_the_zoo(prior_zoo):
    card = zoo.card("prior-test")
    metrics = card["metrics"]
    for side in ("prior", "text"):
        for what in ("colour", "shape", "object"):
            assert 0 <= metrics[f"{side}_{what}_retrieval"] <= 1
        assert -1 <= metrics[f"{side}_cosine_to_frame"] <= 1
    assert metrics["prior_object_retrieval"] <= min(metrics["prior_colour_retrieval"], metrics["prior_shape_retrieval"])
    model = zoo.load("prior-test", "cpu")
    prompts = ["a red circle moving left", "a blue square"]
    z = prior.generate_embeddings(model, prior_zoo, prompts, seed=3)
    assert z.shape == (2, 16) and torch.allclose(z.norm(dim=-1), torch.ones(2), atol=1e-5), "unit embeddings, as CLIP's"
    assert torch.equal(z, prior.generate_embeddings(model, prior_zoo, prompts, seed=3)), "seeded"
    guided = dataclasses.replace(prior_zoo, guidance_scale=3.0)
    assert prior.generate_embeddings(model, guided, prompts, seed=3).shape == (2, 16)


def test_null_caption_gets_a_zero_text_embedding(prior_zoo):
    clip_model = prior.load_clip("clip-test")
    tokens = torch.tensor([[1, 2, 3], [PAD_ID, PAD_ID, PAD_ID]])
    text = prior.text_embeddings(clip_model, tokens)
    assert text[1].eq(0).all() and torch.allclose(text[0].norm(), torch.tensor(1.0))


def test_prior_config_must_match_the_clip(prior_zoo):
    wrong = dataclasses.replace(prior_zoo, model=dataclasses.replace(prior_zoo.model, embed_dim=8))
    with pytest.raises(ValueError, match="embeds in 16 dimensions"):
        prior.build_model(wrong)


def test_retrieval_counts_the_nearest_prototype():
    protos = torch.eye(18)
    embeddings = protos[[0, 4]]  # nearest to pairs 0 and 4
    pairs = [prior.PAIRS[0], prior.PAIRS[4]]
    right = prior.retrieval(embeddings, protos, [(*pairs[0], "left"), (pairs[1][0], pairs[0][1], "up")])
    assert right["colour"] == 1.0 and right["object"] == 0.5
