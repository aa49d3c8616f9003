"""The worker SDK: one ``Worker`` class in, a registered, streaming mesh worker service out.

```python
from mesh_worker import serve
serve(MyWorker(), default_port=8001)
```

``Worker[InputT]`` is what an author subclasses; ``ModelWorker[InputT, ModelT]`` is the base
of a worker holding one model on one device (device choice, model lock, OOM as a retryable
error, health facts).
"""

from mesh_worker.app import create_worker_app
from mesh_worker.asking import Asker, InputNeeded
from mesh_worker.executions import execution_key
from mesh_worker.models import (
    TINY_MODEL_NAME,
    ModelLoadError,
    ModelWorker,
    OutOfMemory,
    choose_device,
    free_device_memory,
    tiny_transformer,
)
from mesh_worker.registration import Registrar
from mesh_worker.resources import detect_resources
from mesh_worker.serve import serve
from mesh_worker.settings import WorkerSettings
from mesh_worker.threads import ThreadEmit, run_in_thread
from mesh_worker.usage import report_usage
from mesh_worker.worker import AnyInput, Emit, InputError, InputT, StaticWorker, Worker

__all__ = [
    "Asker",
    "InputNeeded",
    "Worker",
    "InputT",
    "StaticWorker",
    "ModelWorker",
    "ModelLoadError",
    "OutOfMemory",
    "choose_device",
    "free_device_memory",
    "tiny_transformer",
    "TINY_MODEL_NAME",
    "AnyInput",
    "Emit",
    "InputError",
    "WorkerSettings",
    "create_worker_app",
    "serve",
    "Registrar",
    "detect_resources",
    "run_in_thread",
    "ThreadEmit",
    "execution_key",
    "report_usage",
]
