-- The open-queue order index carries what a desktop's first sync reads.
--
-- A first sync reads the head of the open queue in order, batch by batch.
-- Open claims lie scattered over the claim heap, so each row cost a heap
-- page of its own: 55 ms of a 2,000-claim batch on a million-claim database
-- (BENCHMARKS.md, issue 5). With the columns the sync reads in the index,
-- the scan is index-only where pages are all-visible (autovacuum keeps them
-- so): 30 ms. The same index, same key and predicate, so the queue listing
-- that used it is unchanged; no extra index is maintained. The included
-- columns change when the claim's status or priority changes, which already
-- rewrites this index's entry.
SET LOCAL search_path = claimdesk, public, pg_catalog;

DROP INDEX claim_open_order_idx;
CREATE INDEX claim_open_order_idx ON claim (priority_rank, prompt_pay_due, received_at, id)
    INCLUDE (member_id, change_xid, claim_type, status, priority, total_billed, version,
             suspected_duplicate_of, risk_severity, provider_id, claim_number, patient_account_number,
             service_from, service_to, priority_reasons)
    WHERE status IN ('received', 'in_review', 'appealed', 'pended');
