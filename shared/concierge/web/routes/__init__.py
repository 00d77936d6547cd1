"""The HTTP API's routes, one powertools Router per area, included into the resolver in concierge.web.http_api.

Each route declares its contract in its signature: path and query parameters, the request body and the response as
pydantic models (powertools validates them), and in its decorator the operation id, a summary and the errors it
answers with (`common.errors`, whose texts are the raising code's own). docs/openapi.json is generated from them
(concierge.web.openapi)."""
