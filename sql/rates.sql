-- llmcost.rates: constraints, the read-only default card, precedence of your rows.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
\set VERBOSITY terse
-- overlapping ranges of one model (and origin) are refused by a constraint
INSERT INTO llmcost.rates (model, valid_from, valid_until, input_per_mtok, output_per_mtok)
VALUES ('overlap-1', '2026-01-01', '2026-03-01', 1, 2);
INSERT INTO llmcost.rates (model, valid_from, valid_until, input_per_mtok, output_per_mtok)
VALUES ('overlap-1', '2026-02-01', NULL, 1, 2);
-- touching ranges are fine ([from, until) is half-open)
INSERT INTO llmcost.rates (model, valid_from, valid_until, input_per_mtok, output_per_mtok)
VALUES ('overlap-1', '2026-03-01', NULL, 1.5, 2.5);

-- prices must be exact in nano-USD per million tokens, non-negative, bounded
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok) VALUES ('bad-1', '2026-01-01', 0.0000000001, 1);
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok) VALUES ('bad-1', '2026-01-01', -1, 1);
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok) VALUES ('bad-1', '2026-01-01', 1, 'NaN');
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok) VALUES ('bad-1', '2026-01-01', 1000000, 1);
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok) VALUES ('Bad-Case', '2026-01-01', 1, 1);
INSERT INTO llmcost.rates (model, valid_from, valid_until, input_per_mtok, output_per_mtok) VALUES ('bad-1', '2026-01-01', '2025-01-01', 1, 1);
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok, batch_discount) VALUES ('bad-1', '2026-01-01', 1, 1, 1);
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok, long_context_threshold) VALUES ('bad-1', '2026-01-01', 1, 1, 1000);
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok) VALUES (repeat('m', 128), '2026-01-01', 1, 1);

-- the default card is read-only
UPDATE llmcost.rates SET input_per_mtok = 0 WHERE model = 'gpt-4o-mini' AND is_default;
DELETE FROM llmcost.rates WHERE model = 'gpt-4o-mini' AND is_default;
INSERT INTO llmcost.rates (model, valid_from, input_per_mtok, output_per_mtok, is_default)
VALUES ('sneaky', '2026-01-01', 0, 0, true);
\set VERBOSITY default

-- your own rate wins over the default card where it applies, and only there
SELECT llmcost.set_rate('gpt-4o-mini', '2026-03-01', input_per_mtok => 0.1, output_per_mtok => 0.4,
                        source => 'negotiated');
SELECT llmcost.price('openai', 'gpt-4o-mini', '2026-02-28', 1000000, 1000000) AS default_card,
       llmcost.price('openai', 'gpt-4o-mini', '2026-03-02', 1000000, 1000000) AS negotiated;
SELECT model, is_default, source, input_per_mtok FROM llmcost.current_rates WHERE model = 'gpt-4o-mini';

-- set_rate: unchanged, replaced (the current row is closed), re-set at the same instant
SELECT llmcost.set_rate('setrate-1', '2026-01-01', 1, 2);
SELECT llmcost.set_rate('setrate-1', '2026-01-01', 1, 2);
SELECT llmcost.set_rate('setrate-1', '2026-02-01', 1.25, 2.5);
SELECT llmcost.set_rate('setrate-1', '2026-02-01', 1.5, 3);
-- a rate for a time before the ones set: it ends where the next begins
SELECT llmcost.set_rate('setrate-1', '2025-12-01', 0.5, 1);
SELECT valid_from, valid_until, input_per_mtok, output_per_mtok, source
  FROM llmcost.rates WHERE model = 'setrate-1' ORDER BY valid_from;
-- a rate the table's rules refuse: a data error naming the rule and the values
SELECT llmcost.set_rate('setrate-3', '2026-01-01', 10000000, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT llmcost.set_rate('setrate-3', '2026-01-01', 1, 1, long_context_threshold => 200000);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- names are stored lower-case
SELECT llmcost.set_rate('SetRate-2', '2026-01-01', 1, 2);
SELECT model FROM llmcost.rates WHERE model LIKE 'setrate-2';
