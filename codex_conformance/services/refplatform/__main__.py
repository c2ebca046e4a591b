"""Start command: ``python3 -m codex_conformance.services.refplatform --host 0.0.0.0 --port 8080``."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from .config import MODES, PROFILES, Settings
from .server import make_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 -m codex_conformance.services.refplatform",
        description="Reference AxonFlow platform (contract double).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--mode", choices=MODES, default=None, help="auth mode (default: DEPLOYMENT_MODE or community)"
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="platform build to imitate (default: REFPLATFORM_PROFILE or newest)",
    )
    parser.add_argument(
        "--protect-mcp-json",
        action="store_true",
        default=None,
        help="enable the suite-only .mcp.json protection policy (absent on the real platform)",
    )
    parser.add_argument(
        "--integrations",
        default=None,
        help="comma list of integrations active at start (like AXONFLOW_INTEGRATIONS)",
    )
    parser.add_argument(
        "--startup-delay",
        type=float,
        default=None,
        help="seconds during which /health says starting and other routes 404",
    )
    parser.add_argument(
        "--audit-flush-delay", type=float, default=None, help="seconds before an audit row becomes searchable"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    integrations = (
        None
        if args.integrations is None
        else frozenset(p.strip().lower() for p in args.integrations.split(",") if p.strip())
    )
    # A None override is left to the environment and the profile (Settings.build).
    settings = Settings.build(
        mode=args.mode,
        profile=args.profile,
        protect_mcp_json=args.protect_mcp_json,
        startup_delay=args.startup_delay,
        audit_flush_delay=args.audit_flush_delay,
        integrations=integrations,
    )
    server, platform = make_server(settings, args.host, args.port, quiet=args.quiet)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        f"refplatform: listening on {server.url} mode={settings.mode} profile={settings.profile} "
        f"policies={len(platform.engine.policies)}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
