"""The HTTP edge: the API resolver and its routes, the generated OpenAPI document, request limits, who is calling
(customer tokens, operator sign-in), and the static operator pages and chat widget."""
