//! UTC formatting shared by charts and documents.

use portwatch_core::Timestamp;

/// `2007-08-22T14:00:00Z`.
pub(crate) fn rfc3339(secs: i64) -> String {
    Timestamp::from_secs(secs).to_rfc3339()
}

/// `2007-08-22T14:00:00.000Z`: STIX wants millisecond precision on
/// `created` and `modified`.
pub(crate) fn stix(secs: i64) -> String {
    let s = rfc3339(secs);
    format!("{}.000Z", &s[..s.len() - 1])
}

/// `2007-08-22 14:00 UTC`, for people.
pub(crate) fn human(secs: i64) -> String {
    let s = rfc3339(secs);
    format!("{} {} UTC", &s[..10], &s[11..16])
}

/// `2007-08-22`.
pub(crate) fn date(secs: i64) -> String {
    rfc3339(secs)[..10].to_string()
}

/// `14:00`.
pub(crate) fn hour_minute(secs: i64) -> String {
    rfc3339(secs)[11..16].to_string()
}

/// Serde helper: Unix seconds as RFC 3339.
pub(crate) mod serde_rfc3339 {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*secs))
    }
}

/// Serde helper: optional Unix seconds as RFC 3339 or null.
pub(crate) mod serde_rfc3339_opt {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(secs: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match secs {
            Some(v) => s.serialize_str(&super::rfc3339(*v)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        let t = 1_187_791_200; // 2007-08-22 14:00 UTC
        assert_eq!(super::rfc3339(t), "2007-08-22T14:00:00Z");
        assert_eq!(super::stix(t), "2007-08-22T14:00:00.000Z");
        assert_eq!(super::human(t), "2007-08-22 14:00 UTC");
        assert_eq!(super::date(t), "2007-08-22");
        assert_eq!(super::hour_minute(t), "14:00");
    }
}
