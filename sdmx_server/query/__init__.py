"""Queries: the one DataQuery / StructureQuery model, periods, keys, and REST URL parsers."""
