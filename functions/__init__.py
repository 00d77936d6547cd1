"""Lambda handlers: thin powertools wrappers that parse the event, call the domain library and shape the result."""
