"""Lambda handlers: thin powertools wrappers that parse the event, call the domain library and shape the result.

Lambda imports `functions.<name>.handler`, so this package loads first: in Lambda, it pauses the garbage collector
until the handler module has loaded (concierge.platform.startup; each handler's last statement resumes it)."""

from concierge.platform import startup

startup.loading()
