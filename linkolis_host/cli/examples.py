"""The examples each command's --help ends with."""

from __future__ import annotations

# Each command's --help ends with these, as written (click's \b keeps the lines). Keyed by the command path after
# `linkolis`; tests/test_cli_output.py checks that every command has some.
EXAMPLES: dict[str, list[str]] = {
    "": ["linkolis catalog", "linkolis apps install amazon --marketplace DE", "linkolis sync --watch"],
    "plugins": ["linkolis plugins", "linkolis plugins --json"],
    "plugins list": ["linkolis plugins list", "linkolis plugins list --json | jq '.[].id'"],
    "catalog": ["linkolis catalog", "linkolis catalog --json | jq '.[].kind'"],
    "apps": ["linkolis apps list", "linkolis apps install amazon --marketplace DE"],
    "apps list": [
        "linkolis apps list",
        "linkolis apps list | cut -f1,3        # piped: name and status, tab-separated",
    ],
    "apps show": ["linkolis apps show 'Amazon DE'", "linkolis apps show 'Amazon DE' --json"],
    "apps install": ["linkolis apps install amazon --marketplace DE --name 'Amazon DE'", "linkolis apps install bol"],
    "apps configure": [
        "linkolis apps configure 'Amazon DE' --stock-sync",
        "linkolis apps configure 'Amazon DE' --name 'Amazon Germany'",
        "linkolis apps configure 'Amazon DE' --help    # the options of that app's kind",
    ],
    "apps remove": ["linkolis apps remove 'Amazon DE'", "linkolis apps remove 'Amazon DE' --purge --yes"],
    "apps authorize": [
        "linkolis apps authorize 'Amazon DE'",
        "linkolis apps authorize 'Amazon DE' --no-browser",
        "linkolis apps authorize bol --credential client_id=ID --credential client_secret=-",
    ],
    "apps verify": ["linkolis apps verify 'Amazon DE'", "linkolis apps verify 'Amazon DE' --json | jq .ok"],
    "orders": ["linkolis orders import", "linkolis orders list --status unshipped"],
    "orders import": ["linkolis orders import", "linkolis orders import 'Amazon DE' --json"],
    "orders list": [
        "linkolis orders list --status unshipped",
        "linkolis orders list --app 'Amazon DE' --limit 20 --offset 20",
        "linkolis orders list --search 302-",
    ],
    "orders show": ["linkolis orders show 302-4914762-2060784", "linkolis orders show 302-4914762-2060784 --json"],
    "orders ship": [
        "linkolis orders ship 302-4914762-2060784 --carrier DHL --tracking 00340434161094042557",
        "linkolis orders ship 302-4914762-2060784 --carrier DPD --tracking 0123 --line MUG-RED=1",
        "linkolis orders ship 1234567890 --carrier TNT --tracking 3SABC123 --yes   # though the buyer asked to cancel",
    ],
    "orders cancel": [
        "linkolis orders cancel 1234567890      # accept the buyer's request to cancel",
        "linkolis orders cancel 1234567890 --reason out_of_stock",
        "linkolis orders cancel 1234567890 --yes --json | jq .status",
    ],
    "stock": ["linkolis stock set MUG-RED 12", "linkolis stock push"],
    "stock set": ["linkolis stock set MUG-RED 12", "linkolis stock set 'MUG 350ml/BLUE' 0"],
    "stock load": ["linkolis stock load stock.csv", "my-erp export | linkolis stock load -"],
    "stock push": ["linkolis stock push --dry-run", "linkolis stock push 'Amazon DE'"],
    "stock list": ["linkolis stock list", "linkolis stock list --app 'Amazon DE' --json"],
    "stock show": ["linkolis stock show MUG-RED", "linkolis stock show MUG-RED --no-read --json"],
    "stock verify": ["linkolis stock verify", "linkolis stock verify 'Amazon DE' --json"],
    "stock map": ["linkolis stock map MUG-RED --app bol --reference 8712345678906"],
    "stock unmap": ["linkolis stock unmap MUG-RED --app bol"],
    "sync": ["linkolis sync", "linkolis sync --watch --interval 300", "linkolis sync status"],
    "demo": ["linkolis demo", "linkolis demo --web --port 8080"],
    "worker": [
        "LINKOLIS_DATABASE_URL=postgresql://linkolis@db.example.com/linkolis linkolis worker",
        "linkolis worker --concurrency 8 --push-concurrency 4",
    ],
    "workspaces": ["linkolis workspaces add 'Shop One'", "linkolis workspaces list"],
    "workspaces add": [
        "linkolis workspaces add 'Shop One'",
        "linkolis workspaces add 'UK shop' --time-zone Europe/London",
    ],
    "workspaces set": ["linkolis workspaces set 'Shop One' --time-zone Europe/Amsterdam"],
    "workspaces list": ["linkolis workspaces list", "linkolis workspaces list --json"],
    "users": ["linkolis users add ann@example.com --workspace 'Shop One'", "linkolis users list"],
    "users add": [
        "linkolis users add ann@example.com --workspace 'Shop One'",
        "printf '%s\\n' \"$PASSWORD\" | linkolis users add ann@example.com --password-stdin",
    ],
    "users list": ["linkolis users list", "linkolis users list --workspace 'Shop One' --json"],
    "users password": [
        "linkolis users password ann@example.com",
        "printf '%s\\n' \"$PASSWORD\" | linkolis users password ann@example.com --password-stdin",
    ],
    "users remove": ["linkolis users remove ann@example.com"],
    "serve": [
        "linkolis serve --base-url https://linkolis.example.com",
        "linkolis serve --certfile cert.pem --keyfile key.pem --host 0.0.0.0 --port 8443",
    ],
    "shipments": ["linkolis shipments list --status due", "linkolis shipments push"],
    "shipments load": ["linkolis shipments load shipped.csv"],
    "shipments list": ["linkolis shipments list", "linkolis shipments list --app bol --status rejected"],
    "shipments push": ["linkolis shipments push", "linkolis shipments push bol --json"],
    "notifications": ["linkolis notifications status", "linkolis notifications set-aside"],
    "notifications status": ["linkolis notifications status", "linkolis notifications status --json"],
    "notifications set-aside": [
        "linkolis notifications set-aside",
        "linkolis notifications set-aside --show-body --json",
    ],
    "notifications retry": ["linkolis notifications retry 3"],
    "notifications discard": ["linkolis notifications discard 3", "linkolis notifications discard 3 --yes"],
    "keys": ["linkolis keys rotate", "linkolis keys rotate --json | jq .old_key"],
    "keys rotate": [
        "linkolis keys rotate",
        "linkolis keys rotate --new-key-file ~/new.key   # the key kept in LINKOLIS_SECRET_KEY: write a new one",
    ],
    "notifications read": ["linkolis notifications read", "linkolis notifications read --kind amazon --wait 20"],
    "backup": [
        "linkolis backup /var/backups/linkolis-$(date +%F).linkolis-backup",
        "linkolis backup shop.linkolis-backup --with-key --json",
    ],
    "restore": ["linkolis restore shop.linkolis-backup", "linkolis restore shop.linkolis-backup --replace"],
    "db": ["linkolis db status", "linkolis db status --json"],
    "db status": ["linkolis db status", "linkolis db status --json | jq .pending"],
}
