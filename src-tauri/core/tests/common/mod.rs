//! A fresh, migrated database per test on the server `scripts/test` starts,
//! and login roles in each staff group.
#![allow(dead_code)]

pub mod x12;

use claimdesk_core::central::CentralError;
use claimdesk_core::{users, ErrorCode, Secret};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use uuid::Uuid;

/// The owner's options from `CLAIMDESK_TEST_PG_URL`.
pub fn owner_options() -> PgConnectOptions {
    std::env::var("CLAIMDESK_TEST_PG_URL")
        .expect("CLAIMDESK_TEST_PG_URL is not set: run ./scripts/test, which starts PostgreSQL")
        .parse::<PgConnectOptions>()
        .expect("CLAIMDESK_TEST_PG_URL is a postgres:// URL")
        .disable_statement_logging()
}

/// The stable code a database error maps to, as the app would see it.
pub fn error_code(error: sqlx::Error) -> ErrorCode {
    CentralError::from_sqlx(error, &Default::default()).code()
}

/// The staff groups, as their short names.
pub const ROLES: [&str; 4] = ["adjudicator", "credentialing", "supervisor", "admin"];

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    /// Connected as the cluster owner (superuser).
    pub owner: PgPool,
    logins: Vec<String>,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::migrated_to(i64::MAX).await
    }

    /// A database with the migrations up to `version` applied (to test one
    /// migration against data written before it).
    pub async fn migrated_to(version: i64) -> Self {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = owner_options().connect().await.unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let owner = PgPoolOptions::new()
            .max_connections(6)
            .connect_with(owner_options().database(&name))
            .await
            .unwrap();
        let mut migrator = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                claimdesk_core::central::MIGRATOR
                    .iter()
                    .filter(|m| m.version <= version)
                    .cloned()
                    .collect(),
            ),
            ..claimdesk_core::central::MIGRATOR
        };
        migrator.set_ignore_missing(true);
        migrator.run(&owner).await.unwrap();
        Self {
            name,
            owner,
            logins: Vec::new(),
        }
    }

    /// Applies the migrations not yet applied.
    pub async fn migrate(&self) {
        claimdesk_core::central::MIGRATOR
            .run(&self.owner)
            .await
            .unwrap();
    }

    pub fn options(&self) -> PgConnectOptions {
        owner_options().database(&self.name)
    }

    /// Creates a login in `claimdesk_<role>` and returns a pool connected as
    /// it. The first login of a role is `<db>_<role>`, later ones get a number.
    pub async fn login(&mut self, role: &str) -> PgPool {
        let base = format!("{}_{}", self.name, role);
        let taken = self.logins.iter().filter(|l| l.starts_with(&base)).count();
        let user = if taken == 0 {
            base
        } else {
            format!("{base}{taken}")
        };
        let password = "pw-for-tests";
        let mut conn = self.owner.acquire().await.unwrap();
        users::add_user(
            &mut conn,
            &user,
            &Secret::new(password.into()),
            role.parse().unwrap(),
            false,
        )
        .await
        .unwrap();
        drop(conn);
        self.logins.push(user.clone());
        PgPoolOptions::new()
            .max_connections(4)
            .connect_with(self.options().username(&user).password(password))
            .await
            .unwrap()
    }

    /// A single extra connection as the owner (for tests that interleave transactions).
    pub async fn owner_connection(&self) -> PgConnection {
        self.options().connect().await.unwrap()
    }

    /// Drops the database and its logins. Best effort: the cluster is scratch.
    pub async fn cleanup(self) {
        self.owner.close().await;
        let mut admin = owner_options().connect().await.unwrap();
        let _ = sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await;
        for user in self.logins {
            let _ = sqlx::raw_sql(&format!("DROP ROLE IF EXISTS \"{user}\""))
                .execute(&mut admin)
                .await;
        }
    }
}

/// Ids of a minimal but complete set of rows around one claim.
pub struct Fixture {
    pub plan: Uuid,
    pub subscriber: Uuid,
    pub child: Uuid,
    pub policy: Uuid,
    pub provider: Uuid,
    pub credential: Uuid,
    pub claim: Uuid,
}

/// Inserts a plan, a subscriber with a child, coverage, a provider with a
/// credential, and one open claim with two lines. Reference codes included.
pub async fn fixture(pool: &PgPool) -> Fixture {
    let f = Fixture {
        plan: Uuid::new_v4(),
        subscriber: Uuid::new_v4(),
        child: Uuid::new_v4(),
        policy: Uuid::new_v4(),
        provider: Uuid::new_v4(),
        credential: Uuid::new_v4(),
        claim: Uuid::new_v4(),
    };
    sqlx::raw_sql(
        "INSERT INTO claimdesk.benefit_category VALUES ('office_visit', 'Office visits') ON CONFLICT DO NOTHING;
         INSERT INTO claimdesk.cpt_code VALUES ('99213', 'Office visit, established, low', 'office_visit', false, false),
                                               ('99214', 'Office visit, established, moderate', 'office_visit', false, false)
             ON CONFLICT DO NOTHING;
         INSERT INTO claimdesk.icd10_code VALUES ('J06.9', 'Upper respiratory infection', false) ON CONFLICT DO NOTHING;
         INSERT INTO claimdesk.group_code VALUES ('CO', 'Contractual obligation'), ('PR', 'Patient responsibility')
             ON CONFLICT DO NOTHING;
         INSERT INTO claimdesk.carc VALUES ('45', 'Charge exceeds fee schedule', '{CO}', false),
                                           ('27', 'Expenses after coverage ended', '{CO}', true)
             ON CONFLICT DO NOTHING;
         INSERT INTO claimdesk.pend_reason VALUES ('records', 'Waiting for medical records', 14) ON CONFLICT DO NOTHING;",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.plan (id, plan_code, name, plan_type, deductible_individual, deductible_family,
             oop_max_individual, oop_max_family, coinsurance_in_network, coinsurance_out_of_network, effective_date)
         VALUES ($1, 'PPO-' || left($1::text, 8), 'Test PPO', 'PPO', 500, 1000, 3000, 6000, 20, 40, '2020-01-01')",
    )
    .bind(f.plan)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.member (id, member_number, subscriber_id, relationship, first_name, last_name,
             date_of_birth, gender, ssn_last4)
         VALUES ($1, 'M' || left($1::text, 8), $1, 'self', 'Ada', 'Testperson', '1980-02-03', 'F', '1234'),
                ($2, 'M' || left($2::text, 8), $1, 'child', 'Tim', 'Testperson', '2012-06-07', 'M', NULL)",
    )
    .bind(f.subscriber)
    .bind(f.child)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.policy (id, policy_number, subscriber_id, plan_id, coverage_level)
         VALUES ($1, 'P' || left($1::text, 8), $2, $3, 'family');
         ",
    )
    .bind(f.policy)
    .bind(f.subscriber)
    .bind(f.plan)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.coverage_period (id, policy_id, member_id, effective_date, termination_date, status)
         VALUES (gen_random_uuid(), $1, $2, '2024-01-01', NULL, 'active'),
                (gen_random_uuid(), $1, $3, '2024-01-01', '2024-06-30', 'active'),
                (gen_random_uuid(), $1, $3, '2024-09-01', '2025-12-31', 'active')",
    )
    .bind(f.policy)
    .bind(f.subscriber)
    .bind(f.child)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.provider (id, npi, entity_type, first_name, last_name, network_status)
         VALUES ($1, '1234567893', 'individual', 'Grace', 'Hopper', 'in_network')",
    )
    .bind(f.provider)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.provider_credential (id, provider_id, credential_type, credential_number, state)
         VALUES ($1, $2, 'medical_license', 'MD-1', 'GA')",
    )
    .bind(f.credential)
    .bind(f.provider)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.claim (id, claim_number, claim_type, member_id, policy_id, provider_id,
             service_from, service_to, received_at, prompt_pay_due, total_billed)
         VALUES ($1, claimdesk.next_claim_number('2025-03-01'), 'professional', $2, $3, $4,
                 '2025-02-20', '2025-02-20', '2025-03-01 09:00Z', '2025-03-31', 250.00)",
    )
    .bind(f.claim)
    .bind(f.subscriber)
    .bind(f.policy)
    .bind(f.provider)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.claim_diagnosis (id, claim_id, sequence, icd10_code) VALUES (gen_random_uuid(), $1, 1, 'J06.9');
         ",
    )
    .bind(f.claim)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO claimdesk.claim_line (id, claim_id, line_number, service_date, cpt_code, diagnosis_pointers, billed)
         VALUES (gen_random_uuid(), $1, 1, '2025-02-20', '99213', '{1}', 150.00),
                (gen_random_uuid(), $1, 2, '2025-02-20', '99214', '{1}', 100.00)",
    )
    .bind(f.claim)
    .execute(pool)
    .await
    .unwrap();
    f
}

/// A fresh database with the deterministic demo data.
pub async fn seeded(claims: u64, seed: u64, providers: u32) -> TestDb {
    let db = TestDb::new().await;
    let mut conn = db.owner_connection().await;
    claimdesk_core::seed::seed(
        &mut conn,
        &claimdesk_core::fieldcrypt::FieldKeys::generate(),
        &claimdesk_core::seed::SeedOptions {
            claims,
            seed,
            providers,
            // Late on the day: every claim of the day arrived before it.
            now: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 21, 23, 59, 59)
                .unwrap(),
        },
        |_, _| {},
    )
    .await
    .unwrap();
    db
}

/// Leases every open claim central would refuse to approve as billed (the
/// engine denies or holds it: not eligible, excluded provider, duplicate,
/// provider not credentialed) to nobody in particular for two hours, so
/// tests of the outbox and sync that approve whatever they check out are
/// not tests of the money rules.
pub async fn lease_away_unpayable(owner: &PgPool) {
    sqlx::query(
        "UPDATE claimdesk.queue_entry q
         SET lease_holder = 'not-payable', lease_expires_at = now() + interval '2 hours', leased_at = now()
         FROM claimdesk.claim c
         WHERE c.id = q.claim_id AND q.lease_holder IS NULL
           AND claimdesk.claim_blocking_edits(c, (claimdesk.claim_money_context(c)).is_eligible, NULL) <> '[]'",
    )
    .execute(owner)
    .await
    .unwrap();
}

/// The fixture with its provider's licence verified, so nothing holds its
/// claim (an unverified provider needs an override to be paid).
pub async fn credentialed_fixture(pool: &PgPool) -> Fixture {
    let f = fixture(pool).await;
    sqlx::query(
        "UPDATE claimdesk.provider_credential SET status = 'verified', verification_source = 'state board',
                verified_by = 'test', verified_at = now() WHERE id = $1",
    )
    .bind(f.credential)
    .execute(pool)
    .await
    .unwrap();
    f
}
