#!/usr/bin/env python3
"""Seeded generator of Elastic Defend-style NDJSON events for the whole-process benchmark.

The same (seed, count) always gives byte-identical output. Events are ~1.3 KB, in time order, spread over
many macOS, Linux and Windows hosts, with process / file / network shapes as Elastic Defend writes them
(see /work/shared/telemetry). Every `--positive-every` events a macOS host performs the seed rule's behaviour
(a LaunchDaemon plist written, then `launchctl load` within a minute), and about as many near misses
(`launchctl list`, a plist outside LaunchDaemons, a load after more than a minute) are mixed in.

Usage: gen_events.py --count N [--seed S] [--positive-every K] > events.ndjson
It prints `positives=N` on stderr: sequences the seed rule must find.
"""

import argparse
import base64
import json
import random
import sys

GENERATOR_VERSION = 1
EPOCH_START_MS = 1_764_316_800_000  # 2025-11-28T08:00:00Z

MAC_PROCS = [
    ("/bin/ls", ["ls", "-la"]), ("/usr/bin/python3", ["python3", "script.py"]), ("/bin/zsh", ["/bin/zsh", "-l"]),
    ("/usr/bin/curl", ["curl", "-s", "https://example.com/api"]), ("/usr/bin/git", ["git", "status"]),
    ("/usr/sbin/softwareupdate", ["softwareupdate", "-l"]), ("/usr/bin/ssh", ["ssh", "build@10.0.0.5"]),
    ("/bin/launchctl", ["launchctl", "list"]), ("/usr/bin/defaults", ["defaults", "read", "com.apple.dock"]),
    ("/Applications/Safari.app/Contents/MacOS/Safari", ["Safari"]), ("/usr/bin/osascript", ["osascript", "-e", "1"]),
    ("/usr/sbin/system_profiler", ["system_profiler", "SPHardwareDataType"]), ("/usr/bin/mdfind", ["mdfind", "x"]),
]
LINUX_PROCS = [
    ("/usr/bin/bash", ["bash", "-c", "echo ok"]), ("/usr/bin/ls", ["ls", "-l", "/var/log"]),
    ("/usr/bin/python3", ["python3", "/opt/app/worker.py"]), ("/usr/bin/curl", ["curl", "-fsSL", "http://10.1.2.3/health"]),
    ("/usr/sbin/sshd", ["sshd", "-D"]), ("/usr/bin/systemctl", ["systemctl", "status", "nginx"]),
    ("/usr/bin/cron", ["cron", "-f"]), ("/usr/bin/apt-get", ["apt-get", "update"]), ("/usr/bin/sudo", ["sudo", "-l"]),
    ("/usr/bin/tar", ["tar", "czf", "/tmp/backup.tgz", "/etc"]), ("/usr/sbin/nginx", ["nginx", "-g", "daemon off;"]),
    ("/usr/bin/docker", ["docker", "ps"]), ("/usr/bin/journalctl", ["journalctl", "-u", "nginx"]),
]
WIN_PROCS = [
    ("C:\\Windows\\System32\\cmd.exe", ["cmd.exe", "/c", "dir"]),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", ["powershell.exe", "-NoProfile", "Get-Date"]),
    ("C:\\Windows\\System32\\svchost.exe", ["svchost.exe", "-k", "netsvcs", "-p"]),
    ("C:\\Windows\\explorer.exe", ["explorer.exe"]), ("C:\\Windows\\System32\\conhost.exe", ["conhost.exe", "0xffffffff"]),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", ["chrome.exe", "--type=renderer"]),
    ("C:\\Windows\\System32\\taskhostw.exe", ["taskhostw.exe"]), ("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", ["WmiPrvSE.exe"]),
    ("C:\\Windows\\System32\\SearchIndexer.exe", ["SearchIndexer.exe", "/Embedding"]),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", ["OUTLOOK.EXE"]),
    ("C:\\Windows\\System32\\notepad.exe", ["notepad.exe", "C:\\Users\\Public\\notes.txt"]),
]
PARENTS = {
    "macos": [("/sbin/launchd", "launchd"), ("/bin/zsh", "zsh"), ("/usr/libexec/xpcproxy", "xpcproxy")],
    "linux": [("/usr/lib/systemd/systemd", "systemd"), ("/usr/bin/bash", "bash"), ("/usr/sbin/sshd", "sshd")],
    "windows": [("C:\\Windows\\explorer.exe", "explorer.exe"), ("C:\\Windows\\System32\\services.exe", "services.exe"),
                ("C:\\Windows\\System32\\svchost.exe", "svchost.exe")],
}
FILE_PATHS = {
    "macos": ["/Users/{u}/Library/Caches/com.apple.Safari/Cache.db-wal", "/private/var/folders/xy/T/tmp{n}.dat",
              "/Users/{u}/Documents/report-{n}.docx", "/Library/Preferences/com.apple.loginwindow.plist",
              "/Users/{u}/Library/Application Support/Code/logs/{n}.log"],
    "linux": ["/var/log/nginx/access.log", "/tmp/tmp{n}", "/home/{u}/.cache/pip/http/{n}", "/etc/hosts",
              "/var/lib/docker/overlay2/{n}/diff/app.py", "/opt/app/data/{n}.json"],
    "windows": ["C:\\Users\\{u}\\AppData\\Local\\Temp\\tmp{n}.tmp", "C:\\Users\\{u}\\Documents\\report-{n}.xlsx",
                "C:\\Windows\\Prefetch\\CMD.EXE-{n}.pf", "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\{n}.bin",
                "C:\\Users\\{u}\\AppData\\Roaming\\Microsoft\\Windows\\Recent\\{n}.lnk"],
}
OS_INFO = {
    "macos": {"Ext": {"variant": "macOS"}, "family": "macos", "full": "macOS 14.6.1", "kernel": "23.6.0",
              "name": "macOS", "platform": "macos", "type": "macos", "version": "14.6.1"},
    "linux": {"Ext": {"variant": "Ubuntu"}, "family": "ubuntu", "full": "Ubuntu 22.04.4", "kernel": "5.15.0-105-generic",
              "name": "Linux", "platform": "ubuntu", "type": "linux", "version": "22.04.4"},
    "windows": {"Ext": {"variant": "Windows 10 Enterprise"}, "family": "windows", "full": "Windows 10 Enterprise 22H2",
                "kernel": "22H2 (10.0.19045.4291)", "name": "Windows", "platform": "windows", "type": "windows",
                "version": "22H2"},
}
USERS = ["alex", "sam", "kim", "jo", "pat", "lee", "build", "svc_backup"]


def iso(ms):
    seconds, millis = divmod(ms, 1000)
    days, rem = divmod(seconds, 86400)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    # days since 1970-01-01 → civil date (Howard Hinnant's algorithm), fast and dependency-free
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, m, d, hh, mm, ss, millis)


class Generator:
    def __init__(self, seed, hosts):
        self.rng = random.Random(seed)
        self.sequence = 0
        self.hosts = []
        for index in range(hosts):
            os_type = self.rng.choices(["windows", "linux", "macos"], [45, 25, 30])[0]
            host_id = "%08X-%04X-4%03X-%04X-%012X" % tuple(self.rng.getrandbits(b) for b in (32, 16, 12, 16, 48))
            name = {"macos": "mac", "linux": "lnx", "windows": "WIN"}[os_type] + "-%04d" % index
            self.hosts.append({
                "os_type": os_type,
                "agent": "%08x-%04x-4%03x-a%03x-%012x" % tuple(self.rng.getrandbits(b) for b in (32, 16, 12, 12, 48)),
                "host": {
                    "architecture": "arm64" if os_type == "macos" else "x86_64",
                    "hostname": name, "id": host_id,
                    "ip": ["10.%d.%d.%d" % (index // 250 % 250, index % 250, self.rng.randrange(2, 250)),
                           "fe80::%x:%x" % (self.rng.getrandbits(16), self.rng.getrandbits(16))],
                    "mac": ["%02x-%02x-%02x-%02x-%02x-%02x" % tuple(self.rng.getrandbits(8) for _ in range(6))],
                    "name": name, "os": OS_INFO[os_type],
                },
                "user": self.rng.choice(USERS),
            })

    def entity_id(self, host, pid, ms):
        raw = "%s-%d-%d" % (host["agent"], pid, ms)
        return base64.b64encode(raw.encode()).decode()

    def base(self, host, ms, category, kind, action, etype):
        self.sequence += 1
        dataset = "endpoint.events." + kind
        ts = iso(ms)
        return {
            "@timestamp": ts,
            "agent": {"id": host["agent"], "type": "endpoint", "version": "8.15.3"},
            "data_stream": {"dataset": dataset, "namespace": "default", "type": "logs"},
            "ecs": {"version": "8.11.0"},
            "event": {"action": action, "agent_id_status": "verified", "category": [category], "created": ts,
                      "dataset": dataset, "id": "N%010d" % self.sequence, "kind": "event",
                      "module": "endpoint", "outcome": "success", "sequence": self.sequence, "type": etype},
            "host": host["host"],
            "message": "Endpoint %s event" % kind,
        }

    def process_fields(self, host, ms, executable=None, args=None):
        rng = self.rng
        os_type = host["os_type"]
        if executable is None:
            executable, args = rng.choice({"macos": MAC_PROCS, "linux": LINUX_PROCS, "windows": WIN_PROCS}[os_type])
        sep = "\\" if os_type == "windows" else "/"
        name = executable.rsplit(sep, 1)[-1]
        pid = rng.randrange(300, 60000)
        ppid = rng.randrange(1, 300)
        parent_exe, parent_name = rng.choice(PARENTS[os_type])
        return {
            "args": args, "args_count": len(args), "command_line": " ".join(args),
            "entity_id": self.entity_id(host, pid, ms), "executable": executable, "name": name, "pid": pid,
            "working_directory": "/" if os_type != "windows" else "C:\\Windows\\system32",
            "parent": {"args": [parent_exe], "args_count": 1, "command_line": parent_exe,
                       "entity_id": self.entity_id(host, ppid, ms - 5000), "executable": parent_exe,
                       "name": parent_name, "pid": ppid},
            "hash": {"sha256": "%064x" % rng.getrandbits(256)},
            "code_signature": {"exists": True, "status": "trusted", "trusted": True,
                               "subject_name": "Software Signing" if os_type == "macos" else "Microsoft Windows"},
        }

    def user_fields(self, host, doc):
        if host["os_type"] == "windows":
            doc["user"] = {"domain": "CORP", "id": "S-1-5-21-%d-1001" % int(host["agent"][:5], 16),
                           "name": host["user"]}
        else:
            doc["user"] = {"id": "501" if host["os_type"] == "macos" else "1000", "name": host["user"]}
            doc["group"] = {"id": "20", "name": "staff"}

    def process_event(self, host, ms, executable=None, args=None, etype=None):
        end = etype is None and self.rng.random() < 0.3
        etype = etype or (["end"] if end else ["start"])
        action = {"macos": "exec", "linux": "exec", "windows": "start"}[host["os_type"]]
        doc = self.base(host, ms, "process", "process", "end" if end else action, etype)
        doc["process"] = self.process_fields(host, ms, executable, args)
        self.user_fields(host, doc)
        return doc

    def file_event(self, host, ms, path=None, action=None):
        rng = self.rng
        action = action or rng.choices(["creation", "modification", "deletion", "rename"], [35, 45, 15, 5])[0]
        etype = {"creation": ["creation"], "modification": ["change"], "deletion": ["deletion"],
                 "rename": ["change"]}[action]
        if path is None:
            path = rng.choice(FILE_PATHS[host["os_type"]]).format(u=host["user"], n=rng.randrange(100000))
        sep = "\\" if host["os_type"] == "windows" else "/"
        name = path.rsplit(sep, 1)[-1]
        doc = self.base(host, ms, "file", "file", action, etype)
        doc["file"] = {"path": path, "name": name, "extension": name.rsplit(".", 1)[-1] if "." in name else "",
                       "size": rng.randrange(0, 10_000_000), "Ext": {"header_bytes": "%016x" % rng.getrandbits(64)}}
        proc = self.process_fields(host, ms)
        doc["process"] = {k: proc[k] for k in ("entity_id", "executable", "name", "pid")}
        self.user_fields(host, doc)
        return doc

    def network_event(self, host, ms):
        rng = self.rng
        action, etype = rng.choice([("connection_attempted", ["start"]), ("connection_accepted", ["start"]),
                                    ("disconnect_received", ["end"])])
        doc = self.base(host, ms, "network", "network", action, etype)
        local = host["host"]["ip"][0]
        remote = "%d.%d.%d.%d" % (rng.randrange(1, 223), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        port = rng.choice([443, 80, 53, 22, 8080, 3389, 445])
        outgoing = action == "connection_attempted"
        doc["destination"] = {"address": remote if outgoing else local, "ip": remote if outgoing else local,
                              "port": port if outgoing else rng.randrange(1024, 65535)}
        doc["source"] = {"address": local if outgoing else remote, "ip": local if outgoing else remote,
                         "port": rng.randrange(1024, 65535) if outgoing else port}
        doc["network"] = {"direction": "egress" if outgoing else "ingress", "transport": "tcp", "type": "ipv4"}
        proc = self.process_fields(host, ms)
        doc["process"] = {k: proc[k] for k in ("entity_id", "executable", "name", "pid")}
        self.user_fields(host, doc)
        return doc

    def random_event(self, ms):
        rng = self.rng
        host = rng.choice(self.hosts)
        kind = rng.choices(["process", "file", "network"], [40, 40, 20])[0]
        if kind == "process":
            return self.process_event(host, ms)
        if kind == "file":
            return self.file_event(host, ms)
        return self.network_event(host, ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--positive-every", type=int, default=20_000)
    parser.add_argument("--version", action="store_true", help="print the generator version and exit")
    args = parser.parse_args()
    if args.version:
        print(GENERATOR_VERSION)
        return
    gen = Generator(args.seed, args.hosts)
    mac_hosts = [h for h in gen.hosts if h["os_type"] == "macos"]
    rng = gen.rng
    ms = EPOCH_START_MS
    # events planted later (a positive's second half), kept sorted by time: (ms, order, doc)
    pending = []
    positives = 0
    out = sys.stdout
    written = 0
    buffer = []
    order = 0
    while written < args.count:
        ms += rng.randrange(0, 12)
        while pending and pending[0][0] <= ms and written < args.count:
            _, _, doc = pending.pop(0)
            buffer.append(json.dumps(doc, separators=(",", ":")))
            written += 1
        if written >= args.count:
            break
        if written and written % args.positive_every == 0 and mac_hosts and written + 20 < args.count:
            host = rng.choice(mac_hosts)
            plist = "/Library/LaunchDaemons/com.bench.agent%d.plist" % written
            variant = (written // args.positive_every) % 4
            doc = gen.file_event(host, ms, path=plist, action="creation")
            if variant == 3:  # near miss: plist somewhere else, then a load
                doc["file"]["path"] = "/Users/%s/Library/LaunchAgents/x.plist" % host["user"]
            delay = rng.randrange(1000, 50_000) if variant != 2 else 70_000  # variant 2: load too late
            args_ = ["launchctl", "load", plist] if variant != 1 else ["launchctl", "list"]
            order += 1
            load = gen.process_event(host, ms + delay, "/bin/launchctl", args_)
            pending.append((ms + delay, order, load))
            pending.sort(key=lambda item: (item[0], item[1]))
            # a positive needs the load to be a process start (30 % of process events are ends)
            if variant == 0 and load["event"]["type"] == ["start"]:
                positives += 1
        else:
            doc = gen.random_event(ms)
        buffer.append(json.dumps(doc, separators=(",", ":")))
        written += 1
        if len(buffer) >= 4096:
            out.write("\n".join(buffer))
            out.write("\n")
            buffer.clear()
    if buffer:
        out.write("\n".join(buffer))
        out.write("\n")
    out.flush()
    print("positives=%d" % positives, file=sys.stderr)


if __name__ == "__main__":
    main()
