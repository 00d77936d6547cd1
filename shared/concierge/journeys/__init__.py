"""Journeys: messages the assistant starts before the customer asks (a late parcel, a possible double charge, a cart
left, a trial about to convert, a first step not taken). The signals the storefront sends in (`signals.py`), the
journeys' declarative definitions and the merchant's settings of them (`definitions.py`), the decisions of a run
(`runner.py`: enter, wait, act) and the outreach it sends as a conversation the customer can answer (`outreach.py`).
The Standard workflow that runs them is workflows/journey.asl.json."""
