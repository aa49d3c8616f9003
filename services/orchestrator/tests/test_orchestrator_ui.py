"""The dashboard's edge (api/ui.py): the page and its modules at /ui, its config, and CORS
only when ORCH_CORS_ORIGINS names the origin (the page's behaviour is tested in a browser:
tests/ui)."""

from __future__ import annotations

import httpx

from conftest import MeshFactory

PAGE = "http://dashboard.example:8080"
PREFLIGHT = {
    "Origin": PAGE,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,last-event-id",
}


async def test_the_page_and_its_modules_are_served_at_ui(mesh_factory: MeshFactory) -> None:
    mesh = await mesh_factory(jaeger_url="http://jaeger.local:16686/")
    async with httpx.AsyncClient(base_url=mesh.url) as c:
        root = await c.get("/ui")
        assert root.status_code == 307 and root.headers["location"] == "/ui/"
        page = await c.get("/ui/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="./js/main.js">' in page.text
        for module in ("main", "api", "run", "runs", "registry", "runstate", "graphics", "dom"):
            js = await c.get(f"/ui/js/{module}.js")
            assert js.status_code == 200, module
            assert "javascript" in js.headers["content-type"], module
        config = (await c.get("/ui/config.json")).json()
        assert config == {"auth": False, "jaeger_url": "http://jaeger.local:16686"}
        assert (await c.get("/ui/nothing-here.js")).status_code == 404


async def test_without_cors_origins_a_preflight_gets_no_cors_headers(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory()
    async with httpx.AsyncClient(base_url=mesh.url) as c:
        r = await c.options("/orchestrate/stream", headers=PREFLIGHT)
        listed = await c.get("/v1/runs", headers={"Origin": PAGE})
    assert r.status_code == 405
    assert "access-control-allow-origin" not in r.headers
    assert listed.status_code == 200 and "access-control-allow-origin" not in listed.headers


async def test_a_named_origin_gets_its_preflight_answered_and_may_read_the_answers(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory(cors_origins=f"{PAGE}/, http://other.example")
    async with httpx.AsyncClient(base_url=mesh.url) as c:
        r = await c.options("/orchestrate/stream", headers=PREFLIGHT)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == PAGE
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "last-event-id"} <= allowed
        assert "POST" in r.headers["access-control-allow-methods"]
        listed = await c.get("/v1/runs", headers={"Origin": PAGE})
        assert listed.headers["access-control-allow-origin"] == PAGE
        exposed = listed.headers["access-control-expose-headers"].lower()
        assert "content-location" in exposed and "x-mesh-index" in exposed
        stranger = await c.options(
            "/orchestrate/stream", headers={**PREFLIGHT, "Origin": "http://evil.example"}
        )
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
