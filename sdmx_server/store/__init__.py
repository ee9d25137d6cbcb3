"""Observations: one fact table per dataflow, loads applied in one transaction, column batches out."""
