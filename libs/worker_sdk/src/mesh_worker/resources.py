"""The hardware a worker instance runs on, as a ``ResourceSpec`` for its descriptor.

torch is imported lazily, inside ``detect_resources`` only: importing this module costs
nothing, and text workers (which never call it) never pay torch's import time.
"""

from __future__ import annotations

import logging
from typing import Any

from mesh_contracts import ResourceSpec

log = logging.getLogger(__name__)


def detect_resources(device: str | None = None) -> ResourceSpec:
    """The hardware facts to advertise: the machine's, or those of the device the worker uses.

    ``device=None`` (the machine): with CUDA, ``gpu``, ``gpu_count`` (all visible GPUs),
    ``gpu_model`` and ``vram_mb`` of device 0, ``device="cuda"``, CUDA and torch versions;
    without CUDA, ``gpu=False``, ``device="cpu"``.

    ``device="cuda"`` or ``"cuda:N"`` (the worker's chosen GPU): that one GPU's facts
    (``gpu_count=1``, its model and memory; ``"cuda"`` means torch's current device), and
    ``device`` as given. Any other device (``"cpu"``, ...): ``gpu=False`` and ``device`` as
    given, even on a GPU machine, so a worker configured for the CPU does not advertise a
    GPU it never uses.

    ``torch_version`` whenever torch is installed. Never raises: a CUDA device that cannot be
    queried (missing, broken driver) is logged and reported as ``gpu=False``. Slow (imports
    torch): call it off the event loop.
    """
    try:
        import torch  # lazy on purpose: see the module docstring
    except ImportError:
        return ResourceSpec(device=device or "cpu")

    torch_version = str(torch.__version__)
    cpu = ResourceSpec(device="cpu", torch_version=torch_version)
    if device is not None and not device.startswith("cuda"):
        return cpu.model_copy(update={"device": device})
    try:
        if not torch.cuda.is_available():
            if device is not None:
                log.warning("device %r asked for, but torch sees no CUDA; reporting CPU", device)
            return cpu
        if device is None:
            return _gpu_spec(torch, 0, int(torch.cuda.device_count()), "cuda")
        _, _, index = device.partition(":")
        ordinal = int(index) if index else int(torch.cuda.current_device())
        return _gpu_spec(torch, ordinal, 1, device)
    except Exception:  # a driver mismatch must not keep the worker from serving
        log.exception("CUDA device %s could not be queried; reporting CPU", device or "0")
    return cpu


def _gpu_spec(torch: Any, ordinal: int, count: int, device: str) -> ResourceSpec:
    props = torch.cuda.get_device_properties(ordinal)
    return ResourceSpec(
        gpu=True,
        gpu_count=count,
        gpu_model=str(props.name),
        vram_mb=int(props.total_memory) // (1024 * 1024),
        device=device,
        cuda_version=torch.version.cuda,
        torch_version=str(torch.__version__),
    )
