//! The code lists the decision panel picks from (group codes, CARCs, RARCs,
//! pend reasons), kept in the cache so the pickers work offline. They are
//! public code lists, so they are stored in plaintext.

use claimdesk_core::decision::CodeRules;
use serde::Serialize;
use sqlx::PgPool;

use crate::cache::{Cache, CacheError};

/// A code and its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Code {
    /// The code.
    pub code: String,
    /// Its description.
    pub description: String,
}

/// A claim adjustment reason code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Carc {
    /// The code (e.g. 45, 97, 204).
    pub code: String,
    /// Its description.
    pub description: String,
    /// Group codes it is reported with; pickers offer only these pairs.
    pub group_codes: Vec<String>,
    /// Offered as a reason to deny a claim.
    pub is_denial: bool,
}

/// A remittance advice remark code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Rarc {
    /// The code (e.g. N130, M15).
    pub code: String,
    /// Its description.
    pub description: String,
    /// Reasons (CARCs) it explains; pickers offer it only beside these.
    pub carcs: Vec<String>,
}

/// A reason to pend, with how long a pend usually waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PendReason {
    /// The code.
    pub code: String,
    /// Its description.
    pub description: String,
    /// Days the claim waits before it returns to the queue.
    pub default_days: u16,
}

/// Every list the decision panel needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct CodeLists {
    /// CO, PR, OA, …
    pub group_codes: Vec<Code>,
    /// Adjustment reasons.
    pub carcs: Vec<Carc>,
    /// Remittance remarks.
    pub rarcs: Vec<Rarc>,
    /// Pend reasons.
    pub pend_reasons: Vec<PendReason>,
}

/// Copies central's lists into the cache, replacing what was there.
pub async fn refresh(cache: &Cache, central: &PgPool) -> Result<(), crate::sync::SyncError> {
    type Row = (String, String, String, Option<String>, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT 'group_code', code, description, NULL, false FROM claimdesk.group_code
         UNION ALL SELECT 'carc', code, description, array_to_string(group_codes, ','), is_denial FROM claimdesk.carc
         UNION ALL SELECT 'rarc', code, description, array_to_string(carcs, ','), false FROM claimdesk.rarc
         UNION ALL SELECT 'pend_reason', code, description, default_days::text, false FROM claimdesk.pend_reason",
    )
    .fetch_all(central)
    .await?;
    let mut tx = cache.db().begin().await.map_err(CacheError::from)?;
    sqlx::query("DELETE FROM code_list")
        .execute(&mut *tx)
        .await
        .map_err(CacheError::from)?;
    for (kind, code, description, extra, is_denial) in rows {
        sqlx::query("INSERT INTO code_list (kind, code, description, extra, is_denial) VALUES (?, ?, ?, ?, ?)")
            .bind(kind)
            .bind(code)
            .bind(description)
            .bind(extra)
            .bind(is_denial)
            .execute(&mut *tx)
            .await
            .map_err(CacheError::from)?;
    }
    tx.commit().await.map_err(CacheError::from)?;
    Ok(())
}

/// The lists as last copied (empty before the first sync).
pub async fn load(cache: &Cache) -> Result<CodeLists, CacheError> {
    let rows: Vec<(String, String, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT kind, code, description, extra, is_denial FROM code_list
         ORDER BY kind, length(code), code",
    )
    .fetch_all(cache.db())
    .await?;
    let mut lists = CodeLists::default();
    for (kind, code, description, extra, is_denial) in rows {
        match kind.as_str() {
            "group_code" => lists.group_codes.push(Code { code, description }),
            "rarc" => lists.rarcs.push(Rarc {
                code,
                description,
                carcs: split_list(extra),
            }),
            "carc" => lists.carcs.push(Carc {
                code,
                description,
                group_codes: split_list(extra),
                is_denial,
            }),
            "pend_reason" => lists.pend_reasons.push(PendReason {
                code,
                description,
                default_days: extra.and_then(|d| d.parse().ok()).unwrap_or(14),
            }),
            _ => {}
        }
    }
    Ok(lists)
}

/// A comma-joined list as stored in `code_list.extra`.
fn split_list(extra: Option<String>) -> Vec<String> {
    extra
        .unwrap_or_default()
        .split(',')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

impl CodeRules for CodeLists {
    fn groups_for(&self, carc: &str) -> Option<Vec<String>> {
        self.carcs
            .iter()
            .find(|c| c.code == carc)
            .map(|c| c.group_codes.clone())
    }

    fn reasons_explained_by(&self, rarc: &str) -> Option<Vec<String>> {
        self.rarcs
            .iter()
            .find(|r| r.code == rarc)
            .map(|r| r.carcs.clone())
    }
}
