"""LoRA-trainer worker: fine-tunes a LoRA adapter on a causal LM with peft.

Streams one ``progress`` event per optimizer step (loss, learning rate, tokens/s) and ends
with an ``artifact`` event for the adapter, saved under ``LORA_ADAPTERS_DIR/<adapter_id>/``
and served as a zip at ``GET /artifacts/{adapter_id}.zip``.
"""

from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.worker import LoraTrainerWorker, LoraTrainInput

__all__ = ["LoraSettings", "LoraTrainInput", "LoraTrainerWorker"]
