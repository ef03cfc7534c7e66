"""Experiments reproducing the paper's section V; each writes JSON + PNG into an output folder."""
