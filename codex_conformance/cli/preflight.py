"""``make preflight``: the cell's inputs checked before Docker or images are touched.

Exit status 2 with one line on stderr for a bad input; no network, no Docker, well under
a second. ``--build-images`` and ``--sweep-all`` are maintenance entry points.
"""

from __future__ import annotations

import argparse
import sys

from codex_conformance.codex.modes import validate_mode
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.preflight import validate
from codex_conformance.inputs.userland import validate_userland
from codex_conformance.stack.images import Images
from codex_conformance.stack.reach import reach_mode
from codex_conformance.stack.resources import RUN_LABEL, connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-images", action="store_true")
    parser.add_argument("--sweep-all", action="store_true")
    args = parser.parse_args(argv)
    try:
        _, version, _ = validate()
        validate_mode()
        userland = validate_userland()
        reach_mode()
        if args.build_images or args.sweep_all:
            client = connect()
            if args.sweep_all:
                for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
                    container.remove(force=True, v=True)
                for network in client.networks.list(filters={"label": RUN_LABEL}):
                    network.remove()
            if args.build_images:
                images = Images(client)
                print(images.services())
                print(images.codex(version, userland))
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
