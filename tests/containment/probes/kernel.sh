# Power over the host kernel: who we are in which user namespace, and whether any host-global setting or
# interface takes a write. Writes only ever put back the value just read; the rest is test -w.
echo "<<<kernel $(hostname)"
echo "EUID $(id -u)"
echo "UIDMAP $(cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
grep -E '^Cap(Eff|Bnd):' /proc/self/status | sed 's/^/CAP /'
for f in kernel/printk_ratelimit kernel/core_pattern kernel/modprobe kernel/panic kernel/randomize_va_space \
         kernel/pid_max vm/swappiness fs/file-max; do
  if cat /proc/sys/$f > /tmp/.wb 2>/dev/null; then
    if (cat /tmp/.wb > /proc/sys/$f) 2>/dev/null; then echo "WRITE-OK /proc/sys/$f"; else echo "WRITE-DENIED /proc/sys/$f"; fi
  else
    echo "READ-DENIED /proc/sys/$f"
  fi
done
rm -f /tmp/.wb
# everything under /proc/sys that is not namespaced to this world (uts, ipc, pid, user, net are)
find /proc/sys -type f -writable 2>/dev/null | grep -vE '^/proc/sys/(net/|user/|fs/mqueue/|kernel/(hostname|domainname|shm|msg|sem|ns_last_pid))' | head -40 | sed 's/^/SYSCTL-WRITABLE /'
for f in /proc/sysrq-trigger /proc/sys/kernel/sysrq /dev/kmsg /dev/mem /dev/kmem /dev/port /dev/vda /dev/sda \
         /sys/kernel/uevent_helper /sys/power/state /sys/kernel/mm/transparent_hugepage/enabled /sys/fs/cgroup/cgroup.procs \
         /sys/module/printk/parameters/time /proc/sys/kernel/core_pattern; do
  [ -w "$f" ] && echo "HOST-WRITABLE $f"
done
[ -r /proc/kcore ] && head -c 1 /proc/kcore > /dev/null 2>&1 && echo "HOST-READABLE /proc/kcore"
mkdir -p /tmp/.mnt
if mount -t tmpfs probe /tmp/.mnt 2>/dev/null; then echo "MOUNT-OK"; umount /tmp/.mnt; else echo "MOUNT-DENIED"; fi
rmdir /tmp/.mnt
if nsenter -t 1 -m true 2>/dev/null; then echo "NSENTER-OK"; else echo "NSENTER-DENIED"; fi
# a fresh user namespace must not be a way back to the host's settings
unshare -Urm sh -c 'cat /proc/sys/kernel/printk_ratelimit > /tmp/.u && (cat /tmp/.u > /proc/sys/kernel/printk_ratelimit) 2>/dev/null && echo USERNS-WRITE-OK || echo USERNS-WRITE-DENIED; rm -f /tmp/.u' 2>/dev/null || echo "UNSHARE-DENIED"
echo ">>>kernel $(hostname)"
