"""QA scenarios: YAML files of requests, clock moves and expectations on the emulated platforms'
state, replayed against a fresh emulator (see docs/architecture.md)."""
