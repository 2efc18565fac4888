"""Use cases: plain functions that validate, sanitise, add/flush and raise; they never commit."""
