"""CleverTap's HTTP handlers: `access` (accounts, auth, the envelope) under one module per API
area and the control views; each handler parses, calls the domain modules and shapes the answer."""
