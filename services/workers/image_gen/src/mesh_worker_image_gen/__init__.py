"""Image-generation worker: a diffusers text-to-image pipeline behind the mesh worker API.

Streams one ``progress`` event per denoising step and ends with an ``artifact`` event for the
PNG, which the worker serves at ``GET /artifacts/{name}``.
"""

from mesh_worker_image_gen.settings import ImageGenSettings
from mesh_worker_image_gen.worker import ImageGenInput, ImageGenWorker

__all__ = ["ImageGenInput", "ImageGenSettings", "ImageGenWorker"]
