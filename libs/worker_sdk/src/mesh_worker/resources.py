"""The hardware a worker instance runs on, as a ``ResourceSpec`` for its descriptor.

torch is imported lazily, inside ``detect_resources`` only: importing this module costs
nothing, and text workers (which never call it) never pay torch's import time.
"""

from __future__ import annotations

import logging

from mesh_contracts import ResourceSpec

log = logging.getLogger(__name__)


def detect_resources() -> ResourceSpec:
    """GPU facts from torch when CUDA is available, else a CPU spec.

    With CUDA: ``gpu``, ``gpu_count``, ``gpu_model`` (device 0's name), ``vram_mb`` (device
    0's total memory), ``device="cuda"``, CUDA and torch versions. Without CUDA (or without
    torch): ``gpu=False``, ``device="cpu"``, and ``torch_version`` when torch is installed.
    Never raises: a broken CUDA setup is logged and reported as CPU. Slow (imports torch):
    call it off the event loop.
    """
    try:
        import torch  # lazy on purpose: see the module docstring
    except ImportError:
        return ResourceSpec()

    torch_version = str(torch.__version__)
    try:
        if torch.cuda.is_available():
            count = int(torch.cuda.device_count())
            props = torch.cuda.get_device_properties(0)
            return ResourceSpec(
                gpu=True,
                gpu_count=count,
                gpu_model=str(props.name),
                vram_mb=int(props.total_memory) // (1024 * 1024),
                device="cuda",
                cuda_version=torch.version.cuda,
                torch_version=torch_version,
            )
    except Exception:  # a driver mismatch must not keep the worker from serving on CPU
        log.exception("CUDA looked available but could not be queried; reporting CPU")
    return ResourceSpec(torch_version=torch_version)
