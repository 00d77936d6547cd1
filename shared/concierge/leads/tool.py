"""`qualify_lead` as a model is given it: only in a shop with a lead flow (merchant.json `leads`), with the
merchant's questions in its description and each answer's type in its schema (a number, one of the options, a
boolean). The rule is not in it: the action layer applies it (actions/executor.py), and the outcome's sentence and
link come back in the tool's result, from merchant.json."""

from __future__ import annotations

from typing import Any

from concierge.leads.config import LeadQuestion, LeadSettings

TOOL = "qualify_lead"


def _answer_schema(question: LeadQuestion) -> dict[str, Any]:
    if question.kind == "number":
        schema: dict[str, Any] = {"type": "number", "minimum": float(question.min)}
        if question.max is not None:
            schema["maximum"] = float(question.max)
        return schema | {"description": f"{question.ask} (a number of {question.unit})"}
    if question.kind == "choice":
        return {"type": "string", "enum": [o.label for o in question.choices], "description": question.ask}
    return {"type": "boolean", "description": f"{question.ask} (yes: true, no: false)"}


def lead_tool(settings: LeadSettings) -> dict[str, Any]:
    """The tool definition for this shop, in the shape the Anthropic Messages API takes."""
    from concierge.actions.tools import tool_schema

    schema = tool_schema(TOOL)
    properties = schema["input_schema"]["properties"]
    properties["answers"] = {
        "type": "object",
        "description": "The customer's answer to every question, as they gave it.",
        "properties": {q.id: _answer_schema(q) for q in settings.questions},
        "required": [q.id for q in settings.questions],
        "additionalProperties": False,
    }
    properties["request"] = {**properties.get("request", {}), "enum": list(settings.requests)}
    properties["request"].pop("anyOf", None)
    properties["request"].pop("default", None)
    properties["request"]["type"] = "string"
    asked = "; ".join(
        f"{n}. {q.id}: {q.ask}"
        + (f" (one of: {', '.join(o.label for o in q.choices)})" if q.kind == "choice" else "")
        + (f" (a number of {q.unit})" if q.kind == "number" else "")
        + (" (yes or no)" if q.kind == "yes_no" else "")
        for n, q in enumerate(settings.questions, 1)
    )
    line = f" ({settings.name})" if settings.name else ""
    schema["description"] = (
        f"{schema['description']} The shop's business line{line} is asked for with: {', '.join(settings.requests)}. "
        f"Its questions, in order: {asked}."
    )
    return schema
