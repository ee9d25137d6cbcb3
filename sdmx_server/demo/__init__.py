"""The reference user's demo data: a seeded generator of plausible series."""
