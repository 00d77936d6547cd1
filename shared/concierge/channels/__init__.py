"""Channel adapters: how a reply or a notification reaches the customer."""
