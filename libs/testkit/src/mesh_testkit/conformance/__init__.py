"""Conformance suites: the checks every registry store, run store and worker must pass.

Each suite is a base class of test methods that asks for one fixture the author provides:

- ``mesh_testkit.conformance.registry_store.RegistryStoreConformance``: ``backend``
- ``mesh_testkit.conformance.run_store.RunStoreConformance``: ``store`` and ``record_factory``
- ``mesh_testkit.conformance.worker_contract.WorkerContract``: ``worker``

Subclass one as ``class TestMyStore(RegistryStoreConformance)`` in a test module and override
its fixture; pytest collects the inherited tests. The suites import only ``mesh_contracts``,
never a service package: the store or worker under test arrives through the fixture.
"""

from __future__ import annotations

import pytest

# Before the suites are imported, so pytest rewrites their asserts into readable failures.
pytest.register_assert_rewrite(
    "mesh_testkit.conformance.registry_store",
    "mesh_testkit.conformance.run_store",
    "mesh_testkit.conformance.worker_contract",
)
