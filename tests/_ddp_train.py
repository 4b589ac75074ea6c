"""Run by test_train.py under `torchrun --nproc_per_node=2`: a few DDP steps, then each rank saves its weights."""

import os
import sys

import torch
from safetensors.torch import save_file

from reference.data import DatasetConfig, ShapesDataset, WorldConfig, collate
from reference.recipes.frames import FramesRecipe, build_model, make_loss
from reference.train import TrainConfig, train

recipe = FramesRecipe.tiny()
data = ShapesDataset(DatasetConfig(world=WorldConfig(frames=1, height=16, width=16), length=64))
result = train(build_model(recipe), make_loss(recipe), data, TrainConfig(steps=3, batch_size=2, warmup_steps=1,
               checkpoint_every=0), collate_fn=collate, device="cpu")
rank = int(os.environ["RANK"])
save_file({k: v.contiguous() for k, v in result.model.state_dict().items()}, os.path.join(sys.argv[1], f"rank{rank}.safetensors"))
torch.distributed.destroy_process_group()
