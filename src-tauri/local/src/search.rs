//! Search over the PHI of the cached queue (claim numbers, member names,
//! patient account numbers). The cache holds those only as ciphertext, so
//! the index is built in memory after unlock and never written anywhere;
//! its text is zeroized when it is dropped.

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::cache::{Cache, CacheError, QueueClaim};

/// An in-memory index of the cached queue, in queue order.
pub struct QueueIndex {
    entries: Vec<(Uuid, Zeroizing<String>)>,
}

impl std::fmt::Debug for QueueIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QueueIndex({} claims, ***)", self.entries.len())
    }
}

fn haystack(c: &QueueClaim) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(64));
    text.push_str(&c.phi.claim_number.to_lowercase());
    text.push('\u{1f}');
    text.push_str(&c.phi.member_name.to_lowercase());
    if let Some(account) = &c.phi.patient_account_number {
        text.push('\u{1f}');
        text.push_str(&account.to_lowercase());
    }
    text
}

impl QueueIndex {
    /// Decrypts the cached queue and indexes it.
    pub async fn build(cache: &Cache) -> Result<Self, CacheError> {
        let claims = cache.queue(i64::MAX).await?;
        Ok(Self::from_claims(&claims))
    }

    /// Indexes claims already decrypted.
    pub fn from_claims(claims: &[QueueClaim]) -> Self {
        Self {
            entries: claims.iter().map(|c| (c.id, haystack(c))).collect(),
        }
    }

    /// Claims whose number, member name or patient account contains every
    /// word of `query` (case-insensitive), in queue order, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Uuid> {
        let query = Zeroizing::new(query.to_lowercase());
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return Vec::new();
        }
        self.entries
            .iter()
            .filter(|(_, text)| words.iter().all(|w| text.contains(w)))
            .take(limit)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Claims indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The index of the cached queue while the person is signed in and the
/// window unlocked: built on the first search, built again when a sync has
/// changed the queue since, forgotten when the window locks.
#[derive(Debug, Default)]
pub struct LiveQueueIndex {
    built: tokio::sync::Mutex<Option<(Option<chrono::DateTime<chrono::Utc>>, QueueIndex)>>,
}

impl LiveQueueIndex {
    /// Claims matching `query` in queue order, the index current as of the
    /// queue's last sync `synced_at`.
    pub async fn search(
        &self,
        cache: &Cache,
        synced_at: Option<chrono::DateTime<chrono::Utc>>,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Uuid>, CacheError> {
        let mut built = self.built.lock().await;
        if built.as_ref().is_none_or(|(at, _)| *at != synced_at) {
            *built = Some((synced_at, QueueIndex::build(cache).await?));
        }
        Ok(built
            .as_ref()
            .map(|(_, index)| index.search(query, limit))
            .unwrap_or_default())
    }

    /// Drops the index and its text.
    pub async fn forget(&self) {
        *self.built.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::ClaimPhi;
    use chrono::{NaiveDate, Utc};

    fn claim(number: &str, name: &str, account: Option<&str>) -> QueueClaim {
        QueueClaim {
            id: Uuid::new_v4(),
            claim_type: "professional".into(),
            status: "received".into(),
            priority: "normal".into(),
            priority_rank: 3,
            prompt_pay_due: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            received_at: Utc::now(),
            total_billed: rust_decimal::Decimal::new(10000, 2),
            version: 1,
            duplicate_suspect: false,
            risk_severity: None,
            provider_id: Uuid::new_v4(),
            member_id: Uuid::new_v4(),
            phi: ClaimPhi {
                claim_number: number.into(),
                patient_account_number: account.map(Into::into),
                member_name: name.into(),
                service_from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                service_to: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                priority_reasons: serde_json::json!([]),
                pend_reason: None,
                pend_until: None,
            },
        }
    }

    #[test]
    fn finds_by_any_identifier_with_every_word() {
        let claims = vec![
            claim("CLM-20261101-000001", "Garcia, Maria", Some("PA-7781")),
            claim("CLM-20261101-000002", "Garcia, Luis", None),
            claim("CLM-20261102-000003", "Okafor, Maria", None),
        ];
        let index = QueueIndex::from_claims(&claims);
        assert_eq!(index.search("garcia", 10), vec![claims[0].id, claims[1].id]);
        assert_eq!(index.search("GARCIA maria", 10), vec![claims[0].id]);
        assert_eq!(index.search("000003", 10), vec![claims[2].id]);
        assert_eq!(index.search("pa-7781", 10), vec![claims[0].id]);
        assert_eq!(index.search("garcia", 1), vec![claims[0].id], "limit");
        assert!(index.search("   ", 10).is_empty());
        assert!(index.search("nobody", 10).is_empty());
        assert!(!format!("{index:?}").contains("garcia"), "masked in Debug");
    }
}
