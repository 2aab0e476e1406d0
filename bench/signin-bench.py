#!/usr/bin/python3
"""Drives N hybrid sign-ins on loopback and prints medians (run by bench/signin-bench.sh).

Each run: `cablectl get --json` starts; the moment its "qr" event is read, cable-phone is started
with that URL (it answers at once); the run ends when cablectl exits. From cablectl's own event
times (ms since its start, stamped when each event is written) and CPU counters (getrusage):

  wall       QR shown -> response printed (the "response" event follows the stdout write)
  cpu_sess   cablectl CPU from the QR event to the response event (the session itself)
  cpu_total  cablectl CPU for the whole process (start-up, options, QR, session, shutdown)

and the split of the wall time: QR -> phone found (phone process start, its tunnel, its advert
registration, the fake BlueZ announcing it), found -> connected (our tunnel connect + Noise),
connected -> response (post-handshake, request, answer).
"""
import json
import os
import statistics
import subprocess
import sys
import time

build, server, n, cmd, origin, options = (sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                          sys.argv[5], sys.argv[6])
store = sys.argv[7]
# A CA file for both sides (BENCH_CA): lws then skips parsing the system CA bundle at start-up.
ca = ["--tunnel-ca", os.environ["BENCH_CA"]] if os.environ.get("BENCH_CA") else []
cablectl = os.path.join(build, "cablectl")
phone = os.path.join(build, "cable-phone")


def one():
    t_c0 = time.monotonic()
    c = subprocess.Popen([cablectl, cmd, "--origin", origin, "--options", options, "--json",
                          "--adapter", "hci0", "--tunnel-server", server, "--timeout", "20", *ca],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ev = {}
    p = None
    t_qr_read = None
    for line in c.stderr:
        if not line.startswith("{"):
            continue
        e = json.loads(line)
        ev.setdefault(e["event"], e)
        if e["event"] == "qr":
            t_qr_read = time.monotonic()
            p = subprocess.Popen([phone, "--qr", e["url"], "--adapter", "hci1", "--tunnel-server",
                                  server, "--store", store, "--json", *ca],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
    out = c.stdout.read()
    rc = c.wait(timeout=30)
    prc = p.wait(timeout=30) if p else None
    pev = {}
    if p:
        for line in p.stdout:
            if line.startswith("{"):
                e = json.loads(line)
                pev.setdefault(e["event"], e)
    if rc != 0 or prc != 0 or not out.strip():
        raise SystemExit("run failed: cablectl %s, cable-phone %s, events %s" % (rc, prc, list(ev)))
    # Across the two processes (their event times are relative to their own start; the spawn
    # times are taken here, so these are good to a millisecond or two).
    t_p0 = t_qr_read
    qr_abs = t_c0 * 1e3 + ev["qr"]["ms"]
    found_abs = t_c0 * 1e3 + ev["phone_found"]["ms"]
    adv_abs = t_p0 * 1e3 + pev.get("advertising", {}).get("ms", float("nan"))
    return {
        "spawn": t_p0 * 1e3 - qr_abs,
        "adv_found": found_abs - adv_abs,
        "wall": ev["response"]["ms"] - ev["qr"]["ms"],
        "cpu_sess": ev["response"]["cpu_ms"] - ev["qr"]["cpu_ms"],
        "cpu_total": ev["done"]["cpu_ms"],
        "qr_found": ev["phone_found"]["ms"] - ev["qr"]["ms"],
        "found_conn": ev["connected"]["ms"] - ev["phone_found"]["ms"],
        "conn_resp": ev["response"]["ms"] - ev["connected"]["ms"],
        # The phone's own clock: its start to advertising (process start, tunnel open, advert).
        "phone_adv": pev.get("advertising", {}).get("ms", float("nan")),
    }


runs = [one() for _ in range(n)]


def med(k):
    return statistics.median(r[k] for r in runs)


def q(k, p):
    xs = sorted(r[k] for r in runs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


print("%d runs of cablectl %s (median, [min .. p90]):" % (n, cmd))
for k, what in [("wall", "wall, QR shown -> response printed"),
                ("cpu_sess", "cablectl CPU, QR shown -> response printed"),
                ("cpu_total", "cablectl CPU, whole process"),
                ("qr_found", "  wall split: QR -> phone found"),
                ("found_conn", "  wall split: phone found -> connected (tunnel + Noise)"),
                ("conn_resp", "  wall split: connected -> response"),
                ("spawn", "    QR -> cable-phone started (this driver reacting)"),
                ("phone_adv", "    cable-phone start -> advertising (its own clock)"),
                ("adv_found", "    advertising -> phone found (fake BlueZ delivery, trial decrypt)")]:
    print("  %-66s %8.2f ms  [%.2f .. %.2f]" % (what, med(k), min(r[k] for r in runs), q(k, 0.9)))
