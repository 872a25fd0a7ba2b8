//! The 835 (005010X221A1) as the payment cycle writes it: every balancing
//! rule of the TR3 holds for random claims (paid, partly paid, denied and
//! reversed, with interest and a carried balance), the file reads back
//! with the same figures through intake's segment reader, and an advice
//! that does not balance is refused before it is written.

use chrono::NaiveDate;
use claimdesk_core::x12::remit::{
    self, Adjustment, ClaimPayment, ClaimStatus, Envelope, Imbalance, Payee, Payer, PaymentMethod,
    ProviderAdjustment, Remittance, ServicePayment,
};
use claimdesk_core::Secret;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A line decided as the engine does: allowed ≤ billed, the member's share
/// within the allowed, the rest paid; or denied whole with a CARC.
#[derive(Debug, Clone)]
struct LineCase {
    billed: i64,
    allowed_pct: i64,
    deductible_pct: i64,
    coinsurance_pct: i64,
    copay: i64,
    denied: Option<&'static str>,
    remark: Option<&'static str>,
}

fn line_case() -> impl Strategy<Value = LineCase> {
    (
        1..200_000i64,
        0..=100i64,
        0..=100i64,
        0..=30i64,
        0..5_000i64,
        prop::option::weighted(
            0.2,
            prop::sample::select(vec!["16", "50", "96", "197", "204"]),
        ),
        prop::option::weighted(0.3, prop::sample::select(vec!["N130", "M15", "N381"])),
    )
        .prop_map(
            |(billed, allowed_pct, deductible_pct, coinsurance_pct, copay, denied, remark)| {
                LineCase {
                    billed,
                    allowed_pct,
                    deductible_pct,
                    coinsurance_pct,
                    copay,
                    denied,
                    remark,
                }
            },
        )
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

fn service(n: usize, l: &LineCase) -> ServicePayment {
    let billed = cents(l.billed);
    let mut adjustments = vec![];
    let (paid, allowed) = match l.denied {
        Some(carc) => {
            adjustments.push(Adjustment {
                group: "CO".into(),
                carc: carc.into(),
                amount: billed,
            });
            (Decimal::ZERO, None)
        }
        None => {
            let allowed = l.billed * l.allowed_pct / 100;
            let deductible = allowed * l.deductible_pct / 100;
            let copay = l.copay.min(allowed - deductible);
            let coinsurance = (allowed - deductible - copay) * l.coinsurance_pct / 100;
            for (group, carc, amount) in [
                ("CO", "45", l.billed - allowed),
                ("PR", "1", deductible),
                ("PR", "2", coinsurance),
                ("PR", "3", copay),
            ] {
                if amount > 0 {
                    adjustments.push(Adjustment {
                        group: group.into(),
                        carc: carc.into(),
                        amount: cents(amount),
                    });
                }
            }
            (
                cents(allowed - deductible - copay - coinsurance),
                Some(cents(allowed)),
            )
        }
    };
    ServicePayment {
        procedure: ["99213", "80053", "29881"][n % 3].into(),
        modifiers: if n % 4 == 1 {
            vec!["25".into()]
        } else {
            vec![]
        },
        revenue_code: None,
        billed,
        paid,
        units: Decimal::ONE,
        date: Some(day("2026-11-02")),
        adjustments,
        control: Some((n + 1).to_string()),
        allowed,
        remarks: l.remark.map(|r| vec![r.to_string()]).unwrap_or_default(),
    }
}

fn claim(n: usize, lines: &[LineCase]) -> ClaimPayment {
    let lines: Vec<ServicePayment> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| service(i, l))
        .collect();
    let billed = lines.iter().map(|l| l.billed).sum();
    let paid: Decimal = lines.iter().map(|l| l.paid).sum();
    let pr = lines
        .iter()
        .flat_map(|l| &l.adjustments)
        .filter(|a| a.group == "PR")
        .map(|a| a.amount)
        .sum();
    ClaimPayment {
        patient_account: format!("ACCT-{n}"),
        status: if paid.is_zero() {
            ClaimStatus::Denied
        } else {
            ClaimStatus::Primary
        },
        billed,
        paid,
        patient_responsibility: pr,
        filing_indicator: "12".into(),
        payer_claim_number: format!("CLM-2026-{n:07}"),
        facility: Some("11".into()),
        frequency: Some("1".into()),
        adjustments: vec![],
        patient_last: Secret::new("TESTPERSON".into()),
        patient_first: Secret::new("ADA".into()),
        member_id: Secret::new(format!("M{n:08}")),
        service_from: Some(day("2026-11-02")),
        service_to: Some(day("2026-11-02")),
        received: Some(day("2026-11-05")),
        lines,
    }
}

fn payer() -> Payer {
    claimdesk_core::payments::PaymentOptions::new(chrono::Utc::now()).payer
}

/// What becomes of a claim in the advice.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Paid or denied.
    Decided,
    /// Reversed and paid again as corrected.
    Corrected,
    /// Reversed, its correction not yet decided.
    Reversed,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![
        Kind::Decided,
        Kind::Decided,
        Kind::Decided,
        Kind::Corrected,
        Kind::Reversed,
    ])
}

/// Claims, some reversed (with or without their correction), interest on
/// some, and a negative total carried forward as PLB FB.
fn remittance(claims: Vec<(Vec<LineCase>, Kind, i64)>) -> Remittance {
    let mut out = vec![];
    let mut plb = vec![];
    for (n, (lines, kind, interest)) in claims.iter().enumerate() {
        let c = claim(n, lines);
        if *kind != Kind::Decided {
            out.push(c.reversal());
        }
        if *kind == Kind::Reversed {
            continue;
        }
        if *interest > 0 && !c.paid.is_zero() {
            plb.push(ProviderAdjustment {
                reason: "L6".into(),
                reference: c.payer_claim_number.clone(),
                amount: -cents(*interest),
            });
        }
        out.push(c);
    }
    let mut r = Remittance {
        payer: payer(),
        payee: Payee {
            name: "HOPPER CLINIC".into(),
            npi: "1234567893".into(),
            tax_id: Secret::new("123456789".into()),
        },
        method: PaymentMethod::Check,
        amount: Decimal::ZERO,
        payment_date: day("2026-12-08"),
        trace: "000123".into(),
        production_date: day("2026-12-07"),
        claims: out,
        provider_adjustments: plb,
    };
    let total = r.computed_amount();
    if total < Decimal::ZERO {
        // More taken back than paid: the balance is carried to the next payment.
        r.provider_adjustments.push(ProviderAdjustment {
            reason: "FB".into(),
            reference: "CARRIED".into(),
            amount: total,
        });
    }
    r.amount = r.computed_amount();
    if r.amount.is_zero() {
        r.method = PaymentMethod::NonPayment;
    }
    r
}

fn envelope() -> Envelope {
    Envelope {
        sender: "CLAIMDESK".into(),
        receiver: "HOPPERCLINIC".into(),
        control: 42,
        date: day("2026-12-07"),
        time: "1830".into(),
        usage: 'P',
    }
}

fn written(r: &Remittance) -> String {
    let mut out = vec![];
    remit::write(&mut out, &envelope(), r).unwrap();
    String::from_utf8(out).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_balancing_rule_holds_and_the_file_reads_back_the_same(
        claims in prop::collection::vec(
            (prop::collection::vec(line_case(), 1..6), kind(), 0..2_000i64),
            0..12,
        )
    ) {
        let r = remittance(claims);
        prop_assert_eq!(remit::imbalances(&r), vec![]);
        let text = written(&r);
        let back = remit::read(text.as_bytes()).unwrap();
        prop_assert_eq!(back.len(), 1);
        let back = &back[0];
        prop_assert_eq!(remit::imbalances(back), vec![]);
        prop_assert_eq!(back, &r);
        // The envelope's counts are right: SE01 counts ST..SE.
        let st = text.lines().position(|l| l.starts_with("ST*")).unwrap();
        let se = text.lines().position(|l| l.starts_with("SE*")).unwrap();
        let declared: usize = text.lines().nth(se).unwrap().split('*').nth(1).unwrap().parse().unwrap();
        prop_assert_eq!(declared, se - st + 1);
    }

    #[test]
    fn an_advice_that_does_not_balance_is_refused(
        lines in prop::collection::vec(line_case(), 1..4),
        cent in 1..500i64,
        which in 0..4usize,
    ) {
        let mut r = remittance(vec![(lines, Kind::Decided, 0)]);
        let off = cents(cent);
        let expected = match which {
            0 => {
                r.claims[0].lines[0].paid += off;
                r.claims[0].paid += off;
                r.amount += off;
                if r.method == PaymentMethod::NonPayment { r.method = PaymentMethod::Check; }
                Imbalance::Line { claim: 0, line: 0, off_by: -off }
            }
            1 => {
                r.claims[0].billed += off;
                Imbalance::Claim { claim: 0, off_by: off }
            }
            2 => {
                r.claims[0].patient_responsibility += off;
                Imbalance::PatientResponsibility { claim: 0, off_by: off }
            }
            _ => {
                r.amount += off;
                if r.method == PaymentMethod::NonPayment { r.method = PaymentMethod::Check; }
                Imbalance::Payment { off_by: off }
            }
        };
        let found = remit::imbalances(&r);
        prop_assert!(found.contains(&expected), "{:?} not in {:?}", expected, found);
        let mut out = vec![];
        let refused = remit::write(&mut out, &envelope(), &r).unwrap_err();
        prop_assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
        prop_assert!(out.is_empty(), "nothing written");
    }
}

#[test]
fn a_reversal_and_its_correction_net_to_the_difference() {
    let original = claim(
        1,
        &[LineCase {
            billed: 20_000,
            allowed_pct: 80,
            deductible_pct: 0,
            coinsurance_pct: 20,
            copay: 0,
            denied: None,
            remark: None,
        }],
    );
    let mut corrected = claim(
        1,
        &[LineCase {
            billed: 20_000,
            allowed_pct: 90,
            deductible_pct: 0,
            coinsurance_pct: 20,
            copay: 0,
            denied: None,
            remark: None,
        }],
    );
    corrected.frequency = Some("7".into());
    let reversal = original.reversal();
    assert_eq!(reversal.status, ClaimStatus::Reversal);
    assert_eq!(reversal.paid, -original.paid);
    assert_eq!(
        reversal.lines[0].adjustments[0].amount,
        -original.lines[0].adjustments[0].amount
    );
    let mut r = remittance(vec![]);
    r.claims = vec![reversal, corrected.clone()];
    r.amount = r.computed_amount();
    r.method = PaymentMethod::Check;
    assert_eq!(remit::imbalances(&r), vec![]);
    // 80 % allowed paid 128.00; 90 % paid 144.00: the advice pays 16.00.
    assert_eq!(r.amount, Decimal::new(1600, 2));
    let text = written(&r);
    assert!(
        text.contains("CLP*ACCT-1*22*-200*-128*-32*12*CLM-2026-0000001*11*1~"),
        "{text}"
    );
    assert!(text.contains("CAS*CO*45*-40~"), "{text}");
    assert!(
        text.contains("BPR*I*16*C*CHK************20261208~"),
        "{text}"
    );
}

#[test]
fn segments_are_as_the_tr3_spells_them() {
    let mut r = remittance(vec![(
        vec![LineCase {
            billed: 15_000,
            allowed_pct: 60,
            deductible_pct: 50,
            coinsurance_pct: 0,
            copay: 2_000,
            denied: None,
            remark: Some("N130"),
        }],
        Kind::Decided,
        250,
    )]);
    r.claims[0].lines[0].modifiers = vec!["25".into()];
    let text = written(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ISA*00*          *00*          *ZZ*CLAIMDESK      *ZZ*HOPPERCLINIC   *261207*1830*^*00501*000000042*0*P*:~"), "{}", lines[0]);
    assert_eq!(
        lines[1],
        "GS*HP*CLAIMDESK*HOPPERCLINIC*20261207*1830*42*X*005010X221A1~"
    );
    assert_eq!(lines[2], "ST*835*0001*005010X221A1~");
    // 150.00 billed, 90.00 allowed: 45.00 deductible, 20.00 copay, 25.00 paid, plus 2.50 interest.
    assert!(
        text.contains("BPR*I*27.5*C*CHK************20261208~"),
        "{text}"
    );
    assert!(text.contains("TRN*1*000123*1987654321~"));
    assert!(text.contains("N1*PR*CLAIMDESK HEALTH PLAN~"));
    assert!(text.contains("N1*PE*HOPPER CLINIC*XX*1234567893~"));
    assert!(text.contains("REF*TJ*123456789~"));
    assert!(
        text.contains("CLP*ACCT-0*1*150*25*65*12*CLM-2026-0000000*11*1~"),
        "{text}"
    );
    assert!(text.contains("NM1*QC*1*TESTPERSON*ADA****MI*M00000000~"));
    assert!(text.contains("SVC*HC:99213:25*150*25**1~"), "{text}");
    assert!(text.contains("CAS*CO*45*60~\nCAS*PR*1*45**3*20~"), "{text}");
    assert!(text.contains("AMT*B6*90~"));
    assert!(text.contains("LQ*HE*N130~"));
    assert!(
        text.contains("PLB*1234567893*20261231*L6:CLM-2026-0000000*-2.5~"),
        "{text}"
    );
    assert!(lines[lines.len() - 2] == "GE*1*42~" && lines[lines.len() - 1] == "IEA*1*000000042~");
}

#[test]
fn an_advice_without_payment_says_so() {
    let r = remittance(vec![(
        vec![LineCase {
            billed: 5_000,
            allowed_pct: 100,
            deductible_pct: 0,
            coinsurance_pct: 0,
            copay: 0,
            denied: Some("204"),
            remark: None,
        }],
        Kind::Decided,
        0,
    )]);
    assert_eq!(r.method, PaymentMethod::NonPayment);
    let text = written(&r);
    assert!(
        text.contains("BPR*H*0*C*NON************20261208~"),
        "{text}"
    );
    assert!(text.contains("CLP*ACCT-0*4*50*0**12*"), "{text}");
    assert!(text.contains("CAS*CO*204*50~"));
}

#[test]
fn reading_back_refuses_what_is_not_an_835() {
    let text = written(&remittance(vec![]));
    let not835 = text.replace("ST*835*0001", "ST*837*0001");
    assert!(remit::read(not835.as_bytes()).is_err());
    let cut = &text[..text.find("SE*").unwrap()];
    assert!(remit::read(cut.as_bytes()).is_err());
    let bad_amount = text.replace("BPR*H*0*", "BPR*H*X1*");
    let err = remit::read(bad_amount.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("BPR") && err.contains("amount"), "{err}");
}
