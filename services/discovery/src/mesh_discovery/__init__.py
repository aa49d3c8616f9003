"""The discovery registry of the agent mesh: register, heartbeat, list, watch, manifest."""

from mesh_discovery.app import create_app, make_store
from mesh_discovery.declared import AgentsFileError, load_agents_file
from mesh_discovery.embedded import EmbeddedStore
from mesh_discovery.registry import (
    AgentFilter,
    DeclaredInstance,
    RegistryError,
    Store,
    StoreUnavailable,
    UnknownInstance,
)
from mesh_discovery.settings import Settings

__all__ = [
    "AgentFilter",
    "AgentsFileError",
    "DeclaredInstance",
    "EmbeddedStore",
    "RegistryError",
    "Settings",
    "Store",
    "StoreUnavailable",
    "UnknownInstance",
    "create_app",
    "load_agents_file",
    "make_store",
]
