"""The evaluation harness: dataset -> run -> metrics -> report -> gate.

Loads an evaluation dataset, runs its questions through the service, computes retrieval, answer,
citation, refusal and latency metrics, writes a report, and fails a gate when a metric falls
below its threshold.
"""
