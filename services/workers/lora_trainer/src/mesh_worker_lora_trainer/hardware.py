"""The hardware facts a GPU worker puts in its descriptor, for the device it really uses."""

from __future__ import annotations

import torch

from mesh_contracts import ResourceSpec


def detect_resources(device: str) -> ResourceSpec:
    """Describe ``device`` (``cuda`` or ``cpu``): GPU count, model and memory from torch."""
    cuda = device.startswith("cuda") and torch.cuda.is_available()
    if not cuda:
        return ResourceSpec(gpu=False, device="cpu", torch_version=torch.__version__)
    props = torch.cuda.get_device_properties(0)
    return ResourceSpec(
        gpu=True,
        gpu_count=torch.cuda.device_count(),
        gpu_model=props.name,
        vram_mb=props.total_memory // (1024 * 1024),
        device="cuda",
        cuda_version=torch.version.cuda,
        torch_version=torch.__version__,
    )
