"""How long the inspector's mParticle and flows pages take with a busy workspace.

    .venv/bin/python bench/inspector_mparticle.py [--users 5000] [--batches 4] [--repeat 5]

Starts an emulator in this process (a thread, 127.0.0.1, free port) with the default tenants,
defines two audiences, sends `--batches` batches for each of `--users` users through
`/v2/bulkevents` (100 batches a request) and lets the default connection deliver them all, then
fetches each page `--repeat` times and prints the median and the slowest time of each (server
time plus one local HTTP round trip, as a browser sees it). The journal and the deliveries keep
their default 10,000 rows, so the flows pages read full tables.
"""

from __future__ import annotations

import argparse
import time

import httpx
from pages import timed  # sibling module

from emulator.config import Config
from emulator.server import ThreadedServer

WORKSPACE = "1000"
S2S = ("emu-s2s-key", "emu-s2s-secret")


def batch(user: int, k: int) -> dict[str, object]:
    return {
        "environment": "development",
        "user_identities": {"customerid": f"cust-{user}", "email": f"u{user}@example.com"},
        "user_attributes": {"tier": "gold" if user % 3 == 0 else "tin"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {
                    "event_name": "Purchase" if k % 2 else "Viewed",
                    "custom_event_type": "other",
                },
            },
            {"event_type": "session_start", "data": {}},
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=4, help="batches per user")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with (
        ThreadedServer(Config.defaults(port=0, seed=1, log_requests=False)) as server,
        httpx.Client(base_url=server.url, timeout=300) as http,
    ):
        # The Events API's 270 batches a second would make loading the point.
        tenants = http.get("/_emulator/tenants").json()["tenants"]
        (workspace,) = [t for t in tenants if t["id"] == WORKSPACE]
        workspace["events_batches_per_second"] = 0
        assert http.put(f"/_emulator/tenants/{WORKSPACE}", json=workspace).status_code == 200
        control = f"/_emulator/mparticle/{WORKSPACE}/audiences"
        for name, criteria in [
            ("Buyers", {"event": "Purchase", "at_least": 2}),
            ("Gold", {"attribute": "tier", "value": "gold"}),
        ]:
            made = http.post(control, json={"name": name, "criteria": criteria})
            assert made.status_code == 201, made.text
        batches = [batch(u, k) for k in range(args.batches) for u in range(args.users)]
        started = time.perf_counter()
        for start in range(0, len(batches), 100):
            sent = http.post("/v2/bulkevents", json=batches[start : start + 100], auth=S2S)
            assert sent.status_code == 202, sent.text
        settled = http.post("/_emulator/bridge/settle", params={"timeout": 300}).json()
        assert settled["settled"], settled
        loaded = time.perf_counter() - started
        mpid = http.get(
            f"/_emulator/mparticle/{WORKSPACE}/users", params={"identity": "cust-3"}
        ).json()["users"][0]["mpid"]
        delivery = http.get("/_emulator/bridge/default/deliveries", params={"flow": "events"})
        last = delivery.json()["total"]
        newest = http.get(
            "/_emulator/bridge/default/deliveries",
            params={"flow": "events", "offset": last - 1},
        ).json()["deliveries"][0]
        ui = "/_emulator/ui"
        pages = [
            f"{ui}/mparticle",
            f"{ui}/mparticle/{WORKSPACE}",
            f"{ui}/mparticle/{WORKSPACE}?q=cust-3",
            f"{ui}/mparticle/{WORKSPACE}?q=example.COM",
            f"{ui}/mparticle/{WORKSPACE}/users/{mpid}",
            f"{ui}/mparticle/{WORKSPACE}/audiences/1",
            f"{ui}/mparticle/{WORKSPACE}/batches/1",
            f"{ui}/flows",
            f"{ui}/flows/default",
            f"{ui}/flows/default?flow=events&status=delivered",
            f"{ui}/flows/default/deliveries/{newest['id']}",
            f"{ui}/flows/default/batches/{newest['batch']}",
        ]
        print(
            f"{args.users} users, {len(batches)} batches, {last} event deliveries kept; "
            f"loaded and delivered in {loaded:.1f} s"
        )
        for path in pages:
            median, slowest = timed(http, path, args.repeat)
            print(f"{median:8.1f} ms median {slowest:8.1f} ms max  {path}")


if __name__ == "__main__":
    main()
