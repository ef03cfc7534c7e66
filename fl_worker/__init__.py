"""HCFL's federated-learning engine: hierarchical FL (edge clients -> base stations -> global).

Modules (import what you need; this package imports nothing heavy on its own):
- `fl_worker.data`: datasets as tensors (digits default; MNIST/CIFAR-10 from a local dir; synthetic)
- `fl_worker.partition`: two-level IID / Dirichlet / label-skew partitions
- `fl_worker.models`: `ModelSpec` (its keccak hash is the proposal's ω) and `build_model`
- `fl_worker.aggregate`: `weighted_average` (FedAvg, float64 accumulation)
- `fl_worker.local`: `TrainConfig`, local SGD, `evaluate`
- `fl_worker.hfl`: `StationTrainer` (the base-station API), `aggregate_stations`, `run_hfl`
- `fl_worker.wire`: safetensors `encode_state` / validated `decode_state` / keccak `state_hash`
- `fl_worker.contribution`: leave-one-out and Shapley scores, `to_score_ints`
"""
