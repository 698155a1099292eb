"""Machinery shared by every platform surface: clock, ids, contracts, journal, faults, store."""
