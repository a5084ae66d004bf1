"""Data-parallel helpers over ``torch.distributed`` (gloo on CPU, NCCL on GPU).

Launch with ``torchrun --nproc_per_node N -m seqcast train ...``; ``init_from_env`` joins
the process group torchrun describes in the environment, and ``fit`` shards every global
batch across the ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def context() -> Context:
    """This process's rank and the world size (0 and 1 outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size())
    return Context()


def init_from_env() -> Context:
    """Join the process group described by torchrun's variables, if there is one."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("nccl")
        else:
            dist.init_process_group("gloo")
    return context()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over the ranks (a no-op in a single process)."""
    if context().world > 1:
        dist.all_reduce(tensor)
    return tensor


def barrier() -> None:
    if context().world > 1:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group together at the end of a run: a barrier, then its
    destruction. Ranks that exit one by one can leave gloo's reader threads facing a closed
    connection, which aborts the process that still runs."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
