//! Plain domain types and rules, with no I/O.

/// National Provider Identifiers.
pub mod npi {
    /// Why an NPI is not one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
    pub enum NpiProblem {
        /// Not exactly ten digits.
        #[error("An NPI is exactly 10 digits.")]
        NotTenDigits,
        /// The check digit does not match.
        #[error("This NPI's check digit does not match: a digit is mistyped or two are swapped.")]
        CheckDigit,
    }

    /// Whether `npi` is ten digits with a valid check digit: Luhn over the
    /// prefix 80840 and the first nine digits (CMS's NPI standard). The same
    /// rule guards the database (`claimdesk.npi_is_valid`).
    pub fn is_valid(npi: &str) -> bool {
        check(npi).is_ok()
    }

    /// Like [`is_valid`], saying what is wrong: for NPIs typed or imported.
    pub fn check(npi: &str) -> Result<(), NpiProblem> {
        let bytes = npi.as_bytes();
        if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(NpiProblem::NotTenDigits);
        }
        let payload = b"80840".iter().chain(&bytes[..9]);
        // Double every second digit counting from the right of the payload.
        let sum: u32 = payload
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 0 {
                    let dd = d * 2;
                    if dd > 9 {
                        dd - 9
                    } else {
                        dd
                    }
                } else {
                    d
                }
            })
            .sum();
        if (10 - sum % 10) % 10 == u32::from(bytes[9] - b'0') {
            Ok(())
        } else {
            Err(NpiProblem::CheckDigit)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::is_valid;

        #[test]
        fn check_digit() {
            assert!(is_valid("1234567893"));
            assert!(!is_valid("1234567891"));
            // Real NPIs from the recorded NPPES answers in shared/fixtures.
            assert!(is_valid("1568946812"));
        }

        #[test]
        fn problems_are_named() {
            use super::{check, NpiProblem};
            assert_eq!(check("1720377294"), Ok(()));
            // Two neighbouring digits swapped.
            assert_eq!(check("1243567893"), Err(NpiProblem::CheckDigit));
            assert_eq!(check("12345G7893"), Err(NpiProblem::NotTenDigits));
        }

        #[test]
        fn shape() {
            assert!(!is_valid("123456789"));
            assert!(!is_valid("12345678931"));
            assert!(!is_valid("12345678a3"));
            assert!(!is_valid(" 1234567893"));
            assert!(!is_valid(""));
        }
    }
}
