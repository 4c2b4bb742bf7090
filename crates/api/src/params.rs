//! Query parameters, parsed into store queries with errors that name them.

use portwatch_aggregate::SeriesClass;
use portwatch_core::{BucketWidth, PortKey, Proto, Timestamp};
use portwatch_store::TimeRange;
use serde::Deserialize;

use crate::ApiError;

fn bad(msg: String) -> ApiError {
    ApiError::BadRequest(msg)
}

/// `since` and `until` (RFC 3339 or YYYY-MM-DD, UTC): `since` rounds down
/// and `until` up to whole minutes, the store's grain.
#[derive(Debug, Default, Deserialize)]
pub struct RangeParams {
    pub since: Option<String>,
    pub until: Option<String>,
}

impl RangeParams {
    pub fn range(&self) -> Result<TimeRange, ApiError> {
        let parse = |name: &str, s: &Option<String>, up: bool| -> Result<_, ApiError> {
            let Some(s) = s else { return Ok(None) };
            let t = Timestamp::parse_rfc3339(s)
                .ok_or_else(|| bad(format!("{name}={s:?}: expected RFC 3339 or YYYY-MM-DD")))?;
            let minute = t.bucket_start(BucketWidth::Minute);
            let up = up && Timestamp::from_secs(minute) != t;
            Ok(Some(Timestamp::from_secs(minute + if up { 60 } else { 0 })))
        };
        let range = TimeRange {
            from: parse("since", &self.since, false)?,
            to: parse("until", &self.until, true)?,
        };
        if let (Some(a), Some(b)) = (range.from, range.to)
            && a > b
        {
            return Err(bad(format!("since {a} is after until {b}")));
        }
        Ok(range)
    }
}

pub fn class(s: Option<&str>) -> Result<SeriesClass, ApiError> {
    match s.unwrap_or("probe") {
        "probe" => Ok(SeriesClass::Probe),
        "backscatter" => Ok(SeriesClass::Backscatter),
        other => Err(bad(format!(
            "class={other:?}: expected probe or backscatter"
        ))),
    }
}

pub fn proto(s: &str) -> Result<Proto, ApiError> {
    s.parse::<Proto>()
        .map_err(|e| bad(format!("proto={s:?}: {e}")))
}

pub fn port_key(s: &str) -> Result<PortKey, ApiError> {
    s.parse::<PortKey>()
        .map_err(|e| bad(format!("port={s:?}: {e}")))
}

pub fn bucket(s: Option<&str>) -> Result<BucketWidth, ApiError> {
    let s = s.unwrap_or("1m");
    s.parse::<BucketWidth>()
        .map_err(|e| bad(format!("bucket={s:?}: {e}")))
}

/// Limits are capped so that one request cannot ask for the whole store.
pub fn limit(v: Option<usize>, default: usize) -> Result<usize, ApiError> {
    const MAX: usize = 10_000;
    match v.unwrap_or(default) {
        n if n > MAX => Err(bad(format!("limit={n}: at most {MAX}"))),
        n => Ok(n),
    }
}
