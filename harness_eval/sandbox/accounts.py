"""Who is who inside a world: one ordinary account that does all the work, on a synthetic small Debian system.

Nothing in a world runs as root over the host's kernel. uid 0 in the machine's user namespace can write host-wide
`/proc/sys` entries (`kernel/core_pattern` is a way to root on the host) even with every capability dropped, and a
user namespace created by root does not help: its uid 0 maps to the host's uid 0, and the kernel's check on
`/proc/sys` looks at that host uid (measured here: both write `kernel/printk_ratelimit` and `kernel/core_pattern`,
bwrap 0.8.0). An unprivileged host uid is refused. So the agent runs as `ACCOUNT`, and on every server the same
account is the one SSH logs in as (a real admin has one name across the fleet, and `ssh host` then needs no user).
Only each server's sshd keeps root and the few capabilities it needs to switch to that account.

The account database is written from scratch, never copied from the machine (whose accounts are a tell and name
its users): the system accounts any small Debian server has, plus the account.
"""

from __future__ import annotations

ACCOUNT = "maintainer"
UID = GID = 1000
SERVER_HOME = f"/home/{ACCOUNT}"
_SSHD_UID = 101

# name, uid, gid, gecos, home, shell: Debian's base-passwd defaults and what its standard packages add.
_SYSTEM_USERS = (
    ("root", 0, 0, "root", "/root", "/bin/bash"),
    ("daemon", 1, 1, "daemon", "/usr/sbin", "/usr/sbin/nologin"),
    ("bin", 2, 2, "bin", "/bin", "/usr/sbin/nologin"),
    ("sys", 3, 3, "sys", "/dev", "/usr/sbin/nologin"),
    ("sync", 4, 65534, "sync", "/bin", "/bin/sync"),
    ("games", 5, 60, "games", "/usr/games", "/usr/sbin/nologin"),
    ("man", 6, 12, "man", "/var/cache/man", "/usr/sbin/nologin"),
    ("lp", 7, 7, "lp", "/var/spool/lpd", "/usr/sbin/nologin"),
    ("mail", 8, 8, "mail", "/var/mail", "/usr/sbin/nologin"),
    ("news", 9, 9, "news", "/var/spool/news", "/usr/sbin/nologin"),
    ("uucp", 10, 10, "uucp", "/var/spool/uucp", "/usr/sbin/nologin"),
    ("proxy", 13, 13, "proxy", "/bin", "/usr/sbin/nologin"),
    ("www-data", 33, 33, "www-data", "/var/www", "/usr/sbin/nologin"),
    ("backup", 34, 34, "backup", "/var/backups", "/usr/sbin/nologin"),
    ("list", 38, 38, "Mailing List Manager", "/var/list", "/usr/sbin/nologin"),
    ("irc", 39, 39, "ircd", "/run/ircd", "/usr/sbin/nologin"),
    ("_apt", 42, 65534, "", "/nonexistent", "/usr/sbin/nologin"),
    ("nobody", 65534, 65534, "nobody", "/nonexistent", "/usr/sbin/nologin"),
    ("systemd-network", 998, 998, "systemd Network Management", "/", "/usr/sbin/nologin"),
    ("messagebus", 100, 102, "", "/nonexistent", "/usr/sbin/nologin"),
)
_SSHD_USER = ("sshd", _SSHD_UID, 65534, "", "/run/sshd", "/usr/sbin/nologin")
_GROUPS = (
    ("root", 0), ("daemon", 1), ("bin", 2), ("sys", 3), ("adm", 4), ("tty", 5), ("disk", 6), ("lp", 7),
    ("mail", 8), ("news", 9), ("uucp", 10), ("man", 12), ("proxy", 13), ("kmem", 15), ("dialout", 20),
    ("cdrom", 24), ("sudo", 27), ("audio", 29), ("www-data", 33), ("backup", 34), ("operator", 37),
    ("list", 38), ("irc", 39), ("src", 40), ("shadow", 42), ("utmp", 43), ("video", 44), ("plugdev", 46),
    ("staff", 50), ("games", 60), ("users", 100), ("messagebus", 102), ("systemd-network", 998),
    ("nogroup", 65534),
)  # fmt: skip


def databases(home: str, server: bool) -> dict[str, str]:
    """/etc/passwd, /etc/group and /etc/shadow of one node, the account's home being `home`.

    Servers also have sshd's privilege-separation user. The shadow file marks every account "no password" (`*`)
    rather than locked (`!`): OpenSSH refuses key logins to a locked account when it runs without PAM.
    """
    users = [*_SYSTEM_USERS, *([_SSHD_USER] if server else [])]
    users.append((ACCOUNT, UID, GID, "Maintainer,,,", home, "/bin/bash"))
    groups = [*_GROUPS, (ACCOUNT, GID)]
    return {
        "passwd": "".join(f"{n}:x:{u}:{g}:{gecos}:{h}:{sh}\n" for n, u, g, gecos, h, sh in users),
        "group": "".join(f"{n}:x:{g}:\n" for n, g in groups),
        "shadow": "".join(f"{n}:*:19000:0:99999:7:::\n" for n, *_ in users),
    }
