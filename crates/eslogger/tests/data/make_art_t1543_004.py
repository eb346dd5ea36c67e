#!/usr/bin/env python3
"""Writes art-t1543.004.eslogger.ndjson: what `sudo eslogger exec fork exit create rename close unlink
btm_launch_item_add btm_launch_item_remove` would print on macOS 15 (ES message version 9) while Atomic Red
Team T1543.004 test 1 ("Launch Daemon") runs from a bash shell, then its cleanup 30 s later:

    sudo cp atomicredteam_T1543_004.plist /Library/LaunchDaemons/com.atomicredteam.plist
    sudo launchctl load -w /Library/LaunchDaemons/com.atomicredteam.plist
    # launchd starts the job: touch /tmp/T1543_004_atomicredteam.txt
    # cleanup:
    sudo launchctl unload /Library/LaunchDaemons/com.atomicredteam.plist
    sudo rm /Library/LaunchDaemons/com.atomicredteam.plist
    sudo rm /tmp/T1543_004_atomicredteam.txt

Synthetic: the envelope and es_process_t keys follow the real lines in
shared/telemetry/eslogger-real-mullvad-tests.ndjson and the key dump eslogger-keys-macos27.json; pids,
inodes, hashes and times are invented. Run: python3 make_art_t1543_004.py > art-t1543.004.eslogger.ndjson
"""
import json
from datetime import datetime, timedelta, timezone

T0 = datetime(2025, 8, 7, 14, 2, 11, 120000, tzinfo=timezone.utc)
CODES = {"exec": 9, "fork": 11, "close": 12, "create": 13, "exit": 15, "rename": 25, "unlink": 32,
         "btm_launch_item_add": 124, "btm_launch_item_remove": 125}
PLIST = "/Library/LaunchDaemons/com.atomicredteam.plist"
SRC = "/Users/art/AtomicRedTeam/atomics/T1543.004/src/atomicredteam_T1543_004.plist"

IMAGES = {
    "/bin/bash": ("com.apple.bash", 1152921500312520001, 1310384),
    "/usr/bin/sudo": ("com.apple.sudo", 1152921500312520002, 1370928),
    "/bin/cp": ("com.apple.cp", 1152921500312520003, 153328),
    "/bin/launchctl": ("com.apple.xpc.launchctl", 1152921500312520004, 357440),
    "/bin/rm": ("com.apple.rm", 1152921500312520005, 136384),
    "/sbin/launchd": ("com.apple.xpc.launchd", 1152921500312520006, 1029776),
    "/usr/libexec/xpcproxy": ("com.apple.xpc.proxy", 1152921500312520007, 151136),
    "/usr/bin/touch": ("com.apple.touch", 1152921500312520008, 134864),
    "/usr/libexec/smd": ("com.apple.xpc.smd", 1152921500312520009, 398720),
    "/System/Library/PrivateFrameworks/BackgroundTaskManagement.framework/Versions/A/Resources/backgroundtaskmanagementd":
        ("com.apple.backgroundtaskmanagementd", 1152921500312520010, 1287456),
}

clock = [T0]
gseq = [4100]
seqs = {}


def ts(t, digits=9):
    s = t.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return s + ("000" if digits == 9 else "") + "Z"


def stat(ino, size, mode=33261, uid=0, gid=0, when="2025-07-09T06:27:14.000000000Z"):
    return {"st_dev": 16777234, "st_ino": ino, "st_mode": mode, "st_nlink": 1, "st_uid": uid, "st_gid": gid,
            "st_rdev": 0, "st_atimespec": when, "st_mtimespec": when, "st_ctimespec": when,
            "st_birthtimespec": when, "st_size": size, "st_blocks": (size + 511) // 512, "st_blksize": 4096,
            "st_flags": 524320 if uid == 0 else 0, "st_gen": 0}


def file(path, ino, size, **kw):
    return {"path": path, "path_truncated": False, "stat": stat(ino, size, **kw)}


def token(pid, pv, euid, ruid, egid=0, rgid=0, auid=501, asid=100019):
    return {"auid": auid, "euid": euid, "egid": egid, "ruid": ruid, "rgid": rgid, "pid": pid,
            "asid": asid, "pidversion": pv}


class P:
    """One process image: (pid, pidversion) plus credentials and parent."""

    def __init__(self, pid, pv, exe, parent, euid=501, ruid=501, egid=20, rgid=20, auid=501,
                 asid=100019, start=None, pgid=None, sid=1812):
        self.pid, self.pv, self.exe, self.parent = pid, pv, exe, parent
        self.euid, self.ruid, self.egid, self.rgid, self.auid, self.asid = euid, ruid, egid, rgid, auid, asid
        self.start = start or clock[0]
        self.pgid = pgid if pgid is not None else pid
        self.sid = sid

    def tok(self):
        return token(self.pid, self.pv, self.euid, self.ruid, self.egid, self.rgid, self.auid, self.asid)

    def es(self):
        sid, ino, size = IMAGES[self.exe]
        parent_tok = self.parent.tok() if self.parent else token(1, 1029, 0, 0, auid=4294967295, asid=100012)
        return {
            "audit_token": self.tok(), "parent_audit_token": parent_tok, "responsible_audit_token": parent_tok,
            "ppid": self.parent.pid if self.parent else 1, "original_ppid": self.parent.pid if self.parent else 1,
            "group_id": self.pgid, "session_id": self.sid, "codesigning_flags": 637623057,
            "is_platform_binary": True, "is_es_client": False, "cdhash": ("%040X" % (ino * 2654435761))[-40:],
            "signing_id": sid, "team_id": None, "executable": file(self.exe, ino, size),
            "tty": file("/dev/ttys004", 1231, 0, mode=8592, uid=501, gid=4) if self.sid == 1812 else None,
            "start_time": ts(self.start, 6),
        }

    def exec_as(self, exe, pv, euid=None, egid=None):
        return P(self.pid, pv, exe, self.parent, euid=self.euid if euid is None else euid, ruid=self.ruid,
                 egid=self.egid if egid is None else egid, rgid=self.rgid, auid=self.auid, asid=self.asid,
                 start=self.start, pgid=self.pgid, sid=self.sid)


def emit(actor, name, payload, advance_ms=3):
    clock[0] += timedelta(milliseconds=advance_ms)
    gseq[0] += 1
    seqs[name] = seqs.get(name, 0) + 1
    line = {"schema_version": 1, "version": 9, "time": ts(clock[0]), "mach_time": 401374797834 + gseq[0] * 97,
            "seq_num": seqs[name], "global_seq_num": gseq[0], "action_type": 1,
            "action": {"result": {"result_type": 0, "result": {"auth": 0}}}, "event_type": CODES[name],
            "thread": {"thread_id": 622000 + actor.pid}, "process": actor.es(), "event": {name: payload}}
    print(json.dumps(line, separators=(",", ":")))


def fork(parent, pid, pv, **kw):
    child = P(pid, pv, parent.exe, parent, euid=parent.euid, ruid=parent.ruid, egid=parent.egid,
              rgid=parent.rgid, auid=parent.auid, asid=parent.asid, start=clock[0] + timedelta(milliseconds=1),
              pgid=kw.get("pgid", pid), sid=parent.sid)
    emit(parent, "fork", {"child": child.es()})
    return child


def execve(proc, exe, pv, args, env, cwd="/Users/art", euid=None, egid=None):
    new = proc.exec_as(exe, pv, euid=euid, egid=egid)
    emit(proc, "exec", {
        "target": new.es(), "args": args, "env": env, "dyld_exec_path": exe, "script": None,
        "cwd": file(cwd, 539935, 2624, mode=16877, uid=501, gid=20),
        "fds": [{"fd": 0, "fdtype": 1}, {"fd": 1, "fdtype": 1}, {"fd": 2, "fdtype": 1}], "last_fd": 2,
        "image_cputype": 16777228, "image_cpusubtype": 2})
    return new


def exit_(proc, stat=0):
    emit(proc, "exit", {"stat": stat})


USER_ENV = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/Users/art", "USER=art", "SHELL=/bin/zsh"]
ROOT_ENV = ["PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/var/root", "USER=root", "SUDO_USER=art",
            "SUDO_UID=501", "SUDO_GID=20", "SHELL=/bin/zsh"]

# The ART executor's bash, already running when eslogger started (so it is not in the process table).
bash = P(1812, 48201, "/bin/bash", P(1790, 48150, "/bin/bash", None), start=T0 - timedelta(seconds=40))
launchd = P(1, 1029, "/sbin/launchd", None, euid=0, ruid=0, egid=0, rgid=0, auid=4294967295, asid=100012,
            start=T0 - timedelta(days=2), pgid=1, sid=1)


def sudo_run(pid, pv, argv, exe, tail=None):
    """bash forks; the child execs sudo (setuid root), sudo forks and the child execs `argv`."""
    shell_child = fork(bash, pid, pv)
    sudo = execve(shell_child, "/usr/bin/sudo", pv + 1, ["sudo"] + argv, USER_ENV, euid=0)
    sudo_child = fork(sudo, pid + 1, pv + 2, pgid=pid + 1)
    sudo_child.ruid, sudo_child.rgid, sudo_child.egid = 0, 0, 0
    tool = execve(sudo_child, exe, pv + 3, argv, ROOT_ENV, euid=0, egid=0)
    if tail:
        tail(tool)
    exit_(tool)
    exit_(sudo)
    return tool


# 1. sudo cp <src> /Library/LaunchDaemons/com.atomicredteam.plist
def copy(cp):
    emit(cp, "create", {"destination_type": 0, "destination": {"existing_file": file(PLIST, 91724033, 0, mode=33188)},
                        "acl": None})
    emit(cp, "close", {"modified": True, "was_mapped_writable": False,
                       "target": file(PLIST, 91724033, 452, mode=33188)})
    emit(cp, "close", {"modified": False, "was_mapped_writable": False,
                       "target": file(SRC, 88112, 452, mode=33188, uid=501, gid=20)})


sudo_run(2301, 61001, ["cp", SRC, PLIST], "/bin/cp", copy)


# 2. sudo launchctl load -w /Library/LaunchDaemons/com.atomicredteam.plist
def load(launchctl):
    smd = P(312, 1177, "/usr/libexec/smd", launchd, euid=0, ruid=0, egid=0, rgid=0, auid=4294967295,
            asid=100012, start=T0 - timedelta(days=2), sid=312)
    btmd = P(287, 1102, "/System/Library/PrivateFrameworks/BackgroundTaskManagement.framework/Versions/A/Resources/"
             "backgroundtaskmanagementd", launchd, euid=0, ruid=0, egid=0, rgid=0, auid=4294967295, asid=100012,
             start=T0 - timedelta(days=2), sid=287)
    clock[0] += timedelta(milliseconds=40)
    emit(btmd, "btm_launch_item_add", {
        "instigator": smd.es(), "app": None, "executable_path": "touch",
        "item": {"item_type": 4, "legacy": True, "managed": False, "uid": 0,
                 "item_url": "file:///Library/LaunchDaemons/com.atomicredteam.plist", "app_url": None}})
    # -w: launchd records the enabled state in its override database.
    emit(launchd, "close", {"modified": True, "was_mapped_writable": False,
                            "target": file("/private/var/db/com.apple.xpc.launchd/disabled.plist", 4412, 1933,
                                           mode=33188)})
    # launchd starts the job (RunAtLoad by KeepAlive): fork, exec xpcproxy, exec touch.
    job = fork(launchd, 2391, 61120, pgid=2391)
    job.sid = 2391
    proxy = execve(job, "/usr/libexec/xpcproxy", 61121, ["xpcproxy", "com.atomicredteam.t1543_004"], [], cwd="/")
    touch = execve(proxy, "/usr/bin/touch", 61122, ["touch", "/tmp/T1543_004_atomicredteam.txt"],
                   ["PATH=/usr/bin:/bin:/usr/sbin:/sbin", "XPC_SERVICE_NAME=com.atomicredteam.t1543_004"], cwd="/")
    emit(touch, "create", {"destination_type": 0, "acl": None, "destination": {
        "existing_file": file("/private/tmp/T1543_004_atomicredteam.txt", 91724090, 0, mode=33188)}})
    emit(touch, "close", {"modified": False, "was_mapped_writable": False,
                          "target": file("/private/tmp/T1543_004_atomicredteam.txt", 91724090, 0, mode=33188)})
    exit_(touch)


clock[0] += timedelta(milliseconds=850)
sudo_run(2350, 61050, ["launchctl", "load", "-w", PLIST], "/bin/launchctl", load)

# Cleanup, 30 s later (inside the rule's 1 minute maxspan, so only the event types keep it silent).
clock[0] += timedelta(seconds=30)


def unload(launchctl):
    btmd = P(287, 1102, "/System/Library/PrivateFrameworks/BackgroundTaskManagement.framework/Versions/A/Resources/"
             "backgroundtaskmanagementd", launchd, euid=0, ruid=0, egid=0, rgid=0, auid=4294967295, asid=100012,
             start=T0 - timedelta(days=2), sid=287)
    emit(btmd, "btm_launch_item_remove", {
        "instigator": None, "app": None,
        "item": {"item_type": 4, "legacy": True, "managed": False, "uid": 0,
                 "item_url": "file:///Library/LaunchDaemons/com.atomicredteam.plist", "app_url": None}})


sudo_run(2420, 61200, ["launchctl", "unload", PLIST], "/bin/launchctl", unload)


def remove(path, ino):
    def tail(rm):
        parent = path.rsplit("/", 1)[0]
        emit(rm, "unlink", {"target": file(path, ino, 452, mode=33188),
                            "parent_dir": file(parent, 2, 736, mode=16877)})
    return tail


clock[0] += timedelta(milliseconds=300)
sudo_run(2440, 61220, ["rm", PLIST], "/bin/rm", remove(PLIST, 91724033))
clock[0] += timedelta(milliseconds=300)
sudo_run(2460, 61240, ["rm", "/tmp/T1543_004_atomicredteam.txt"], "/bin/rm",
         remove("/private/tmp/T1543_004_atomicredteam.txt", 91724090))
