//! Phone numbers, read with the `phonenumber` crate and stored as E.164.

use crate::platform::error::{AppError, AppResult};

/// Reads `raw` as a phone number, using `region` (ISO 3166) for numbers written without a
/// country code; a wrong number is a 422 naming `field`.
pub fn normalize(field: &str, raw: &str, region: &str) -> AppResult<String> {
    let region = region
        .trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .ok();
    phonenumber::parse(region, raw.trim())
        .ok()
        .filter(phonenumber::is_valid)
        .map(|n| n.format().mode(phonenumber::Mode::E164).to_string())
        .ok_or_else(|| AppError::validation(field, "not a valid phone number"))
}

/// An E.164 number as people write it internationally, the country code set apart by a space
/// (`+91 98450 12345`, `+1 415-555-2671`): the contact form splits the code off at that space.
pub fn international(e164: &str) -> String {
    phonenumber::parse(None, e164)
        .map(|n| {
            n.format()
                .mode(phonenumber::Mode::International)
                .to_string()
        })
        .unwrap_or_else(|_| e164.to_string())
}

#[cfg(test)]
mod tests {
    use super::{international, normalize};

    #[test]
    fn international_numbers_set_the_country_code_apart() {
        assert_eq!(international("+919845012345"), "+91 98450 12345");
        assert_eq!(international("+14155552671"), "+1 415-555-2671");
        assert_eq!(international("not a number"), "not a number");
    }

    #[test]
    fn numbers_become_e164() {
        assert_eq!(
            normalize("p", "06 12 34 56 78", "FR").unwrap(),
            "+33612345678"
        );
        assert_eq!(
            normalize("p", "+1 (415) 555-2671", "GB").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            normalize("p", "(415) 555-2671", "us").unwrap(),
            "+14155552671"
        );
        assert!(normalize("p", "12", "US").is_err());
    }
}
