# What one process in a world can learn about every other it can see: environments, command lines, where its
# files, cwd, root and mapped objects point, and how the mounts were built.
echo "<<<env $(hostname)"
for p in /proc/[0-9]*; do
  echo "@pid ${p#/proc/} $(tr '\0' ' ' < $p/cmdline 2>/dev/null)"
  tr '\0' '\n' < $p/environ 2>&1 | sed 's/^/ENV /'
  for l in $p/cwd $p/root $p/exe $p/fd/*; do
    t=$(readlink "$l" 2>/dev/null) || continue
    echo "LINK $l -> $t"
    # a handle on a file that does not exist in this world's view is a handle on the host
    case "$t" in /*) [ -e "$t" ] || echo "HOSTFD $l -> $t" ;; esac
  done
  awk '$6 ~ /^\// {print "MAP " $6}' $p/maps 2>/dev/null | sort -u
done
sed 's/^/MOUNT /' /proc/self/mountinfo
echo ">>>env $(hostname)"
