"""How long the inspector's CleverTap pages take with an account of thousands of profiles.

    .venv/bin/python bench/inspector_clevertap.py [--profiles 5000] [--events 20] [--repeat 5]

Starts an emulator in this process (a thread, 127.0.0.1, free port), uploads `--profiles`
profiles with an email and `--events` events each, a custom list of a fifth of them and a
campaign on it, then fetches each page `--repeat` times and prints the median and the slowest
time of each (server time plus one local HTTP round trip, as a browser sees it).
"""

from __future__ import annotations

import argparse

import httpx
from pages import timed  # sibling module

from emulator.config import Config
from emulator.server import ThreadedServer

ACCOUNT = "EMU-TEST-0001"
HEADERS = {
    "X-CleverTap-Account-Id": ACCOUNT,
    "X-CleverTap-Passcode": "emu-passcode",
    "Content-Type": "application/json",
}
T0 = 1_704_103_200


def upload(http: httpx.Client, records: list[dict[str, object]]) -> None:
    for start in range(0, len(records), 1000):  # CleverTap's 1000 records per request
        answer = http.post("/1/upload", json={"d": records[start : start + 1000]}, headers=HEADERS)
        assert answer.status_code == 200 and answer.json()["status"] == "success", answer.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with (
        ThreadedServer(Config.defaults(port=0, seed=1, log_requests=False)) as server,
        httpx.Client(base_url=server.url, timeout=120) as http,
    ):
        n = args.profiles
        upload(
            http,
            [
                {
                    "type": "profile",
                    "identity": f"user-{i}",
                    "profileData": {"Email": f"u{i}@x.com"},
                }
                for i in range(n)
            ],
        )
        upload(
            http,
            [
                {"type": "event", "identity": f"user-{i}", "evtName": f"E{k % 5}", "ts": T0 + k}
                for i in range(n)
                for k in range(args.events)
            ],
        )
        members = [f"user-{i}" for i in range(0, n, 5)]
        made = http.post(
            f"/_emulator/clevertap/{ACCOUNT}/segments",
            json={"name": "Fifth", "identities": members},
        )
        assert made.status_code == 201, made.text
        campaign = {
            "name": "Mail",
            "target_mode": "email",
            "segment": "Fifth",
            "content": {"subject": "s", "body": "b"},
        }
        created = http.post("/1/targets/create.json", json=campaign, headers=HEADERS).json()
        middle = n // 2
        guid = http.get("/1/profile.json", params={"identity": f"user-{middle}"}, headers=HEADERS)
        object_id = guid.json()["record"]["platformInfo"][0]["objectId"]
        base = f"/_emulator/ui/clevertap/{ACCOUNT}"
        pages = {
            "accounts": "/_emulator/ui/clevertap",
            "account, first page": base,
            "account, last page": f"{base}?offset={n - 10}",
            "search by identity": f"{base}?q=user-{middle}&by=identity",
            "search by email": f"{base}?q=u{middle}@x.com&by=email",
            "search by CleverTap ID": f"{base}?q={object_id}&by=objectId",
            "search, any key": f"{base}?q=u{middle}@x.com",
            "profile": f"{base}/profiles/{object_id}",
            "segment": f"{base}/segments/1",
            "campaign": f"{base}/campaigns/{created['id']}",
        }
        print(f"{n} profiles, {n * args.events} events; median / slowest of {args.repeat}")
        for label, path in pages.items():
            median, slowest = timed(http, path, args.repeat)
            print(f"  {label:<24} {median:8.1f} ms {slowest:8.1f} ms")


if __name__ == "__main__":
    main()
