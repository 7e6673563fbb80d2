"""The plain subscriber gwmon's ingest is measured against (`cargo bench --bench harness -- ingest`).

paho-mqtt and sqlite3 with the same guarantees as gwmon and none of its domain work: a persistent
QoS 1 session with manual acknowledgements, each reading inserted once (a primary key on device and
time), WAL mode with synchronous = FULL, and each message acknowledged after the commit that
holds it. No counter maths, no rollups, no registry, no quarantine.

By default each message is inserted and committed on its own as it arrives, the way such a
subscriber is usually written: this is the baseline of gwmon's goals. With `--batch` it batches as
gwmon does: a batch closes at 5,000 readings, 50 ms after its first message, or, once 25 ms old,
when no message has come for 3 ms.

    python3 plain_subscriber.py --port PORT --db PATH --client-id ID [--batch]

Prints "subscribed" once the broker has confirmed the subscription. Needs paho-mqtt 2
(`pip install paho-mqtt`).
"""

import argparse
import json
import signal
import sqlite3
import sys
import time

import paho.mqtt.client as mqtt

MAX_READINGS = 5000
MAX_DELAY_S = 0.050
MIN_DELAY_S = 0.025
QUIET_S = 0.003


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--topic", default="gw/+/meter/+")
    ap.add_argument("--batch", action="store_true")
    args = ap.parse_args()

    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS readings (device TEXT NOT NULL, ts INTEGER NOT NULL,"
        " total_m3 REAL NOT NULL, PRIMARY KEY (device, ts)) WITHOUT ROWID"
    )

    pending = []  # (message, rows)
    state = {"readings": 0, "first": None, "last": None, "stop": False}

    def on_connect(client, _userdata, _flags, _reason, _props):
        client.subscribe(args.topic, qos=1)

    def on_subscribe(_client, _userdata, _mid, _reasons, _props):
        print("subscribed", flush=True)

    def on_message(client, _userdata, msg):
        device = msg.topic.rsplit("/", 1)[-1]
        try:
            body = json.loads(msg.payload)
        except ValueError:
            body = []
        items = body if isinstance(body, list) else [body]
        rows = []
        for r in items:
            if isinstance(r, dict) and "ts" in r and "total_m3" in r:
                rows.append((device, int(r["ts"]), float(r["total_m3"])))
        now = time.monotonic()
        if not pending:
            state["first"] = now
        state["last"] = now
        pending.append((msg, rows))
        state["readings"] += max(len(rows), 1)
        if not args.batch:
            commit()

    def commit():
        db.execute("BEGIN")
        for _msg, rows in pending:
            db.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
        for msg, _rows in pending:
            state["client"].ack(msg.mid, msg.qos)
        pending.clear()
        state["readings"] = 0

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=args.client_id,
        clean_session=False,
        manual_ack=True,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    state["client"] = client
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(args.host, args.port, keepalive=30)

    def stop(_sig, _frame):
        state["stop"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    while not state["stop"]:
        client.loop(timeout=QUIET_S if pending else 1.0)
        if pending:
            now = time.monotonic()
            if (
                not args.batch
                or state["readings"] >= MAX_READINGS
                or now - state["first"] >= MAX_DELAY_S
                or (now - state["first"] >= MIN_DELAY_S and now - state["last"] >= QUIET_S)
            ):
                commit()
    if pending:
        commit()
    for _ in range(10):
        client.loop(timeout=0.05)
    client.disconnect()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
