#!/usr/bin/env perl
# check_api_errors.pl - every error code vingest-fcgi can answer is in
# docs/api.md, with the status it is answered with.
#
# The codes are read from the C sources of app/, not from a list kept by
# hand, so a new refusal cannot ship undocumented:
#   - the code argument of every call to a function with a parameter named
#     `code` (request_error, request_error_retry, request_error_headers,
#     tus_error, upload.c's fail, finish.c's refuse, field_append, ...),
#     with the status argument before it when that is a number (or numbers,
#     in a conditional);
#   - string literals assigned to anything named *code (a finish's code,
#     readyz's code);
#   - literals returned by a function named *_code (multipart_status_code);
#   - the value json-c is given for an error object's "code".
# A code argument that is none of these (no literal, not a `code`
# parameter passed on, not a *code member, not a *_code() call) is a
# failure too: this script must be taught where such a code comes from.
#
# A code must appear in docs/api.md as a word; a code with a known status
# must appear with that status in one table row, list item or paragraph.
# TAP output, one check per code and status. Run by `make check`.
#
# With --list it checks nothing and prints the codes it found instead, one
# a line: the code, then the statuses it is answered with (none when no
# call names one), as tests/openapi/check.mjs compares them with
# docs/openapi.yaml.
use strict;
use warnings;

my $list = @ARGV && $ARGV[0] eq '--list';

my $src = $ENV{VG_SRCDIR};
if (!defined $src) {
	($src = $0) =~ s{/?[^/]*$}{};
	$src = ($src eq '' ? '.' : $src) . '/../..';
}

# Codes a *_code() function can return that are never answered, and why.
my %never_answered = (
	ok             => 'MULTIPART_OK: the parser wants more; no answer',
	done           => 'MULTIPART_DONE: the body parsed; no answer',
	callback_error => 'MULTIPART_ERR_CALLBACK: the handler that stopped the parser has answered',
	unknown_status => "multipart_status_code's default, for a status the switch does not name",
);

my (@tests, $failed);
sub check {
	my ($ok, $name, @diag) = @_;
	push @tests, [$ok, $name, @diag];
	$failed++ if !$ok;
}

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or die "check_api_errors: cannot read $path: $!\n";
	local $/;
	return scalar <$fh>;
}

# Comments out, string literals replaced by STR<n> tokens (so no pattern
# matches inside one), line breaks kept for line numbers.
my @strings;
sub tokenise {
	my ($text) = @_;
	$text =~ s{("(?:\\.|[^"\\\n])*")|(/\*.*?\*/)|(//[^\n]*)}{
		if (defined $1) {
			push @strings, substr($1, 1, -1);
			'STR' . $#strings . '_';
		} else {
			my $c = defined $2 ? $2 : $3;
			"\n" x ($c =~ tr/\n//);
		}
	}gse;
	return $text;
}

sub literals {
	my ($expr) = @_;
	return map { $strings[$_] } $expr =~ /\bSTR(\d+)_/g;
}

sub line_of {
	my ($text, $pos) = @_;
	return 1 + (substr($text, 0, $pos) =~ tr/\n//);
}

# The text from an opening parenthesis at $pos to its match, split into
# top-level arguments.
sub arguments {
	my ($text, $pos) = @_;
	my ($depth, $cur, @args) = (0, '');
	for (my $i = $pos; $i < length $text; $i++) {
		my $ch = substr($text, $i, 1);
		if ($ch eq '(') {
			$cur .= $ch if $depth++ > 0;
		} elsif ($ch eq ')') {
			if (--$depth == 0) {
				push @args, $cur;
				return @args;
			}
			$cur .= $ch;
		} elsif ($ch eq ',' && $depth == 1) {
			push @args, $cur;
			$cur = '';
		} else {
			$cur .= $ch;
		}
	}
	return @args;
}

my %files;
for my $path (sort glob("$src/app/*.c"), sort glob("$src/app/*.h")) {
	(my $name = $path) =~ s{.*/(app/)}{$1};
	$files{$name} = tokenise(slurp($path));
}

# Functions with a parameter named code: name => index, per file for
# static ones, global for the rest.
my (%global, %local);
for my $f (sort keys %files) {
	my $t = $files{$f};
	while ($t =~ /^(static[ \t]+)?[\w \t\*]*?\b(\w+)\s*\(([^()]*\bconst\s+char\s*\*\s*code\b[^()]*)\)\s*[;{]/mg) {
		my ($static, $fn, $params) = ($1, $2, $3);
		my @p = split /,/, $params;
		my ($idx) = grep { $p[$_] =~ /\bcode\s*$/ } 0 .. $#p;
		next if !defined $idx;
		if ($static) {
			$local{$f}{$fn} = $idx;
		} else {
			$global{$fn} = $idx;
		}
	}
}

my %answered; # code => { status => "file:line", ... } ('' : status unknown)
sub answered {
	my ($code, $status, $where) = @_;
	$answered{$code}{$status} //= $where;
}

for my $f (sort keys %files) {
	my $t = $files{$f};
	my %fns = (%global, %{$local{$f} || {}});
	for my $fn (sort keys %fns) {
		my $idx = $fns{$fn};
		while ($t =~ /\b\Q$fn\E\s*\(/g) {
			my $at = $-[0];
			my @args = arguments($t, $+[0] - 1);
			# a definition or prototype, not a call
			next if grep { /^\s*(?:const|struct|enum|int|long|char|unsigned|size_t)\b/ } @args;
			my $where = "$f:" . line_of($t, $at);
			my $arg = $args[$idx] // '';
			my @codes = literals($arg);
			if (!@codes) {
				next if $arg =~ /^\s*code\s*$/;                       # passed on
				next if $arg =~ /(?:\.|->|\b)\w*code\s*$/;            # a *code member
				next if $arg =~ /^\s*\w+_code\s*\(/;                 # a *_code() result
				check(0, "the error code of $fn() at $where is known", "code argument: $arg");
				next;
			}
			my $st = $idx > 0 ? $args[$idx - 1] : '';
			my @status = $st =~ /^[\s\w?:!=<>.|&-]*$/ ? ($st =~ /\b([1-5]\d\d)\b/g) : ();
			@status = ('') if !@status;
			for my $c (@codes) {
				answered($c, $_, $where) for @status;
			}
		}
	}
	while ($t =~ /\b\w*code\s*=(?!=)\s*([^;]*);/g) {
		answered($_, '', "$f:" . line_of($t, $-[0])) for literals($1);
	}
	while ($t =~ /\b\w+_code\s*\([^()]*\)\s*\{/g) {
		my $start = $+[0];
		my ($depth, $i) = (1, $start);
		for (; $i < length $t && $depth > 0; $i++) {
			my $ch = substr($t, $i, 1);
			$depth++ if $ch eq '{';
			$depth-- if $ch eq '}';
		}
		my $body = substr($t, $start, $i - $start);
		while ($body =~ /\breturn\s+(STR\d+_)/g) {
			my ($c) = literals($1);
			next if $never_answered{$c};
			answered($c, '', "$f:" . line_of($t, $start + $-[0]));
		}
	}
	while ($t =~ /STR(\d+)_\s*,\s*json_object_new_string\s*\(([^;]*)\)\s*\)\s*;/g) {
		next if $strings[$1] ne 'code';
		answered($_, '', "$f:" . line_of($t, $-[0])) for literals($2);
	}
}

if ($list) {
	for my $c (sort keys %answered) {
		print join(' ', $c, sort grep { $_ ne '' } keys %{$answered{$c}}), "\n";
	}
	if ($failed) {
		print STDERR "check_api_errors: $_->[1]\n" for grep { !$_->[0] } @tests;
		exit 1;
	}
	exit 0;
}

for my $c (sort keys %never_answered) {
	check((grep { $_ eq $c } @strings) ? 1 : 0,
	      "'$c', listed as never answered, is still in the sources");
}

# docs/api.md in blocks: a table row, a list item, or a paragraph.
my @blocks;
{
	my $cur = '';
	for my $line (split /\n/, slurp("$src/docs/api.md")) {
		if ($line =~ /^\s*$/ || $line =~ /^\|/ || $line =~ /^\s*[-*] /) {
			push @blocks, $cur if $cur ne '';
			$cur = '';
			if ($line =~ /^\|/) {
				push @blocks, $line;
				next;
			}
		}
		$cur .= "$line\n";
	}
	push @blocks, $cur if $cur ne '';
}

check(scalar(keys %answered) >= 40, 'the sources yield the error codes (' . scalar(keys %answered) . ')');
for my $c (sort keys %answered) {
	my $word = qr/(?<![A-Za-z0-9_])\Q$c\E(?![A-Za-z0-9_])/;
	my @where = map { $answered{$c}{$_} } sort keys %{$answered{$c}};
	check((grep { $_ =~ $word } @blocks) ? 1 : 0, "$c is in docs/api.md", "answered at @where");
	for my $s (sort grep { $_ ne '' } keys %{$answered{$c}}) {
		check((grep { $_ =~ $word && $_ =~ /(?<!\d)$s(?!\d)/ } @blocks) ? 1 : 0,
		      "$s $c is in docs/api.md (with its status)", "answered at $answered{$c}{$s}");
	}
}

my $n = 0;
for my $t (@tests) {
	my ($ok, $name, @diag) = @$t;
	$n++;
	print(($ok ? '' : 'not '), "ok $n - $name\n");
	print "#   $_\n" for $ok ? () : @diag;
}
print "1..$n\n";
exit($failed ? 1 : 0);
