"""MCP sessions (platform.md §2.5): issued by ``initialize`` but never required.

At most 1000 live sessions (oldest evicted), 24 h sliding TTL. A POST with an unknown or
expired id is not rejected; it simply authenticates on its own. DELETE reports unknown ids.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from . import clock

MAX_SESSIONS = 1000
SESSION_TTL = 24 * 3600.0


@dataclass
class Session:
    """Identity pinned at ``initialize``."""

    session_id: str
    client_id: str
    tenant_id: str
    user_email: str
    protocol_version: str
    client_name: str
    last_used: float


class SessionStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(
        self, client_id: str, tenant_id: str, user_email: str, protocol_version: str, client_name: str
    ) -> Session:
        session = Session(
            session_id=f"axonflow-{secrets.token_hex(12)}",
            client_id=client_id,
            tenant_id=tenant_id,
            user_email=user_email,
            protocol_version=protocol_version,
            client_name=client_name,
            last_used=clock.now(),
        )
        with self._lock:
            self._sessions[session.session_id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """Live session for the id, touching its sliding TTL; None if unknown or expired."""
        if not session_id:
            return None
        now = clock.now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_used > SESSION_TTL:
                del self._sessions[session_id]
                return None
            session.last_used = now
            self._sessions.move_to_end(session_id)
            return session

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)
