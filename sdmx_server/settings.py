"""One Settings object, read from the environment.

Every knob the server has is here, with its environment variable, so that an operator finds
them in one place and a test can build its own Settings without touching os.environ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sdmx_server.types import LOG_FORMATS, METRICS_ACCESS, LogFormat, MetricsAccess


def _default_database_url() -> str:
    return f"sqlite:///{Path('var/sdmx.db').absolute()}"


@dataclass(frozen=True)
class Settings:
    #: SQLAlchemy URL of the store: sqlite:///path (default) or postgresql+psycopg://...
    database_url: str = field(default_factory=_default_database_url)
    #: Where the server keeps files of its own (generated demo data, later uploads).
    data_dir: Path = field(default_factory=lambda: Path("var").absolute())
    #: The agency named as sender in message headers.
    sender_id: str = "SSO"
    #: Observations per column batch read from the database for the writers (loads read files
    #: in batches of store/incoming.py BATCH_ROWS: this setting does not change them).
    batch_rows: int = 65_536
    #: Largest data file a load accepts, in bytes; larger files are refused before parsing.
    max_load_bytes: int = 4 * 1024**3
    #: Largest structure file (SDMX-ML or YAML) a load accepts, in bytes.
    max_structure_bytes: int = 256 * 1024**2
    #: How many validation errors a report lists before it only counts them.
    max_reported_errors: int = 1000
    #: Longest request target (path and query) in bytes; longer ones get a 414.
    max_url_bytes: int = 8192
    #: Origins allowed to read answers from browsers (CORS): "*" or a comma-separated list.
    cors_origins: str = "*"
    #: Cache-Control max-age of successful answers, in seconds (clients revalidate after it).
    max_age: int = 60
    #: Total size of the kept encoded answers (files under data_dir/answers), in bytes; 0 = none kept.
    answer_cache_bytes: int = 2 * 1024**3
    #: Smaller encoded answers are not kept: making them again costs less than a file.
    answer_cache_min_bytes: int = 256 * 1024
    #: Data answers that read the database at once, per server process (each holds a connection).
    read_connections: int = 16
    #: How long a data request waits for a read connection before a 503, in seconds.
    read_wait_seconds: float = 10.0
    #: A send that does not progress for this long aborts the answer and frees its connection.
    send_stall_seconds: float = 30.0
    #: PostgreSQL statement_timeout of read connections, in seconds (0: none).
    statement_timeout_seconds: float = 600.0
    #: What REST v2 answers when a data query matches no data: 404 (default) or 204 (status.md
    #: prefers it, as "an empty but still healthy state"; some clients take it for success).
    no_data_status: int = 404
    #: OIDC (access/oidc.py): bearer JWTs of the organisation's identity provider, verified
    #: offline against the public keys of this JWKS file; None: JWTs are not accepted.
    oidc_jwks_file: Path | None = None
    #: The `iss` and `aud` a JWT must carry (both required when a JWKS file is set).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    #: The claim holding the user's groups (a list, or a space-separated string; a dotted
    #: path such as realm_access.roles reaches into objects), and the one naming the user.
    oidc_groups_claim: str = "groups"
    oidc_username_claim: str = "preferred_username"
    #: How long a portal session (POST /auth/login) lasts, in seconds.
    session_seconds: int = 8 * 3600
    # -- hardening (api/limits.py, api/protocol.py, query/limits.py) --------------------------
    #: Largest body of a route without a limit of its own (forms, admin JSON); uploads and
    #: structure submissions have max_load_bytes and max_structure_bytes. Larger: 413.
    max_body_bytes: int = 1024**2
    #: Largest request head (request line and headers) in bytes; larger: 431, connection closed.
    max_header_bytes: int = 64 * 1024
    #: A connection that does not finish its request head within this many seconds is closed.
    header_timeout_seconds: float = 10.0
    #: A request body that stops arriving for this many seconds closes the connection.
    body_idle_seconds: float = 30.0
    #: Query complexity: keys of a data query (v2 ',' lists), codes across its keys, values
    #: across its c[] filters, items of an id list (agencies, ids, versions, items, providers).
    max_query_keys: int = 100
    max_key_codes: int = 1000
    max_filter_values: int = 200
    max_list_items: int = 200
    #: Requests per second per consumer (token or user when authenticated, else address), with
    #: bursts up to rate_limit_burst; 0 turns the limit off. Per server process.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    #: Whether clients on this machine are limited too (off: tests and local tools run free).
    rate_limit_loopback: bool = False
    #: Failed logins per account and address before each further attempt must wait (doubling
    #: from login_delay_seconds up to login_max_delay_seconds).
    login_free_attempts: int = 5
    login_delay_seconds: float = 1.0
    login_max_delay_seconds: float = 300.0
    # -- operations (ops/) ----------------------------------------------------------------------
    #: Usage statistics (ops/usage.py): every API and portal request counted by quarter hour,
    #: dataflow, format, consumer and status; off: nothing counted, nothing written.
    usage_statistics: bool = True
    #: How often each server process adds its counts to the database, in seconds.
    usage_flush_seconds: float = 5.0
    # -- operations (api/operations.py, ops/) -----------------------------------------------------
    #: Who may read /metrics: "loopback" (clients on this machine, and administrators from
    #: anywhere), "admin" (administrators only) or "public" (anyone; the metrics name dataflows).
    metrics_access: MetricsAccess = "loopback"
    #: How `serve` writes its log: "json" (one object per line, for collectors) or "text".
    log_format: LogFormat = "json"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        if env.get("SDMX_DATABASE_URL"):
            kwargs["database_url"] = env["SDMX_DATABASE_URL"]
        if env.get("SDMX_DATA_DIR"):
            kwargs["data_dir"] = Path(env["SDMX_DATA_DIR"]).absolute()
        if env.get("SDMX_SENDER_ID"):
            kwargs["sender_id"] = env["SDMX_SENDER_ID"]
        if env.get("SDMX_OIDC_JWKS_FILE"):
            kwargs["oidc_jwks_file"] = Path(env["SDMX_OIDC_JWKS_FILE"]).absolute()
        for name, var in (("oidc_issuer", "SDMX_OIDC_ISSUER"), ("oidc_audience", "SDMX_OIDC_AUDIENCE"),
                          ("oidc_groups_claim", "SDMX_OIDC_GROUPS_CLAIM"),
                          ("oidc_username_claim", "SDMX_OIDC_USERNAME_CLAIM")):
            if env.get(var):
                kwargs[name] = env[var]
        if env.get("SDMX_CORS_ORIGINS"):
            kwargs["cors_origins"] = env["SDMX_CORS_ORIGINS"]
        for name, var in (
            ("read_wait_seconds", "SDMX_READ_WAIT_SECONDS"),
            ("send_stall_seconds", "SDMX_SEND_STALL_SECONDS"),
            ("statement_timeout_seconds", "SDMX_STATEMENT_TIMEOUT_SECONDS"),
            ("header_timeout_seconds", "SDMX_HEADER_TIMEOUT_SECONDS"),
            ("body_idle_seconds", "SDMX_BODY_IDLE_SECONDS"),
            ("rate_limit_per_second", "SDMX_RATE_LIMIT_PER_SECOND"),
            ("login_delay_seconds", "SDMX_LOGIN_DELAY_SECONDS"),
            ("login_max_delay_seconds", "SDMX_LOGIN_MAX_DELAY_SECONDS"),
            ("usage_flush_seconds", "SDMX_USAGE_FLUSH_SECONDS"),
        ):
            if env.get(var):
                kwargs[name] = float(env[var])
        for name, var in (
            ("batch_rows", "SDMX_BATCH_ROWS"),
            ("max_load_bytes", "SDMX_MAX_LOAD_BYTES"),
            ("max_structure_bytes", "SDMX_MAX_STRUCTURE_BYTES"),
            ("max_reported_errors", "SDMX_MAX_REPORTED_ERRORS"),
            ("max_url_bytes", "SDMX_MAX_URL_BYTES"),
            ("max_age", "SDMX_MAX_AGE"),
            ("answer_cache_bytes", "SDMX_ANSWER_CACHE_BYTES"),
            ("answer_cache_min_bytes", "SDMX_ANSWER_CACHE_MIN_BYTES"),
            ("read_connections", "SDMX_READ_CONNECTIONS"),
            ("no_data_status", "SDMX_NO_DATA_STATUS"),
            ("session_seconds", "SDMX_SESSION_SECONDS"),
            ("max_body_bytes", "SDMX_MAX_BODY_BYTES"),
            ("max_header_bytes", "SDMX_MAX_HEADER_BYTES"),
            ("max_query_keys", "SDMX_MAX_QUERY_KEYS"),
            ("max_key_codes", "SDMX_MAX_KEY_CODES"),
            ("max_filter_values", "SDMX_MAX_FILTER_VALUES"),
            ("max_list_items", "SDMX_MAX_LIST_ITEMS"),
            ("rate_limit_burst", "SDMX_RATE_LIMIT_BURST"),
            ("login_free_attempts", "SDMX_LOGIN_FREE_ATTEMPTS"),
        ):
            if env.get(var):
                kwargs[name] = int(env[var])
        for name, var, allowed in (("metrics_access", "SDMX_METRICS_ACCESS", METRICS_ACCESS),
                                   ("log_format", "SDMX_LOG_FORMAT", LOG_FORMATS)):
            if env.get(var):
                value = env[var].strip().lower()
                if value not in allowed:
                    raise ValueError(f"{var}={env[var]!r}: expected one of {', '.join(allowed)}")
                kwargs[name] = value
        if env.get("SDMX_RATE_LIMIT_LOOPBACK"):
            kwargs["rate_limit_loopback"] = env["SDMX_RATE_LIMIT_LOOPBACK"].strip().lower() in ("1", "true", "yes")
        if env.get("SDMX_USAGE_STATISTICS"):
            kwargs["usage_statistics"] = env["SDMX_USAGE_STATISTICS"].strip().lower() in ("1", "true", "yes", "on")
        return cls(**kwargs)
