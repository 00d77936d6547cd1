"""Action execution: the tool catalogue, the merchant's policy, and the executor that applies both."""
