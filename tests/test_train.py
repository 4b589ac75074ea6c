import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reference.data import DatasetConfig, ShapesDataset, WorldConfig, collate
from reference.recipes.frames import FramesRecipe, build_model, make_loss
from reference.train import TrainConfig, pick_device, train

ROOT = Path(__file__).resolve().parent.parent


def tiny_run(steps: int, run_dir=None, seed: int = 0):
    recipe = FramesRecipe.tiny()
    data = ShapesDataset(DatasetConfig(world=WorldConfig(frames=1, height=16, width=16), length=64))
    config = TrainConfig(steps=steps, batch_size=4, warmup_steps=1, checkpoint_every=2, log_every=1, seed=seed)
    return train(build_model(recipe), make_loss(recipe), data, config, collate_fn=collate, device="cpu", run_dir=run_dir)


def test_training_is_seeded_and_learns():
    a, b = tiny_run(8), tiny_run(8)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb), "same seed, same weights"
    assert a.steps == 8 and len(a.losses) == 8 and a.wall_time_s > 0
    assert a.losses[-1][1] < a.losses[0][1], "the loss must fall over a few steps"
    assert any(not torch.equal(e, p) for e, p in zip(a.ema.parameters(), a.model.parameters())), "EMA lags"


def test_resume_gives_the_same_weights(tmp_path):
    straight = tiny_run(6)
    tiny_run(4, run_dir=tmp_path)  # checkpoint at step 4
    assert (tmp_path / "state.pt").exists()
    resumed = tiny_run(6, run_dir=tmp_path)  # continues from step 4
    for pa, pb in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)
    for pa, pb in zip(straight.ema.parameters(), resumed.ema.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_pick_device():
    assert pick_device("cpu").type == "cpu"
    assert pick_device(None).type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            pick_device("cuda")


def test_ddp_ranks_hold_identical_weights(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CI": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(ROOT / "tests" / "_ddp_train.py"), str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"ranks differ in {key}"
    fresh = build_model(FramesRecipe.tiny()).state_dict()
    assert any(not torch.equal(rank0[k], fresh[k]) for k in fresh), "training must have changed the weights"


def test_lr_schedule_warms_up_holds_then_decays():
    from reference.train import lr_factor

    config = TrainConfig(steps=1000, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1)
    assert lr_factor(0, config) == pytest.approx(0.01)
    assert lr_factor(100, config) == lr_factor(499, config) == 1.0
    assert lr_factor(750, config) == pytest.approx(0.55)
    assert lr_factor(1000, config) == pytest.approx(0.1)
    assert lr_factor(999, TrainConfig(steps=1000)) == 1.0, "the default never decays"


def test_a_model_can_set_learning_rates_per_parameter_group():
    """`parameter_groups(lr)` is honoured: a group at rate 0 never moves, the other trains."""
    recipe = FramesRecipe.tiny()
    model = build_model(recipe)
    stem = set(map(id, model.conv_in.parameters()))

    def parameter_groups(lr):
        return [{"params": [p for p in model.parameters() if id(p) not in stem], "lr": lr},
                {"params": list(model.conv_in.parameters()), "lr": 0.0}]

    model.parameter_groups = parameter_groups
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = ShapesDataset(DatasetConfig(world=WorldConfig(frames=1, height=16, width=16), length=64))
    result = train(model, make_loss(recipe), data, TrainConfig(steps=3, batch_size=4, warmup_steps=1, checkpoint_every=0),
                   collate_fn=collate, device="cpu")
    after = dict(result.model.named_parameters())
    assert all(torch.equal(after[n], before[n]) for n in before if n.startswith("conv_in."))
    assert not torch.equal(after["conv_out.weight"], before["conv_out.weight"])
