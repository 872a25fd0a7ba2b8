//! `claimdesk-admin bench decide`: decisions per second from concurrent
//! writers, with central's checks (migration 0020's `claim_decide`) against
//! the function as it was before them (0009's, restated here under another
//! name for the run), on the same database, in turns.
//!
//! Each writer decides claims leased to it beforehand (the checkout is not
//! measured here: `bench queue` does that), approving them as billed with a
//! 1.00 copay on the first line, which books to the member's accumulators
//! and so takes the family's lock. Claims the engine would deny or hold are
//! left out, as a desktop would not send them as approvals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use claimdesk_core::users::StaffRole;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::bench::{drop_login, ms, percentile, temp_login};

/// 0009's `claim_decide` (before the central checks), kept for the run in
/// a schema of its own and dropped after.
const BEFORE: &str = r#"
CREATE SCHEMA IF NOT EXISTS claimdesk_bench;
CREATE OR REPLACE FUNCTION claimdesk_bench.claim_decide_before(
    p_claim uuid, p_version int, p_decision text, p_lines jsonb, p_explanation text
) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    c claim; v_status text; l jsonb; v_lines int; v_paid numeric; v_deductible numeric; v_member numeric; v_plan uuid;
BEGIN
    PERFORM require_role(ARRAY['claimdesk_adjudicator']);
    c := claim_for_holder(p_claim);
    IF c.version <> p_version THEN RAISE EXCEPTION 'version' USING ERRCODE = 'CD001'; END IF;
    IF c.status NOT IN ('received', 'in_review', 'pended', 'appealed') THEN RAISE EXCEPTION 'state' USING ERRCODE = 'CD003'; END IF;
    v_status := CASE p_decision WHEN 'approve' THEN 'approved' END;
    SELECT count(*) INTO v_lines FROM claim_line WHERE claim_id = p_claim;
    IF jsonb_array_length(p_lines) <> v_lines THEN RAISE EXCEPTION 'lines' USING ERRCODE = 'CD005'; END IF;
    FOR l IN SELECT * FROM jsonb_array_elements(p_lines) LOOP
        IF (l ->> 'paid')::numeric = 0 AND ((l ->> 'carc') IS NULL OR (l ->> 'group_code') IS NULL) THEN
            RAISE EXCEPTION 'codes' USING ERRCODE = 'CD005';
        END IF;
        UPDATE claim_line SET allowed = (l ->> 'allowed')::numeric, deductible = (l ->> 'deductible')::numeric,
            copay = (l ->> 'copay')::numeric, coinsurance = (l ->> 'coinsurance')::numeric, paid = (l ->> 'paid')::numeric,
            group_code = l ->> 'group_code', carc = l ->> 'carc',
            rarc = coalesce(ARRAY(SELECT jsonb_array_elements_text(l -> 'rarc')), '{}')
        WHERE claim_id = p_claim AND line_number = (l ->> 'line_number')::int;
    END LOOP;
    SELECT sum(paid), sum(coalesce(deductible, 0)), sum(coalesce(deductible, 0) + coalesce(copay, 0) + coalesce(coinsurance, 0))
    INTO v_paid, v_deductible, v_member FROM claim_line WHERE claim_id = p_claim;
    UPDATE claim SET status = v_status,
        total_allowed = (SELECT sum(allowed) FROM claim_line WHERE claim_id = p_claim),
        total_paid = v_paid, member_responsibility = v_member,
        adjudication_notes = p_explanation, adjudicated_by = session_user, adjudicated_at = now(),
        requires_approval = v_paid > authority_limit_for(session_user), approved_by = NULL, approved_at = NULL,
        version = version + 1
    WHERE id = p_claim;
    UPDATE queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL WHERE claim_id = p_claim;
    IF c.policy_id IS NOT NULL THEN
        SELECT plan_id INTO v_plan FROM policy WHERE id = c.policy_id;
        INSERT INTO accumulator AS a (id, member_id, policy_id, plan_year, deductible_met, oop_met)
        VALUES (gen_random_uuid(), c.member_id, c.policy_id, plan_year_of(v_plan, c.service_from), v_deductible, v_member)
        ON CONFLICT (member_id, policy_id, plan_year) DO UPDATE
            SET deductible_met = a.deductible_met + EXCLUDED.deductible_met, oop_met = a.oop_met + EXCLUDED.oop_met;
    END IF;
    RETURN c.version + 1;
END
$$;
"#;

/// One decision ready to send.
struct Work {
    claim: Uuid,
    version: i32,
    lines: serde_json::Value,
}

/// Claims the engine would approve, leased to `login`, with their figures:
/// the first `n` that pass among the open claims after `after` in id order
/// (each turn moves on, so no turn gets another's leftovers). Returns them
/// and where the next turn starts.
async fn prepare(
    admin: &mut PgConnection,
    login: &str,
    n: i64,
    after: Uuid,
) -> Result<(Vec<Work>, Uuid)> {
    let next: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM (SELECT c.id FROM claimdesk.claim c JOIN claimdesk.queue_entry q ON q.claim_id = c.id
                              WHERE q.lease_holder IS NULL AND NOT q.pended AND c.status IN ('received', 'in_review')
                                AND c.id > $1 ORDER BY c.id LIMIT $2 * 2) cand ORDER BY id DESC LIMIT 1",
    )
    .bind(after)
    .bind(n)
    .fetch_optional(&mut *admin)
    .await?;
    let rows: Vec<(Uuid, i32, serde_json::Value)> = sqlx::query_as(
        "WITH cand AS MATERIALIZED (
             SELECT c.id FROM claimdesk.claim c
             JOIN claimdesk.queue_entry q ON q.claim_id = c.id
             WHERE q.lease_holder IS NULL AND NOT q.pended AND c.status IN ('received', 'in_review')
               AND c.id > $3
             ORDER BY c.id LIMIT $2 * 2),
         pick AS (
             SELECT c.id, c.version FROM claimdesk.claim c JOIN cand ON cand.id = c.id
             WHERE claimdesk.claim_blocking_edits(c, (claimdesk.claim_money_context(c)).is_eligible, NULL) = '[]'
             LIMIT $2),
         leased AS (
             UPDATE claimdesk.queue_entry q SET lease_holder = $1, lease_expires_at = now() + interval '2 hours', leased_at = now()
             FROM pick WHERE q.claim_id = pick.id RETURNING q.claim_id)
         SELECT pick.id, pick.version,
                (SELECT jsonb_agg(jsonb_build_object('line_number', l.line_number, 'billed', l.billed::text) ORDER BY l.line_number)
                 FROM claimdesk.claim_line l WHERE l.claim_id = pick.id)
         FROM pick JOIN leased ON leased.claim_id = pick.id",
    )
    .bind(login)
    .bind(n)
    .bind(after)
    .fetch_all(&mut *admin)
    .await?;
    let work = rows
        .into_iter()
        .map(|(claim, version, lines)| {
            let lines = lines
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    let billed: rust_decimal::Decimal = l["billed"].as_str().unwrap_or("0").parse().unwrap_or_default();
                    let copay = if l["line_number"] == 1 { billed.min(rust_decimal::Decimal::ONE) } else { rust_decimal::Decimal::ZERO };
                    let adjustments = if copay.is_zero() {
                        json!([])
                    } else {
                        json!([{"group": "PR", "carc": "3", "amount": copay.to_string()}])
                    };
                    json!({
                        "line_number": l["line_number"], "allowed": billed.to_string(), "deductible": "0",
                        "copay": copay.to_string(), "coinsurance": "0", "paid": (billed - copay).to_string(),
                        "group_code": if copay.is_zero() { None } else { Some("PR") },
                        "carc": if copay.is_zero() { None } else { Some("3") },
                        "rarc": [], "adjustments": adjustments,
                    })
                })
                .collect::<Vec<_>>();
            Work {
                claim,
                version,
                lines: serde_json::Value::Array(lines),
            }
        })
        .collect();
    Ok((work, next.unwrap_or(after)))
}

/// Sends every decision from `writers` connections; returns the wall time,
/// the latencies and the refusals.
async fn run_turn(
    options: &PgConnectOptions,
    writers: usize,
    work: Vec<Work>,
    checked: bool,
) -> Result<(Duration, Vec<Duration>, usize)> {
    let queue = Arc::new(Mutex::new(work));
    let mut conns = Vec::new();
    for _ in 0..writers {
        conns.push(PgConnection::connect_with(options).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut conn in conns {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0usize;
            loop {
                let Some(w) = queue.lock().await.pop() else { break };
                let t = Instant::now();
                let result = if checked {
                    sqlx::query("SELECT claimdesk.claim_decide($1, $2, 'approve', $3, NULL, NULL, 'bench', NULL, NULL, NULL)")
                        .bind(w.claim)
                        .bind(w.version)
                        .bind(&w.lines)
                        .execute(&mut conn)
                        .await
                } else {
                    sqlx::query("SELECT claimdesk_bench.claim_decide_before($1, $2, 'approve', $3, 'bench')")
                        .bind(w.claim)
                        .bind(w.version)
                        .bind(&w.lines)
                        .execute(&mut conn)
                        .await
                };
                latencies.push(t.elapsed());
                if result.is_err() {
                    refused += 1;
                }
            }
            (latencies, refused)
        }));
    }
    let mut all = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (l, r) = t.await?;
        all.extend(l);
        refused += r;
    }
    let wall = started.elapsed();
    all.sort();
    Ok((wall, all, refused))
}

/// Runs `turns` pairs (before, with checks) of `decisions` each from `writers`.
pub async fn run(
    owner: &PgConnectOptions,
    writers: usize,
    decisions: i64,
    turns: usize,
) -> Result<()> {
    let mut admin = PgConnection::connect_with(owner).await?;
    sqlx::raw_sql(BEFORE).execute(&mut admin).await?;
    let (login, password) = temp_login(&mut admin, StaffRole::Adjudicator).await?;
    sqlx::raw_sql(&format!(
        "GRANT USAGE ON SCHEMA claimdesk_bench TO \"{login}\";
         GRANT EXECUTE ON FUNCTION claimdesk_bench.claim_decide_before(uuid, int, text, jsonb, text) TO \"{login}\";"
    ))
    .execute(&mut admin)
    .await?;
    let options = owner.clone().username(&login).password(&password);
    let (claims,): (i64,) = sqlx::query_as("SELECT count(*) FROM claimdesk.claim")
        .fetch_one(&mut admin)
        .await?;
    println!("## Decision benchmark\n");
    println!("Database: {claims} claims. {writers} writers, {decisions} approvals per turn (1.00 copay on line 1, booked to the accumulators).\n");
    println!("| Turn | claim_decide | Decisions | Decisions/s | p50 | p99 | max | Refused |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut rates = (Vec::new(), Vec::new());
    // A random place to start, so a second run does not meet the first's leftovers.
    let mut after = Uuid::new_v4();
    for turn in 1..=turns {
        for checked in [false, true] {
            let (work, next) = prepare(&mut admin, &login, decisions, after).await?;
            after = next;
            let n = work.len();
            sqlx::raw_sql("CHECKPOINT").execute(&mut admin).await?;
            let (wall, latencies, refused) = run_turn(&options, writers, work, checked).await?;
            let rate = n as f64 / wall.as_secs_f64();
            if checked {
                rates.1.push(rate)
            } else {
                rates.0.push(rate)
            }
            println!(
                "| {turn} | {} | {n} | {rate:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {refused} |",
                if checked {
                    "with central's checks (0020)"
                } else {
                    "before (0009)"
                },
                ms(percentile(&latencies, 0.50)),
                ms(percentile(&latencies, 0.99)),
                ms(latencies.last().copied().unwrap_or_default()),
            );
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "\nMean: before {:.0}/s, with checks {:.0}/s ({:+.1} %).",
        mean(&rates.0),
        mean(&rates.1),
        (mean(&rates.1) / mean(&rates.0) - 1.0) * 100.0
    );
    sqlx::query("UPDATE claimdesk.queue_entry SET lease_holder = NULL, lease_expires_at = NULL, leased_at = NULL WHERE lease_holder = $1")
        .bind(&login)
        .execute(&mut admin)
        .await?;
    sqlx::raw_sql("DROP SCHEMA claimdesk_bench CASCADE")
        .execute(&mut admin)
        .await?;
    drop_login(&mut admin, &login).await?;
    Ok(())
}
