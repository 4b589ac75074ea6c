"""Chapter 7's image-to-video recipe: SEINE, Wan and ConsistI2V fine-tuned from a text-to-video model,
trained, sampled and measured through a sandbox zoo."""

import dataclasses

import pytest
import torch

from reference import zoo
from reference.entry import Entry
from reference.models.i2v import MaskKind
from reference.models.wan import WanConfig
from reference.models.t2v import CaptionKind
from reference.recipes import clip, i2v, motion, vae
from reference.recipes.i2v import Condition, I2VRecipe, ImageEncoder, Method
from tests.conftest import train_sandbox_zoo


def _recipe(method: Method, guidance: float = 1.0, **changes) -> I2VRecipe:
    base = motion.MotionRecipe.tiny(vae="vae-test", guidance_scale=guidance)
    world = dataclasses.replace(base.data.world, frames=9)  # 3 latent frames: room for SEINE's tasks
    base = dataclasses.replace(base, data=dataclasses.replace(base.data, world=world),
                               model=dataclasses.replace(base.model, caption=CaptionKind.CROSS))
    return dataclasses.replace(I2VRecipe.tiny(method, "vae-test", "t2v-test", clip="clip-test", **changes), base=base)


RECIPES = {
    Method.SEINE: _recipe(Method.SEINE, masks=tuple(MaskKind)),
    Method.WAN: _recipe(Method.WAN, guidance=2.0),
    Method.CONSISTI2V: _recipe(Method.CONSISTI2V, frame_init_cutoff=0.25),
    Method.I2VGENXL: _recipe(Method.I2VGENXL, encoders=(ImageEncoder.GLOBAL, ImageEncoder.DETAIL)),
}


def _entry(name: str, recipe: I2VRecipe) -> Entry:
    return Entry(name=name, description=f"test {recipe.method.value} (chapter 7)", recipe=recipe, build=i2v.build_model,
                 loss=i2v.make_loss, generate=i2v.generate, evaluate=i2v.evaluate, headline="first_frame_psnr",
                 initialize=i2v.initialize)


@pytest.fixture
def i2v_zoo(tmp_path, monkeypatch):
    entries = {"vae-test": dataclasses.replace(zoo.REGISTRY["vae-causal-tiny"], name="vae-test", recipe=vae.CausalVAERecipe.tiny())}
    clip_recipe = dataclasses.replace(clip.CLIPRecipe.tiny(), data=RECIPES[Method.WAN].base.data)
    entries["clip-test"] = dataclasses.replace(zoo.REGISTRY["clip-tiny"], name="clip-test", recipe=clip_recipe)
    entries["t2v-test"] = dataclasses.replace(zoo.REGISTRY["t2v-tiny"], name="t2v-test", recipe=RECIPES[Method.WAN].base)
    for method, recipe in RECIPES.items():
        entries[f"i2v-{method.value}-test"] = _entry(f"i2v-{method.value}-test", recipe)
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    return tmp_path


def test_each_method_starts_as_the_text_to_video_model(i2v_zoo):
    base = zoo.load("t2v-test", "cpu")
    torch.manual_seed(1)
    with torch.no_grad():  # the tiny base barely trained: give it weights whose output depends on every input
        for p in base.parameters():
            p.normal_(0, 0.2)
    x, t, tokens = torch.randn(2, 2, 3, 4, 4), torch.tensor([3, 800]), torch.randint(1, 10, (2, 5))
    expected = base(x, t, tokens)
    assert expected.abs().mean() > 1e-2
    for method, recipe in RECIPES.items():
        model = i2v.build_model(recipe)
        assert i2v.initialize(model, recipe)["name"] == "t2v-test"  # loads the shipped base
        model.load_base(base)
        model.eval()
        if method is Method.I2VGENXL:  # the detail path starts switched off; the global tokens join the words at once
            cond = Condition(latent=torch.randn(2, 2, 4, 4), embedding=torch.randn(2, 16))
            assert not torch.allclose(model(x, t, tokens, cond), expected, atol=1e-3)
            model.global_proj = None
        else:
            cond = Condition(channels=None if model.extra == 0 else torch.randn(2, model.extra, 3, 4, 4))
        assert torch.allclose(model(x, t, tokens, cond), expected, atol=1e-5), method
        assert torch.equal(model.denoiser.latent_std, base.latent_std), "the base's latent statistics come along"
    assert {m: i2v.build_model(r).extra for m, r in RECIPES.items()} == {Method.SEINE: 3, Method.WAN: 6, Method.CONSISTI2V: 0, Method.I2VGENXL: 4}


def test_the_condition_sees_nothing_but_the_given_frames(i2v_zoo):
    clips = motion.first_frames(RECIPES[Method.WAN].base, [("red", "circle", "left"), ("blue", "square", "up")], seed=0)
    changed = clips.clone()
    changed[:, :, 1:] = torch.rand_like(changed[:, :, 1:]) * 2 - 1
    for method in (Method.SEINE, Method.WAN):
        recipe = RECIPES[method]
        model, encoder = zoo.load(f"i2v-{method.value}-test", "cpu"), motion.Encoder(recipe.motion)
        a, b = i2v.condition(recipe, model, encoder, clips).channels, i2v.condition(recipe, model, encoder, changed).channels
        assert torch.equal(a, b), f"{method.value}: later frames leaked into the image condition"
        assert a.shape[1] == model.extra and (a[:, 0, 0] == 1).all() and (a[:, 0, 1:] == 0).all()
    # the causal VAE's first latent frame depends on the first pixel frame alone
    encoder = motion.Encoder(RECIPES[Method.SEINE].motion)
    model = zoo.load("i2v-seine-test", "cpu")
    assert torch.allclose(encoder.encode(model, clips)[:, :, :1], encoder.encode(model, changed)[:, :, :1], atol=1e-5)
    transition = torch.tensor([[True, False, True]] * 2)
    seine = i2v.condition(RECIPES[Method.SEINE], model, encoder, clips, transition).channels
    assert torch.equal(seine[:, 1:, 2], encoder.encode(model, clips)[:, :, 2]) and (seine[:, 1:, 1] == 0).all()


def test_each_method_trains_samples_and_measures_through_the_zoo(i2v_zoo):
    prompts = ["a red circle moving left", "a blue square moving up"]
    clips = motion.first_frames(RECIPES[Method.WAN].base, [("red", "circle", "left"), ("blue", "square", "up")], seed=0)
    for method, recipe in RECIPES.items():
        name = f"i2v-{method.value}-test"
        card = zoo.card(name)
        assert card["initialised_from"]["name"] == "t2v-test"
        for key in ("first_frame_psnr", "first_frame_ssim", "colour_accuracy", "motion_accuracy", "flicker", "size_drift"):
            assert key in card["metrics"], (name, key)
        assert 0 < card["metrics"]["first_frame_psnr"] < 100 and -1 <= card["metrics"]["first_frame_ssim"] <= 1
        model = zoo.load(name, "cpu")
        a = i2v.generate(model, recipe, prompts, seed=3, given=clips)
        assert a.shape == (2, 3, 9, 16, 16) and a.abs().max() <= 1
        assert torch.equal(a, i2v.generate(model, recipe, prompts, seed=3, given=clips)), "seeded"
    assert "FrameInit cutoff 0.25" in zoo.card("i2v-consisti2v-test")["metrics"]["sampler"]
    seine_card = zoo.card("i2v-seine-test")["metrics"]
    for key in ("interpolation_psnr", "middle_psnr_first_only", "prediction_psnr", "end_psnr_first_only"):
        assert 0 < seine_card[key] < 100, key
    for key in ("psnr_by_frame", "interpolation_psnr_by_frame", "prediction_psnr_by_frame"):
        assert len(seine_card[key]) == 9, key
    assert seine_card["psnr_by_frame"][0] == pytest.approx(seine_card["first_frame_psnr"], rel=1e-5)
    assert "interpolation_psnr" not in zoo.card("i2v-wan-test")["metrics"], "only SEINE does the other tasks"
    assert "unguided_shape_by_frame" not in seine_card, "measured twice only when the recipe guides"
    assert len(zoo.card("i2v-wan-test")["metrics"]["unguided_shape_by_frame"]) == 9
    assert i2v.left_to_fill(RECIPES[Method.SEINE], 9, MaskKind.INTERPOLATION).nonzero()[:, 0].tolist() == [1, 2, 3, 4]
    seine = zoo.load("i2v-seine-test", "cpu")
    assert i2v.generate(seine, RECIPES[Method.SEINE], prompts, given=clips, task=MaskKind.TRANSITION).shape == (2, 3, 9, 16, 16)
    with pytest.raises(ValueError, match="image-to-video only"):
        i2v.generate(zoo.load("i2v-wan-test", "cpu"), RECIPES[Method.WAN], prompts, given=clips, task=MaskKind.TRANSITION)
    with pytest.raises(ValueError, match="pass `given` clips"):
        i2v.generate(seine, RECIPES[Method.SEINE], prompts)
    with pytest.raises(ValueError, match="takes condition channels of shape"):
        seine(torch.randn(1, 2, 3, 4, 4), torch.tensor([1]), torch.randint(1, 9, (1, 4)))
    with pytest.raises(ValueError, match="CLIP embedding"):
        zoo.load("i2v-i2vgenxl-test", "cpu")(torch.randn(1, 2, 3, 4, 4), torch.tensor([1]), torch.randint(1, 9, (1, 4)),
                                            Condition(latent=torch.randn(1, 2, 4, 4)))


def test_recipe_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="VideoDiT"):
        I2VRecipe(base=dataclasses.replace(motion.T2V, model=WanConfig()))
    with pytest.raises(ValueError, match="only SEINE"):
        I2VRecipe(method=Method.WAN, masks=(MaskKind.IMAGE, MaskKind.TRANSITION))
    with pytest.raises(ValueError, match="FrameInit"):
        I2VRecipe(method=Method.CONSISTI2V, base=dataclasses.replace(motion.T2V, objective=motion.Objective.FLOW),
                  frame_init_cutoff=0.25)
    with pytest.raises(ValueError, match="at least one of its encoders"):
        I2VRecipe(method=Method.I2VGENXL)
    with pytest.raises(ValueError, match="at least one of its encoders"):
        I2VRecipe(method=Method.WAN, encoders=(ImageEncoder.DETAIL,))
    with pytest.raises(ValueError, match="CROSS captions"):
        I2VRecipe(method=Method.I2VGENXL, encoders=(ImageEncoder.GLOBAL,), base=motion.row("base"))
    assert I2VRecipe(method=Method.CONSISTI2V).motion.first_frame_given
    assert not I2VRecipe(method=Method.SEINE).motion.first_frame_given


def test_zoo_sample_takes_a_first_frame_and_checks_it_first(i2v_zoo, capsys):
    import numpy as np
    from PIL import Image

    clip = motion.first_frames(RECIPES[Method.WAN].base, [("red", "circle", "left")], seed=0)[0]
    png, npy, out = i2v_zoo / "first.png", i2v_zoo / "first.npy", i2v_zoo / "out.npz"
    Image.fromarray(((clip[:, 0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()).save(png)
    np.save(npy, clip[:, 0].numpy())
    for image in (png, npy):
        assert zoo.main(["sample", "i2v-wan-test", "--prompt", "a red circle moving left", "--n", "2", "--image",
                         str(image), "--out", str(out), "--device", "cpu"]) == 0
        assert np.load(out)["videos"].shape == (2, 3, 9, 16, 16)
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(i2v_zoo / "small.png")
    np.save(i2v_zoo / "loud.npy", 3 * clip[:, 0].numpy())
    failures = {
        ("i2v-wan-test", "small.png"): "expected 16 x 16 with 3",
        ("i2v-wan-test", "loud.npy"): "must lie in [-1, 1]",
        ("i2v-wan-test", "missing.png"): "does not exist",
        ("i2v-wan-test", None): "pass --image",
        ("t2v-test", "first.png"): "takes no condition image",
    }
    for (name, image), message in failures.items():
        capsys.readouterr()
        args = ["sample", name, "--prompt", "a red circle moving left", "--out", str(out)]
        assert zoo.main(args + (["--image", str(i2v_zoo / image)] if image else [])) == 2
        assert message in capsys.readouterr().err, (name, image)
