"""Experiments that need the FL engine (registered under `hcfl experiment`)."""
