"""The worker SDK: one ``Worker`` class in, a registered, streaming mesh worker service out.

```python
from mesh_worker import serve
serve(MyWorker(), default_port=8001)
```
"""

from mesh_worker.app import create_worker_app
from mesh_worker.registration import Registrar
from mesh_worker.resources import detect_resources
from mesh_worker.serve import serve
from mesh_worker.settings import WorkerSettings
from mesh_worker.threads import ThreadEmit, run_in_thread
from mesh_worker.worker import AnyInput, Emit, InputError, StaticWorker, Worker

__all__ = [
    "Worker",
    "StaticWorker",
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
]
