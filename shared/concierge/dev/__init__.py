"""Developer commands, never shipped in the Lambda layer: the `concierge` CLI and `concierge eval`."""
