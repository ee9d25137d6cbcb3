"""Who is asking and what they may do (issue 8).

- `principal.py`: the request's principal (starlette's `request.user`), anonymous by default.
- `rules.py`: grants (subject × action × scope, narrowed to a cube region) and their
  evaluation: what one principal may do on one dataflow or artefact, and where.
- `gate.py`: the one gate every route passes through: the registry as this principal may see
  it, the data region it may read or upload, whether it sees embargoed values.
- `tables.py`, `accounts.py`, `tokens.py`, `passwords.py`, `oidc.py`, `grants.py`: users, groups,
  tokens, sessions, JWTs and grants, stored in the database; `store.py` caches what requests read
  of them (`current_grants`); `middleware.py` turns a request into a principal.
- `audit.py`: the append-only, hash-chained log of every write.

The access package sits beside the registry and the store: it imports them, never the API.
"""
