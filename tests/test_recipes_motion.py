"""Chapter 6's motion study: one change per row, the losses and samplers of every lever, the
learning curve through the zoo, and the measured claims pinned to the shipped cards."""

import dataclasses
import json
import tarfile

import numpy as np
import pytest
import torch

from reference import store, zoo
from reference.diffusion import NoiseSchedule
from reference.diffusion.noise import NoisePrior
from reference.models.latte import CaptionRoute, Latte, LatteConfig
from reference.recipes import motion, vae
from reference.recipes.motion import Objective, Space, Timesteps
from tests.conftest import train_sandbox_zoo


def test_each_row_changes_one_thing_and_gets_the_same_cpu_budget():
    base = motion.row("base")
    fields = [f.name for f in dataclasses.fields(motion.MotionRecipe) if f.name not in ("train", "curve_every")]
    for name, change in motion.ROWS.items():
        recipe = motion.row(name)
        differs = {f for f in fields if getattr(recipe, f) != getattr(base, f)}
        declared = {k for k, v in change.items() if k != "train_batch" and v != getattr(base, k)}  # (alpha 1 is the default)
        assert differs == declared, name
        assert recipe.data == base.data and recipe.eval_seed == base.eval_seed and recipe.sample_steps == base.sample_steps
        assert dataclasses.replace(recipe.train, steps=0, batch_size=0) == dataclasses.replace(base.train, steps=0, batch_size=0)
        minutes = recipe.train.steps * motion.CPU_S_PER_STEP[name] / 60
        assert motion.STUDY_CPU_MINUTES - 1 <= minutes <= motion.STUDY_CPU_MINUTES, name
    assert motion.row("batch128").train.batch_size == 4 * base.train.batch_size
    with pytest.raises(ValueError, match="expected one of"):
        motion.row("nonsense")


@pytest.mark.parametrize("objective", list(Objective))
def test_first_frame_stays_clean_and_is_not_scored(objective):
    recipe = motion.MotionRecipe.tiny(objective=objective, first_frame_given=True)
    schedule = NoiseSchedule(recipe.schedule)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 2, 3, 4, 4), torch.randn(4, 2, 3, 4, 4)
    t = motion.draw_times(recipe, schedule, 4, 3, g)
    assert t.shape == (4, 3) and (t[:, 0] == 0).all()
    x_t, _, goal = motion.noised(recipe, schedule, x0, noise, t)
    assert torch.equal(x_t[:, :, 0], x0[:, :, 0])
    prediction = goal.clone()
    prediction[:, :, 0] += 5.0  # frame 1 is given: what the model says about it does not count
    assert motion.regression_loss(recipe, prediction, goal) == 0


def test_shared_and_per_frame_times():
    schedule = NoiseSchedule()
    g = torch.Generator().manual_seed(0)
    assert motion.draw_times(motion.MotionRecipe.tiny(), schedule, 5, 3, g).shape == (5,)
    forcing = motion.draw_times(motion.MotionRecipe.tiny(timesteps=Timesteps.PER_FRAME), schedule, 64, 3, g)
    assert forcing.shape == (64, 3) and (forcing[:, 0] != forcing[:, 1]).float().mean() > 0.9
    flow = motion.draw_times(motion.MotionRecipe.tiny(objective=Objective.FLOW), schedule, 64, 3, g)
    assert flow.dtype.is_floating_point and 0 < flow.min() and flow.max() < 1


@pytest.fixture
def motion_zoo(tmp_path, monkeypatch):
    """A temporary zoo: a tiny causal VAE and tiny study rows trained through `train_model`."""
    rows = {
        "base": {},
        "first-frame": {"first_frame_given": True},
        "flow-forcing": {"objective": Objective.FLOW, "timesteps": Timesteps.PER_FRAME, "noise": NoisePrior.MIXED},
        "pixel": {"space": Space.PIXEL, "noise": NoisePrior.PROGRESSIVE,
                  "model": dataclasses.replace(motion.MotionRecipe.tiny().model, in_channels=3, patch=4)},
        # chapter 3's latte-tiny: Latte's design, reading the words, in the latents
        "latte": {"model": LatteConfig.tiny(in_channels=2, patch=1, caption=CaptionRoute.CROSS, latents=True)},
    }
    entries = {"vae-test": dataclasses.replace(zoo.REGISTRY["vae-causal-tiny"], name="vae-test", recipe=vae.CausalVAERecipe.tiny())}
    for name, change in rows.items():
        recipe = motion.MotionRecipe.tiny(vae="vae-test", **change)
        entries[f"motion-{name}"] = dataclasses.replace(zoo.REGISTRY["motion-base"], name=f"motion-{name}", recipe=recipe)
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    return tmp_path


def test_rows_train_sample_and_record_a_learning_curve(motion_zoo):
    for name in ("motion-base", "motion-first-frame", "motion-flow-forcing", "motion-pixel", "motion-latte"):
        card = zoo.card(name)
        assert [p["step"] for p in card["curve"]] == [2], name  # curve_every 2 of 3 steps
        for key in ("colour_accuracy", "shape_accuracy", "motion_accuracy", "caption_accuracy", "flicker"):
            assert 0.0 <= card["metrics"][key] <= 1.0, (name, key)
        assert card["metrics"]["flops_per_call"] > 0 and card["metrics"]["held_out_loss"] > 0
    assert zoo.card("motion-base")["initialised_from"]["vae"]["name"] == "vae-test"
    assert zoo.card("motion-pixel")["initialised_from"] is None
    latte = zoo.load("motion-latte")
    assert isinstance(latte, Latte) and zoo.card("motion-latte")["initialised_from"]["vae"]["name"] == "vae-test"
    assert not torch.equal(latte.latent_std, torch.ones_like(latte.latent_std)), "the latent statistics were fitted"
    assert zoo.verify() == []
    out = motion_zoo / "clips.npz"
    assert zoo.main(["sample", "motion-base", "--prompt", "a red circle moving left", "--n", "2", "--out", str(out),
                     "--device", "cpu"]) == 0
    assert np.load(out)["videos"].shape == (2, 3, 5, 16, 16)
    model, recipe = zoo.load("motion-first-frame"), zoo.entry("motion-first-frame").recipe
    with pytest.raises(ValueError, match="first frame"):
        motion.generate(model, recipe, ["a red circle moving left"])
    prompts, given = motion.eval_set(recipe, 2)
    clips = motion.generate(model, recipe, prompts, given=given)
    assert torch.equal(clips, motion.generate(model, recipe, prompts, given=given))
    assert not torch.equal(clips, motion.generate(model, recipe, prompts, given=given.flip(0))), "the given frame conditions"
    a = motion.generate(zoo.load("motion-flow-forcing"), zoo.entry("motion-flow-forcing").recipe, prompts, seed=3)
    b = motion.generate(zoo.load("motion-flow-forcing"), zoo.entry("motion-flow-forcing").recipe, prompts, seed=3)
    assert torch.equal(a, b), "sampling is seeded"


def test_deadline_stops_cleanly_and_a_rerun_resumes(tmp_path, monkeypatch):
    entries = {"vae-test": dataclasses.replace(zoo.REGISTRY["vae-causal-tiny"], name="vae-test", recipe=vae.CausalVAERecipe.tiny())}
    recipe = motion.MotionRecipe.tiny(vae="vae-test")
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, steps=4, checkpoint_every=100))
    entries["motion-test"] = dataclasses.replace(zoo.REGISTRY["motion-base"], name="motion-test", recipe=recipe)
    monkeypatch.setattr(zoo, "REGISTRY", entries)
    monkeypatch.setattr(store, "CHECKPOINTS", tmp_path / "checkpoints")
    monkeypatch.setattr(store, "RUNS", tmp_path / "runs")
    zoo.train_model("vae-test", device="cpu")
    torch.manual_seed(0)  # the weights are initialised from the global generator (a fresh process: its default seed)
    assert zoo.train_model("motion-test", device="cpu", deadline=0.0)["steps"] == 1, "past the deadline: one step, saved"
    assert (tmp_path / "runs" / "motion-test" / "state.pt").exists()
    resumed = zoo.train_model("motion-test", device="cpu")
    assert resumed["steps"] == 4
    straight_dir = tmp_path / "straight"
    monkeypatch.setattr(store, "RUNS", straight_dir)
    torch.manual_seed(0)
    zoo.train_model("motion-test", device="cpu")
    assert zoo.card("motion-test")["sha256"] == resumed["sha256"], "stopping and resuming changes nothing"
    archives = zoo.pack(["motion-test", "vae-test"], tmp_path / "out", archive_mib=1)
    names = [n for a in archives for n in tarfile.open(a).getnames()]
    assert "checkpoints/motion-test.safetensors" in names and "checkpoints/vae-test.json" in names
    assert all(a.stat().st_size <= 2**20 + 10_240 for a in archives[:-1])


def test_train_all_rejects_unknown_names_before_starting(tmp_path):
    with pytest.raises(zoo.ZooError, match="unknown zoo model"):
        zoo.train_all(["motion-base", "motion-nonsense"], tmp_path)
    assert not list(tmp_path.iterdir())


# The measured claims of chapter 6, pinned to the shipped cards.

def metrics(name: str) -> dict:
    return zoo.card(name)["metrics"]


def test_t2v_tiny_meets_its_bar():
    card = zoo.card("t2v-tiny")
    m = card["metrics"]
    assert m["eval_samples"] == 256 and card["steps"] == motion.T2V.train.steps
    assert min(m["colour_accuracy"], m["shape_accuracy"], m["motion_accuracy"]) >= 0.9
    assert m["caption_accuracy"] >= 0.8


def test_the_study_findings():
    chance = 0.2
    # Full 3D attention in normalised latents learns motion within the budget; the pixel DiT
    # (3.6x the seconds per step) and the 4x batch (a quarter of the updates) do not.
    assert metrics("motion-base")["motion_accuracy"] >= 0.85
    for slow in ("motion-pixel", "motion-batch128"):
        assert metrics(slow)["motion_accuracy"] < chance + 0.1, slow
    # Divided attention trails full attention on motion at the same budget (CogVideoX's claim).
    assert metrics("motion-divided")["motion_accuracy"] < metrics("motion-base")["motion_accuracy"] - 0.05
    # The first frame given: motion is learnt fastest of all (the upper bound).
    curve = {p["step"]: p["motion"] for p in zoo.card("motion-first-frame")["curve"]}
    base_curve = {p["step"]: p["motion"] for p in zoo.card("motion-base")["curve"]}
    assert curve[600] > 0.8 > base_curve[600]


def test_cards_record_the_study_recipe():
    for name in motion.ROWS:
        card = zoo.card(f"motion-{name}")
        assert card["steps"] == motion.row(name).train.steps, name
        assert len(card["curve"]) >= 7, name
        assert json.dumps(card["recipe"]["train"]) == json.dumps(zoo._jsonable(motion.row(name).train)), name


# Retraining on a GPU: profiles, dependency order, the tree that travels.

def test_gpu_profiles_change_only_the_training():
    for name, change in zoo.GPU_PROFILES.items():
        cpu, gpu = zoo.recipe_of(name, "cpu"), zoo.recipe_of(name, "gpu")
        assert dataclasses.replace(gpu, train=cpu.train) == cpu, name
        assert {k: getattr(gpu.train, k) for k in change} == change, name
    with pytest.raises(zoo.ZooError, match="no GPU profile"):
        zoo.recipe_of("frames-tiny", "gpu")
    with pytest.raises(zoo.ZooError, match="unknown profile"):
        zoo.recipe_of("vdm-tiny", "tpu")


def test_requirements_follow_the_recipes():
    assert zoo.requirements("vdm-tiny") == ["frames-tiny"]
    assert zoo.requirements("latent-t2v-tiny") == ["latent-frames-tiny", "vae-frame-tiny", "vae-video-decoder-tiny"]
    assert zoo.requirements("t2v-tiny") == ["vae-causal-tiny"] and zoo.requirements("frames-tiny") == []
    assert zoo.requirements("latte-tiny") == ["vae-causal-tiny"]


def test_a_latte_in_latents_must_keep_latent_statistics():
    recipe = motion.MotionRecipe.tiny(model=LatteConfig.tiny(in_channels=2, patch=1))
    with pytest.raises(ValueError, match="latents=True"):
        motion.build_model(recipe)
    assert isinstance(motion.build_model(dataclasses.replace(recipe, space=Space.PIXEL, model=LatteConfig.tiny())), Latte)


def test_train_all_runs_requirements_first_and_skips_what_they_break(tmp_path, monkeypatch):
    """Scheduling alone, with stand-in processes: latent-t2v-tiny waits for latent-frames-tiny; a
    model whose requirement failed is skipped; the logs are packed."""
    import sys

    order = tmp_path / "order.txt"

    def command_for(name, stop_at):
        code = 1 if name == "frames-tiny" else 0  # pretend this one fails
        return [sys.executable, "-c", f"import time; time.sleep(0.2); open({str(order)!r}, 'a').write({name!r} + '\\n'); raise SystemExit({code})"]

    monkeypatch.setattr(store, "CHECKPOINTS", tmp_path / "none")  # nothing shipped to pack
    names = ["latent-t2v-tiny", "latent-frames-tiny", "vdm-tiny", "frames-tiny"]
    archives = zoo.train_all(names, tmp_path / "out", device="cpu", deadline_minutes=1, jobs=4, command_for=command_for)
    done = order.read_text().split()
    assert done.index("latent-frames-tiny") < done.index("latent-t2v-tiny")
    assert "vdm-tiny" not in done, "its image model failed"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["exit_codes"]
    assert summary["frames-tiny"] == 1 and summary["vdm-tiny"].startswith("skipped")
    assert "logs/latent-t2v-tiny.log" in tarfile.open(archives[0]).getnames()


def test_gpu_tree_sets_aside_what_a_run_does_not_read(tmp_path, monkeypatch):
    shipped = tmp_path / "checkpoints"
    shipped.mkdir()
    for name in ("frames-tiny", "vdm-tiny", "latte-tiny"):
        (shipped / f"{name}.safetensors").write_bytes(b"w")
        (shipped / f"{name}.json").write_text("{}")
    monkeypatch.setattr(store, "CHECKPOINTS", shipped)
    monkeypatch.setattr(zoo, "ASIDE", tmp_path / "aside")
    moved, size = zoo.prepare_gpu_tree(["vdm-tiny"], limit_mib=10_000)
    assert sorted(p.name for p in shipped.iterdir()) == ["frames-tiny.json", "frames-tiny.safetensors"]
    assert "latte-tiny" in moved and "vdm-tiny" in moved and "frames-tiny" not in moved and size > 0
    (shipped / "vdm-tiny.json").write_text('{"new": true}')  # what came back from the GPU
    zoo.restore_gpu_tree()
    assert json.loads((shipped / "vdm-tiny.json").read_text()) == {"new": True}, "a new file stays"
    assert (shipped / "latte-tiny.safetensors").exists() and not list((tmp_path / "aside").iterdir())
    with pytest.raises(zoo.ZooError, match="over 0 MiB"):
        zoo.prepare_gpu_tree(["vdm-tiny"], limit_mib=0)
    zoo.restore_gpu_tree()
