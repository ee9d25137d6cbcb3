"""Derived data: dataflows the server computes from other dataflows (the dashboard's statuses
now; VTL-defined ones later, ROADMAP). `kpi_status` is the one status rule; `derived` says
which dataflow derives from which and recomputes it through the normal load pipeline."""
