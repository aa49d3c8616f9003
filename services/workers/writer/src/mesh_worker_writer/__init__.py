"""The writer worker: a local LLM that streams tokens, serves LoRA adapters and an
OpenAI-compatible chat API. Run it with ``python -m mesh_worker_writer``; embed it with
``mesh_worker_writer.app.create_app``."""
