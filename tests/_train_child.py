"""Training child process for the crash/resume and distributed tests.

usage: python tests/_train_child.py MODE OUT [KILL_AFTER_STEPS]
MODE: full | crash | resume | ddp | single
"""

import os
import signal
import sys

import torch

from seqcast import distributed
from seqcast.config import ModelConfig, TrainConfig
from seqcast.data.datasets import chapter15
from seqcast.models import build_model
from seqcast.seeding import seeded
from seqcast.train import fit

torch.set_num_threads(1)
mode, out = sys.argv[1], sys.argv[2]
task = chapter15("one_step")
train = (task.train.x[:600], task.train.y[:600])
valid = (task.valid.x[:100], task.valid.y[:100])
config = TrainConfig(epochs=3, batch_size=32, checkpoint_every=4, seed=3)

if mode == "crash":
    kill_after = int(sys.argv[3])
    import seqcast.steps as steps_module

    original, count = steps_module.AdamStep.__call__, [0]

    def step(self):
        count[0] += 1
        if count[0] > kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # dies mid-epoch, between two steps
        return original(self)

    steps_module.AdamStep.__call__ = step

ctx = distributed.init_from_env()
if mode in ("ddp", "single"):
    import seqcast.train as train_module

    original_save = train_module.save_checkpoint

    def save(path, payload):
        with open(f"{out}.writes", "a") as f:
            f.write(f"{ctx.rank}\n")
        original_save(path, payload)

    train_module.save_checkpoint = save
with seeded(0):
    model = build_model(ModelConfig(name="gru", hidden_size=8, dropout=0.0))
fit(model, train, valid, config, progress=False, checkpoint=f"{out}.ckpt", resume=mode == "resume")
if ctx.main:
    torch.save(model.state_dict(), out)
distributed.shutdown()
