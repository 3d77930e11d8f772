#!@@PERL@@ -T
# Runs @@REAL@@ unchanged; reports each start and exit to the receiver at @@SOCKET@@ (see monitors/shims.py).
# Taint mode (-T) makes perl ignore PERL5OPT, PERL5LIB and PERLLIB, so nothing from the caller's environment
# runs inside this process.
use strict;

my $name = '@@NAME@@';
my $real = '@@REAL@@';
my $sock = '@@SOCKET@@';
my $wait = 10;  # seconds to wait for the receiver before running the command unrecorded
# Linux's numbers, the same on every architecture: loading Socket and Errno would cost each command milliseconds.
my ($AF_UNIX, $SOCK_STREAM, $EINTR) = (1, 1, 4);

# The interpreter is unreadable to the caller, so this process is undumpable from its start; this keeps it so
# should the shim ever run under a readable perl. The receiver checks it.
syscall(@@PRCTL@@, 4, 0);  # prctl(PR_SET_DUMPABLE, 0)

# Taint mode refuses to exec with the caller's environment and arguments: passed on byte for byte, as they are.
sub same { my ($v) = $_[0] =~ /\A(.*)\z/s; return $v }
@ARGV = map { same($_) } @ARGV;
for (grep { exists $ENV{$_} } qw(PATH IFS CDPATH ENV BASH_ENV)) { $ENV{$_} = same($ENV{$_}) }

sub line_from {
    my ($fh) = @_;
    my ($buf, $in, $deadline) = ('', '', time + $wait);
    vec($in, fileno($fh), 1) = 1;
    while (index($buf, "\n") < 0) {
        my $ready = select(my $out = $in, undef, undef, $deadline - time);
        next if $ready < 0 && $! == $EINTR;  # a signal we forward (rsync sends its ssh USR1) must not lose the record
        return undef if $ready <= 0 || !sysread($fh, $buf, 256, length $buf);
    }
    return substr($buf, 0, index($buf, "\n"));
}

# One record per connection: the receiver checks this process from outside, then challenges it; the answer
# must carry the challenge, and the record counts once the receiver acknowledges it.
sub report {
    my ($record) = @_;
    socket(my $fh, $AF_UNIX, $SOCK_STREAM, 0) or return;
    if (connect($fh, pack('S Z108', $AF_UNIX, $sock))) {
        my $challenge = line_from($fh);
        if (defined $challenge && syswrite($fh, "$challenge $record\n")) {
            line_from($fh);
        }
    }
    close($fh);
}

my $caller = getppid();
my $chld_ignored = ($SIG{CHLD} // '') eq 'IGNORE';
$SIG{CHLD} = 'DEFAULT';
my $child;
my @forwarded = grep { ($SIG{$_} // '') ne 'IGNORE' } qw(HUP INT QUIT TERM USR1 USR2 ALRM WINCH CONT);
$SIG{$_} = sub { kill $_[0], $child if $child } for @forwarded;

$child = fork;
if (!$child) {
    $SIG{$_} = 'DEFAULT' for @forwarded;
    $SIG{CHLD} = 'IGNORE' if $chld_ignored;
    if (defined $child) {  # the receiver reads our argv while we wait, so the program starts after it
        my $cwd = readlink('/proc/self/cwd') // $ENV{PWD} // '';
        report(sprintf('exec %d %s', $caller, unpack('H*', $cwd)));
    }
    exec { $real } $name, @ARGV or print STDERR "$name: $!\n";
    exit 127;
}

open(STDIN, '<', '/dev/null');
open(STDOUT, '>', '/dev/null');
open(STDERR, '>', '/dev/null');
my $reaped;
do { $reaped = waitpid($child, 0) } until $reaped == $child || $reaped == -1;
my $status = $reaped == $child ? $? : 255 << 8;
my $signal = $status & 127;
my $code = $signal ? 128 + $signal : $status >> 8;
report(sprintf('exit %d %d %d', $child, $code, $signal));
if ($signal) {
    $SIG{$_} = 'DEFAULT' for @forwarded;
    kill $signal, $$;
}
exit $code;
