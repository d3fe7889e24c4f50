# The upgrade path: installing the oldest released version (0.1) and running
# ALTER EXTENSION UPDATE to the newest gives the same schema as a fresh
# install, compared with pg_dump --schema-only, both on an empty database and
# on one holding events and rollups when it is updated.  The updated rollups
# answer as a fresh install's would.
#
# pg_dump leaves extension members out of a plain dump; --binary-upgrade
# writes every one of them (as pg_upgrade needs), with OIDs and transaction
# ids that differ between any two databases: those lines are dropped before
# comparing, nothing else.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $oldest = '0.1';
my ($newest) = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'llmcost'");
my ($versions) = $node->safe_psql('postgres',
	"SELECT string_agg(version, ' ' ORDER BY version) FROM pg_available_extension_versions WHERE name = 'llmcost'");
note "llmcost versions available: $versions; newest $newest";
isnt($newest, $oldest, "there is an update to test ($oldest -> $newest)");

# The schema of one database as pg_dump writes it, without the lines that
# only name OIDs, transaction ids or the dump's own session.
sub schema_of
{
	my ($db, @exclude) = @_;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[ 'pg_dump', '--schema-only', '--binary-upgrade', '-d', $node->connstr($db),
		  map { ('--exclude-table', $_) } @exclude ],
		'>', \$stdout, '2>', \$stderr);
	die "pg_dump $db failed: $stderr" unless $ok;
	my @kept = grep {
		!/binary_upgrade_set_next_|binary_upgrade_create_empty_extension|relfrozenxid|^WHERE oid = |^\\(un)?restrict |^-- Dumped (from|by)/
	} split /\n/, $stdout;
	return join("\n", @kept) . "\n";
}

# The differing lines of two schemas (empty when equal), for the test's message.
sub differences
{
	my ($a, $b) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	PostgreSQL::Test::Utils::append_to_file("$dir/a", $a);
	PostgreSQL::Test::Utils::append_to_file("$dir/b", $b);
	my ($out, $err);
	IPC::Run::run([ 'diff', "$dir/a", "$dir/b" ], '>', \$out, '2>', \$err);
	return $out;
}

$node->safe_psql('postgres', "CREATE DATABASE fresh");
$node->safe_psql('postgres', "CREATE DATABASE updated");
$node->safe_psql('postgres', "CREATE DATABASE updated_with_data");

$node->safe_psql('fresh', "SET client_min_messages = warning; CREATE EXTENSION llmcost CASCADE");
$node->safe_psql('updated',
	"SET client_min_messages = warning; CREATE EXTENSION llmcost VERSION '$oldest' CASCADE");
is($node->safe_psql('updated', "SELECT extversion FROM pg_extension WHERE extname = 'llmcost'"),
	$oldest, "installed $oldest");
$node->safe_psql('updated', "ALTER EXTENSION llmcost UPDATE");
is($node->safe_psql('updated', "SELECT extversion FROM pg_extension WHERE extname = 'llmcost'"),
	$newest, "updated to $newest");

my $fresh = schema_of('fresh');
my $updated = schema_of('updated');
cmp_ok(length($fresh), '>', 100_000, 'the dump holds the extension\'s objects');
my $diff = differences($fresh, $updated);
is($diff, '', 'pg_dump --schema-only: update from the oldest version = fresh install');
note "schema dump: " . scalar(split /\n/, $fresh) . " lines compared";

# With data: three weeks of events for 40 users, rolled up under the oldest
# version, then updated.
$node->safe_psql('updated_with_data', qq{
SET client_min_messages = warning;
CREATE EXTENSION llmcost VERSION '$oldest' CASCADE;
SELECT llmcost.create_partitions(now() - interval '21 days', now() + interval '1 day');
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
SELECT now() - (i % 500) * interval '1 hour', 'r' || i, 'u' || (i % 40), 'feature-' || (i % 5),
       'openai', CASE WHEN i % 7 = 0 THEN 'gpt-4o' ELSE 'gpt-4o-mini' END,
       100 + (i * 7919) % 20000, 10 + (i * 104729) % 2000
  FROM generate_series(1, 5000) i;
SELECT llmcost.refresh_rollups();
});
$node->safe_psql('updated_with_data', "ALTER EXTENSION llmcost UPDATE");
is($node->safe_psql('updated_with_data', "SELECT extversion FROM pg_extension WHERE extname = 'llmcost'"),
	$newest, "updated to $newest with data");
# the daily partitions the data made are this database's own tables
$diff = differences($fresh, schema_of('updated_with_data', 'llmcost.events_p2*'));
is($diff, '', 'pg_dump --schema-only: update with data = fresh install');

# users whose 30-day window sketch differs from sketch_agg over their raw calls
my $window_differing = q{
SELECT count(*) FROM llmcost.rollup_user_30d w
  FULL JOIN (SELECT user_id, llmcost.sketch_agg(cost_nusd)::text AS s FROM llmcost.events
              WHERE event_time >= date_trunc('day', now(), 'UTC') - interval '29 days' GROUP BY user_id) r
  USING (user_id)
 WHERE w.cost_sketch::text IS DISTINCT FROM r.s};

# the update filled the new per-user sketches from the hourly ones: the
# window's sketches equal sketch_agg over the raw calls of each user
is($node->safe_psql('updated_with_data', $window_differing), '0', 'window sketches after the update = raw');
is($node->safe_psql('updated_with_data', q{
SELECT count(*) FROM llmcost.rollup_daily_user d
  FULL JOIN (SELECT (event_time AT TIME ZONE 'UTC')::date AS day, user_id, llmcost.sketch_agg(cost_nusd)::text AS s
               FROM llmcost.events GROUP BY 1, 2) r USING (day, user_id)
 WHERE d.cost_sketch::text IS DISTINCT FROM r.s}), '0', 'daily sketches after the update = raw');
is($node->safe_psql('updated_with_data', "SELECT count(*) FROM llmcost.user_call_costs WHERE p99_call_usd > 0"),
	'40', 'user_call_costs answers for every user after the update');
# and the next refresh keeps them, as a fresh install's would
$node->safe_psql('updated_with_data', q{
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
VALUES (now() - interval '3 days', 'late', 'u1', 'feature-1', 'openai', 'gpt-4o', 90000, 9000);
SELECT llmcost.refresh_rollups();
});
is($node->safe_psql('updated_with_data', $window_differing), '0', 'window sketches after a refresh under the new version = raw');

# OTLP calls taken under the oldest version, then the update: a provider
# SDK's span taken (inside the instrumentation's span ...01)
$node->safe_psql('postgres', "CREATE DATABASE updated_otlp");
$node->safe_psql('updated_otlp', qq{
SET client_min_messages = warning;
CREATE EXTENSION llmcost VERSION '$oldest' CASCADE;
SELECT llmcost.create_partitions(now() - interval '1 day', now() + interval '1 day');
CREATE FUNCTION otlp_body(span text, parent text) RETURNS text LANGUAGE sql
RETURN jsonb_build_object('resourceSpans', jsonb_build_array(jsonb_build_object('scopeSpans', jsonb_build_array(
    jsonb_build_object('spans', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
        'traceId', 'aaaa0000000000000000000000000001', 'spanId', span, 'parentSpanId', parent,
        'startTimeUnixNano', ((extract(epoch FROM now()) - 3600)::bigint * 1000000000)::text,
        'endTimeUnixNano', ((extract(epoch FROM now()) - 3599)::bigint * 1000000000)::text,
        'attributes', jsonb_build_array(
            jsonb_build_object('key', 'gen_ai.request.model', 'value', jsonb_build_object('stringValue', 'gpt-4o')),
            jsonb_build_object('key', 'gen_ai.system', 'value', jsonb_build_object('stringValue', 'openai')))))))))))::text;
SELECT * FROM llmcost.ingest_otlp(otlp_body('bbbb000000000002', 'bbbb000000000001'));
});
$node->safe_psql('updated_otlp', "ALTER EXTENSION llmcost UPDATE");
# the calls taken before the update keep their nested spans out (0.4 marks
# their parents): the instrumentation's span of that call is a duplicate,
# another call of the same parent is taken
is($node->safe_psql('updated_otlp', q{
SELECT (SELECT duplicates FROM llmcost.ingest_otlp(otlp_body('bbbb000000000001', NULL))) || ' ' ||
       (SELECT taken FROM llmcost.ingest_otlp(otlp_body('bbbb000000000003', 'bbbb000000000001')))}),
	'1 1', 'OTLP calls taken before the update: the outer span a duplicate, a sibling call taken');

$node->stop;
done_testing();
