# Crash safety: clients COPY and INSERT batches of events (and a third one
# refreshes the rollups) while the server is killed with SIGKILL at a random
# moment, ten times over, with fsync on.  Afterwards every batch a client saw
# committed is there whole, no batch is there in part, and after the next
# refresh the rollups equal the same sums over the raw events.  Last, a
# crash forgets the open quota reservations (unlogged) and keeps denials.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use File::Temp qw(tempdir);
use POSIX qw(strftime _exit);

my $kills = 10;
my $rows_per_batch = 100;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# the test framework turns fsync off for speed; this test is about durability
$node->append_conf('postgresql.conf', qq{
fsync = on
synchronous_commit = on
full_page_writes = on
restart_after_crash = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION llmcost CASCADE');
$node->safe_psql('postgres',
	"SELECT llmcost.create_partitions(now() - interval '2 days', now() + interval '2 days')");

my $work = tempdir(CLEANUP => 1);
my $connstr = $node->connstr('postgres');

# One client: runs its batches one psql call at a time until one fails (the
# server is gone), writing the id of each batch psql reported committed.
sub client
{
	my ($kind, $round) = @_;
	my $acks = "$work/acks-$kind-$round";
	open(my $ack, '>', $acks) or die "cannot write $acks: $!";
	$ack->autoflush(1);
	for (my $seq = 1;; $seq++)
	{
		my $batch = "$kind-$round-$seq";
		my @cmd;
		if ($kind eq 'copy')
		{
			my $csv = "$work/$batch.csv";
			open(my $fh, '>', $csv) or die;
			for my $i (1 .. $rows_per_batch)
			{
				printf $fh "%s,%s-%d,u%d,feature-%d,openai,gpt-4o-mini,%d,%d\n",
				  strftime('%Y-%m-%d %H:%M:%S+00', gmtime(time - ($i * 37) % 7200)), $batch, $i,
				  $i % 17, $i % 5, 100 + $i * 13, 10 + $i;
			}
			close $fh;
			@cmd = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c',
				"\\copy llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens) FROM '$csv' (FORMAT csv)");
		}
		elsif ($kind eq 'insert')
		{
			@cmd = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c',
				"INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
				 SELECT now() - (g * 37 % 7200) * interval '1 second', '$batch-' || g, 'u' || g % 17,
				        'feature-' || g % 5, 'anthropic', 'claude-sonnet-4-5', 200 + g * 11, 20 + g
				   FROM generate_series(1, $rows_per_batch) g");
		}
		else
		{
			@cmd = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c',
				'SELECT llmcost.refresh_rollups()');
		}
		open(my $null, '>', '/dev/null');
		my $pid = fork();
		if ($pid == 0)
		{
			open(STDOUT, '>&', $null);
			open(STDERR, '>&', $null);
			exec(@cmd) or _exit(127);
		}
		waitpid($pid, 0);
		_exit(0) if $? != 0;    # _exit: no END blocks (they would stop the node) in a child
		print $ack "$batch\n" if $kind ne 'refresh';
	}
}

sub postmaster_pid
{
	open(my $fh, '<', $node->data_dir . '/postmaster.pid') or die "no postmaster.pid: $!";
	my $pid = <$fh>;
	chomp $pid;
	return $pid;
}

# After a SIGKILL: the killed postmaster lingers until it is reaped, and
# its backends until they notice; start again once the lock and memory are
# free (crash recovery runs then).
sub restart_after_kill
{
	my ($postmaster, $what) = @_;
	for (my $i = 0; $i < 300 && kill(0, $postmaster); $i++) { usleep(100_000); }
	my $started = 0;
	for (my $i = 0; $i < 30 && !$started; $i++)
	{
		$started = $node->start(fail_ok => 1);
		usleep(500_000) unless $started;
	}
	BAIL_OUT("the server did not restart after $what") unless $started;
}

srand(20261127);
for my $round (1 .. $kills)
{
	my @pids;
	for my $kind ('copy', 'insert', 'refresh')
	{
		my $pid = fork();
		if ($pid == 0) { client($kind, $round); _exit(0); }
		push @pids, $pid;
	}
	usleep(300_000 + int(rand(2_200_000)));    # 0.3 to 2.5 s of work
	my $postmaster = postmaster_pid();
	$node->kill9;
	waitpid($_, 0) for @pids;
	restart_after_kill($postmaster, "kill $round");
}

# every acknowledged batch is there, whole; none is there in part
my @acked;
for my $f (glob("$work/acks-*"))
{
	open(my $fh, '<', $f) or die;
	chomp(my @lines = <$fh>);
	push @acked, @lines;
}
ok(@acked > $kills, scalar(@acked) . " batches acknowledged over $kills kills");
$node->safe_psql('postgres', 'CREATE TABLE acked (batch text PRIMARY KEY)');
$node->safe_psql('postgres',
	'INSERT INTO acked VALUES ' . join(',', map { "('$_')" } @acked));
my $per_batch = q{
	SELECT regexp_replace(request_id, '-[0-9]+$', '') AS batch, count(*) AS n
	  FROM llmcost.events GROUP BY 1};
is($node->safe_psql('postgres',
		"SELECT count(*) FROM acked a LEFT JOIN ($per_batch) b USING (batch) WHERE coalesce(b.n, 0) <> $rows_per_batch"),
	'0', 'acknowledged events missing: 0');
is($node->safe_psql('postgres', "SELECT count(*) FROM ($per_batch) b WHERE b.n <> $rows_per_batch"),
	'0', 'batches present in part: 0');
my $unacked = $node->safe_psql('postgres',
	"SELECT count(*) FROM ($per_batch) b WHERE b.batch NOT IN (SELECT batch FROM acked)");
note("batches committed but not acknowledged (the kill came between commit and reply): $unacked");

# after the next refresh the rollups are the raw events' sums, hour by hour
$node->safe_psql('postgres', 'SELECT llmcost.refresh_rollups()');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	    SELECT date_trunc('hour', event_time, 'UTC') AS hour, feature, user_id, count(*) AS calls,
	           coalesce(sum(cost_nusd), 0) AS cost
	      FROM llmcost.events GROUP BY 1, 2, 3) raw
	  FULL JOIN (
	    SELECT hour, feature, user_id, sum(calls) AS calls, sum(cost_nusd) AS cost
	      FROM llmcost.rollup_hourly GROUP BY 1, 2, 3) r USING (hour, feature, user_id)
	 WHERE raw.calls IS DISTINCT FROM r.calls OR raw.cost IS DISTINCT FROM r.cost}),
	'0', 'hourly rollups differing from the raw events: 0');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	    SELECT (event_time AT TIME ZONE 'UTC')::date AS day, user_id, count(*) AS calls,
	           coalesce(sum(cost_nusd), 0) AS cost
	      FROM llmcost.events GROUP BY 1, 2) raw
	  FULL JOIN llmcost.rollup_daily_user r USING (day, user_id)
	 WHERE raw.calls IS DISTINCT FROM r.calls OR raw.cost IS DISTINCT FROM r.cost_nusd}),
	'0', 'daily user rollups differing from the raw events: 0');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	    SELECT (event_time AT TIME ZONE 'UTC')::date AS day, feature, count(*) AS calls,
	           coalesce(sum(cost_nusd), 0) AS cost
	      FROM llmcost.events GROUP BY 1, 2) raw
	  FULL JOIN (SELECT day, feature, sum(calls) AS calls, sum(cost_nusd) AS cost
	               FROM llmcost.rollup_daily_feature GROUP BY 1, 2) r USING (day, feature)
	 WHERE raw.calls IS DISTINCT FROM r.calls OR raw.cost IS DISTINCT FROM r.cost}),
	'0', 'daily feature rollups differing from the raw events: 0');
note('events: ' . $node->safe_psql('postgres', 'SELECT count(*) FROM llmcost.events'));

# Quota reservations are unlogged (holds of minutes): a crash forgets the
# open ones, and keeps the denials (logged).
$node->safe_psql('postgres', q{INSERT INTO llmcost.user_quotas VALUES ('crash-user', 1, 'day')});
is($node->safe_psql('postgres', q{
	SELECT string_agg(allowed::text, ',' ORDER BY n)
	  FROM generate_series(1, 3) n, LATERAL llmcost.admit('crash-user', 0.4, 'crash-' || n)}),
	'true,true,false', 'before the crash: two reservations of $0.40, the third denied');
my $postmaster = postmaster_pid();
$node->kill9;
restart_after_kill($postmaster, 'the quota kill');
is($node->safe_psql('postgres', q{SELECT count(*) FROM llmcost.quota_reservations}),
	'0', 'after the crash: the open reservations are forgotten (unlogged table reset)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM llmcost.denied_admissions WHERE user_id = 'crash-user'}),
	'1', 'after the crash: the denial is kept');
is($node->safe_psql('postgres', q{SELECT allowed FROM llmcost.admit('crash-user', 0.4)}),
	't', 'after the crash: admissions run again against the rollups');

$node->stop;
done_testing();
