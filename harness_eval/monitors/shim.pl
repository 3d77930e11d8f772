#!/usr/bin/perl
# Runs @@REAL@@ unchanged; keeps a line per start and per exit in @@LOG@@.
use strict;

my $name = '@@NAME@@';
my $real = '@@REAL@@';
my $log  = '@@LOG@@';

my $now = eval { require Time::HiRes; \&Time::HiRes::time } || sub { time };

sub str {
    my $s = shift // '';
    $s =~ s/([\x00-\x1f"\\\x7f-\xff])/sprintf('\\u%04x', ord $1)/ge;
    return qq("$s");
}

sub record {
    my ($kind, $fields) = @_;
    my $line = sprintf('{"e":"%s","t":%.6f,%s}' . "\n", $kind, $now->(), $fields);
    if (open(my $fh, '>>', $log)) {
        syswrite($fh, $line);
        close($fh);
    }
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
    if (defined $child) {
        my $cwd = readlink('/proc/self/cwd') // $ENV{PWD};
        record('exec', sprintf('"pid":%d,"ppid":%d,"cwd":%s,"argv":[%s]',
            $$, $caller, str($cwd), join(',', map { str($_) } $name, @ARGV)));
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
record('exit', sprintf('"pid":%d,"code":%d,"signal":%d', $child, $code, $signal));
if ($signal) {
    $SIG{$_} = 'DEFAULT' for @forwarded;
    kill $signal, $$;
}
exit $code;
