-- Sample provider invoice lines for the demo: the last complete week of
-- each provider, billed close to what llmcost computed (OpenAI within
-- cents, Google exactly) except Anthropic, billed 6% less, so that the
-- reconciliation shows one gap past the tolerance.  Real lines come from
-- the providers' invoices.
INSERT INTO llmcost.invoice_lines (provider, period_start, period_end, amount, currency, invoice_ref, note)
SELECT r.provider, llmcost.review_week(), llmcost.review_week() + 7,
       round(llmcost.usd(sum(r.cost_nusd)) * v.factor, 2), 'USD', 'demo-' || r.provider, 'sample line made by the demo'
  FROM llmcost.rollup_daily_feature r
  JOIN (VALUES ('openai', 1.001), ('anthropic', 0.94), ('gcp.gemini', 1.0)) v(provider, factor) ON v.provider = r.provider
 WHERE r.day >= llmcost.review_week() AND r.day < llmcost.review_week() + 7
 GROUP BY r.provider, v.factor;
