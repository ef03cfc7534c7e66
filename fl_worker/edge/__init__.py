"""The edge tier: edge devices (`hcfl edge-client`) train on their own data for their base station, which
is the Flower server of its cell (fl_worker.edge.cell) and, at the same time, a client of the coordinator.
Protocol: docs/protocol.md ("Edge tier")."""
