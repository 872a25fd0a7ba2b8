//! Plain domain types and rules, with no I/O.

/// National Provider Identifiers.
pub mod npi {
    /// Whether `npi` is ten digits with a valid check digit: Luhn over the
    /// prefix 80840 and the first nine digits (CMS's NPI standard). The same
    /// rule guards the database (`claimdesk.npi_is_valid`).
    pub fn is_valid(npi: &str) -> bool {
        let bytes = npi.as_bytes();
        if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
            return false;
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
        (10 - sum % 10) % 10 == u32::from(bytes[9] - b'0')
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
        fn shape() {
            assert!(!is_valid("123456789"));
            assert!(!is_valid("12345678931"));
            assert!(!is_valid("12345678a3"));
            assert!(!is_valid(" 1234567893"));
            assert!(!is_valid(""));
        }
    }
}
