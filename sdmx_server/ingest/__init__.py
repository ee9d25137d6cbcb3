"""Data in: readers turn files into column batches, the validator checks them against the DSD."""
