"""mParticle's HTTP handlers: access (tenants, auth, envelopes), then one module per API."""
