"""What every capability stands on: settings per function, the deployed topology, domain events, typed errors,
AWS clients, the clock, tracing, and the production wiring of adapters to ports."""
