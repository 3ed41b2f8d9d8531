"""The OpenAPI schema documents every dispatch route with request examples and bearer auth."""

import httpx


async def test_schema_has_examples_and_security(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/outages", "post"),
        ("/api/v1/outages/{outage_id}", "put"),
        ("/api/v1/outages/{outage_id}/reject", "post"),
        ("/api/v1/outages/{outage_id}/changes", "post"),
    ]:
        examples = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["examples"]
        assert examples and all(isinstance(e, dict) for e in examples), (path, method)
    assert paths["/api/v1/outages/{outage_id}/approve"]["post"]["security"] == [{"bearer": []}]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert (await client.get("/schema/swagger")).status_code == 200


async def test_approve_and_reject_document_the_version_they_bind_to(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/api/v1/outages/{outage_id}/approve", "/api/v1/outages/{outage_id}/reject"):
        operation = paths[path]["post"]
        [if_match] = [p for p in operation["parameters"] if p["name"] == "If-Match"]
        assert if_match["in"] == "header" and "412" in if_match["description"]
    read = paths["/api/v1/outages/{outage_id}"]["get"]
    assert "ETag" in read["description"]
