"""The hardware facts a GPU worker puts in its descriptor, for the device it really uses."""

from __future__ import annotations

import torch

from mesh_contracts import ResourceSpec
from mesh_worker.resources import detect_resources


def resources_for(device: str) -> ResourceSpec:
    """The SDK's machine facts when the model runs on CUDA; a CPU spec when it runs on the
    CPU (``*_DEVICE=cpu`` on a GPU machine must not advertise the GPU)."""
    if device.startswith("cuda"):
        return detect_resources()
    return ResourceSpec(gpu=False, device="cpu", torch_version=torch.__version__)
