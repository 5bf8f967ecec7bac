"""Register API clients for the built-in client-credentials issuer, from a shell on the server.

    python -m services.gateway.cli add-client --id city-portal --name 市门户网站 \
        --roles office --department office

Prints the client secret once; only its hash is stored. Reads the gateway database from
``XN_GATEWAY_DATABASE_URL`` (the README gives it for each mode). The change is logged like the
API's, as made by ``cli:<user>``. Day to day an administrator uses ``/api/v1/clients`` instead;
this command makes the first administrator.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from services.gateway import clients
from shared.auth import ROLES
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import load_service_settings


async def add_client(args: argparse.Namespace) -> str:
    url = load_service_settings("gateway").database_url
    await upgrade("gateway", url)
    db = Database(url)
    try:
        return await clients.register_client(
            db,
            client_id=args.id,
            name=args.name,
            roles=args.roles.split(","),
            department=args.department,
            secret=args.secret,
            actor=f"cli:{_user()}",
        )
    finally:
        await db.dispose()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Manage the gateway's API clients")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-client", help="create or replace a client and print its secret")
    add.add_argument("--id", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--roles", required=True, help="comma-separated, from: " + ",".join(ROLES))
    add.add_argument("--department", default=None, help="department code the client acts for")
    add.add_argument("--secret", default=None, help="use this secret instead of a random one")
    args = parser.parse_args(argv)
    try:
        secret = asyncio.run(add_client(args))
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(f"client_id={args.id}\nclient_secret={secret}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
