//! How late a claim is against its prompt-pay due date, and what lateness
//! would cost. Pure: today is passed in.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// Within this many days of the due date a claim shows as due soon (the
/// "due in 3 days" view).
pub const DUE_SOON_DAYS: i64 = 3;

/// Simple annual interest owed on a claim paid after its prompt-pay date.
/// Most state prompt-pay statutes set 10–18 % a year; 12 % is a common
/// middle and what the queue shows until a payer's rule says otherwise.
pub const PROMPT_PAY_INTEREST_PERCENT: Decimal = Decimal::from_parts(12, 0, 0, false, 0);

/// Where a claim stands against its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AgingBand {
    /// More than [`DUE_SOON_DAYS`] to go.
    OnTime,
    /// Due within [`DUE_SOON_DAYS`] (today included).
    DueSoon,
    /// Past its due date: interest is accruing.
    Overdue,
}

/// Days left (negative when overdue) and the band.
pub fn band(due: NaiveDate, today: NaiveDate) -> (i64, AgingBand) {
    let days = (due - today).num_days();
    let band = if days < 0 {
        AgingBand::Overdue
    } else if days <= DUE_SOON_DAYS {
        AgingBand::DueSoon
    } else {
        AgingBand::OnTime
    };
    (days, band)
}

/// Interest exposure: what paying `amount` today would add, at
/// [`PROMPT_PAY_INTEREST_PERCENT`] simple interest per day past `due`.
/// The queue applies it to the billed amount, the ceiling of what could be
/// paid, so the figure is an upper bound. Rounded to the cent.
pub fn interest_exposure(amount: Decimal, due: NaiveDate, today: NaiveDate) -> Decimal {
    let late = (today - due).num_days();
    if late <= 0 {
        return Decimal::ZERO;
    }
    (amount * PROMPT_PAY_INTEREST_PERCENT / Decimal::ONE_HUNDRED * Decimal::from(late)
        / Decimal::from(365))
    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn bands_follow_the_due_date() {
        let today = d("2026-03-10");
        assert_eq!(band(d("2026-03-14"), today), (4, AgingBand::OnTime));
        assert_eq!(band(d("2026-03-13"), today), (3, AgingBand::DueSoon));
        assert_eq!(band(d("2026-03-10"), today), (0, AgingBand::DueSoon));
        assert_eq!(band(d("2026-03-09"), today), (-1, AgingBand::Overdue));
    }

    #[test]
    fn interest_accrues_per_day_late_only() {
        let today = d("2026-03-10");
        assert_eq!(
            interest_exposure("1000.00".parse().unwrap(), d("2026-03-10"), today),
            Decimal::ZERO
        );
        assert_eq!(
            interest_exposure("1000.00".parse().unwrap(), d("2026-04-01"), today),
            Decimal::ZERO
        );
        // 1,000 × 12 % × 30 / 365 = 9.863… → 9.86
        assert_eq!(
            interest_exposure("1000.00".parse().unwrap(), d("2026-02-08"), today),
            "9.86".parse::<Decimal>().unwrap()
        );
        // A year late: exactly 12 %.
        assert_eq!(
            interest_exposure("250.00".parse().unwrap(), d("2025-03-10"), today),
            "30.00".parse::<Decimal>().unwrap()
        );
    }
}
