"""The one API the checks import: the runner and its observation of a session, scenarios,
assertion helpers, the session invariants, the boundary routes."""
