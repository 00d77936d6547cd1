"""KPIs of the customer experience, rolled up as events arrive and read by day range (docs/metrics.md)."""
