"""The control API under /_emulator/ (and, later, the web inspector)."""
