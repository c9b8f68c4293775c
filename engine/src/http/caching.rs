//! What caches may keep, decided from the origin's intent.
//!
//! - Errors: transient failures (including an origin's 408, 425 and 429)
//!   are `no-store`; an error the origin marked `no-store` stays so; one it
//!   marked `private`, or that answers a request carrying `Authorization`
//!   or `Cookie`, is at most `private`; the rest are `public` with the
//!   backoff age (never longer than the origin's own `max-age`).
//! - Successes keep the origin's `Cache-Control`/`Expires` unless the
//!   location's `image_cache_control` says otherwise, and even then a
//!   private, uncacheable or credentialed response is left as it is.

use crate::ErrorKind;

/// The directives of a `Cache-Control` header (lines joined with `,`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// Every directive as written: lower-cased name, optional value
    /// without quotes.
    directives: Vec<(String, Option<String>)>,
}

impl CacheControl {
    pub fn parse(value: &str) -> CacheControl {
        let directives = value
            .split(',')
            .filter_map(|item| {
                let item = item.trim();
                if item.is_empty() {
                    return None;
                }
                let (name, value) = match item.split_once('=') {
                    Some((name, value)) => (name, Some(value.trim().trim_matches('"').to_owned())),
                    None => (item, None),
                };
                Some((name.trim().to_ascii_lowercase(), value))
            })
            .collect();
        CacheControl { directives }
    }

    fn has(&self, name: &str) -> bool {
        self.directives.iter().any(|(n, _)| n == name)
    }

    /// A delta-seconds directive; a malformed value counts as 0 (RFC 9111
    /// §1.2.2: treat invalid freshness as stale).
    fn seconds(&self, name: &str) -> Option<u32> {
        self.directives
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| {
                v.as_deref()
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(0, |v| v.parse::<u32>().unwrap_or(u32::MAX))
            })
    }

    pub fn no_store(&self) -> bool {
        self.has("no-store")
    }

    /// `private`, with or without a list of fields.
    pub fn private(&self) -> bool {
        self.has("private")
    }

    pub fn public(&self) -> bool {
        self.has("public")
    }

    /// How long a shared cache may keep the response, if the header says.
    pub fn shared_max_age(&self) -> Option<u32> {
        self.seconds("s-maxage").or_else(|| self.seconds("max-age"))
    }

    /// Whether the origin forbids or restricts storing it at all.
    fn restricts(&self) -> bool {
        self.no_store() || self.private() || self.has("no-cache")
    }

    /// The header without its freshness directives, plus `max-age=age`.
    fn with_max_age(&self, age: u32) -> String {
        let mut parts: Vec<String> = self
            .directives
            .iter()
            .filter(|(n, _)| n != "max-age" && n != "s-maxage")
            .map(|(n, v)| match v {
                Some(v) => format!("{n}={v}"),
                None => n.clone(),
            })
            .collect();
        parts.push(format!("max-age={age}"));
        parts.join(", ")
    }
}

/// Who may keep an error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorScope {
    /// Nobody: the next try may succeed, or the origin said so.
    NoStore,
    /// Only the client's own cache.
    Private,
    /// Any cache, for the backoff age.
    Public,
}

/// The scope of an error. `origin` is the origin's `Cache-Control` for
/// errors the origin answered (empty otherwise); `credentials` is whether
/// the request carried `Authorization` or `Cookie`.
pub fn error_scope(kind: ErrorKind, origin: &CacheControl, credentials: bool) -> ErrorScope {
    if kind.is_transient() || origin.no_store() {
        ErrorScope::NoStore
    } else if origin.private() || credentials {
        ErrorScope::Private
    } else {
        ErrorScope::Public
    }
}

/// The error's `Cache-Control` value. `backoff_age` is the age the backoff
/// counter gives this failure (only consulted when the scope allows
/// caching); an origin's shorter `max-age` wins.
pub fn error_cache_control(scope: ErrorScope, backoff_age: u32, origin: &CacheControl) -> String {
    let age = origin
        .shared_max_age()
        .map_or(backoff_age, |origin_age| origin_age.min(backoff_age));
    match scope {
        ErrorScope::NoStore => "no-store".into(),
        ErrorScope::Private => format!("private, max-age={age}"),
        ErrorScope::Public => format!("public, max-age={age}"),
    }
}

/// `image_cache_control`: what a transformed success says about caching.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SuccessPolicy {
    /// The origin's `Cache-Control` and `Expires` as they are (`keep`).
    #[default]
    Keep,
    /// At least this many seconds when the origin allows caching
    /// (`min=1h`): Cloudflare's "one hour or longer if the origin's
    /// Cache-Control allows".
    AtLeast(u32),
    /// This `Cache-Control` value when the origin allows caching.
    Set(String),
}

/// What to do with a success response's caching headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuccessHeaders {
    Keep,
    /// Set `Cache-Control` to this and remove `Expires`.
    Replace(String),
}

impl SuccessPolicy {
    /// The directive's argument: `keep`, `min=TIME` (`90`, `90s`, `30m`,
    /// `1h`, `7d`), or a `Cache-Control` value. The error is for the
    /// configuration log.
    pub fn parse(arg: &str) -> Result<SuccessPolicy, String> {
        let arg = arg.trim();
        if arg.eq_ignore_ascii_case("keep") {
            return Ok(SuccessPolicy::Keep);
        }
        if let Some(time) = arg.strip_prefix("min=") {
            return duration(time)
                .map(SuccessPolicy::AtLeast)
                .ok_or_else(|| format!("invalid time \"{time}\" in \"{arg}\""));
        }
        if arg.is_empty() || arg.chars().any(|c| c.is_control()) {
            return Err(format!(
                "invalid Cache-Control value \"{}\"",
                arg.escape_debug()
            ));
        }
        Ok(SuccessPolicy::Set(arg.to_owned()))
    }

    /// The decision for one response: `origin` is its `Cache-Control`,
    /// `expires_in` the seconds its `Expires` is after its `Date` (if it
    /// has one), `credentials` as for [`error_scope`].
    pub fn decide(
        &self,
        origin: &CacheControl,
        expires_in: Option<i64>,
        credentials: bool,
    ) -> SuccessHeaders {
        // Never loosen what the origin restricted, nor share what a user's
        // credentials fetched unless the origin said it is public.
        if origin.restricts() || (credentials && !origin.public()) {
            return SuccessHeaders::Keep;
        }
        match self {
            SuccessPolicy::Keep => SuccessHeaders::Keep,
            SuccessPolicy::Set(value) => SuccessHeaders::Replace(value.clone()),
            SuccessPolicy::AtLeast(min) => {
                let freshness = origin.shared_max_age().map(i64::from).or(expires_in);
                match freshness {
                    // Stale at once: the origin wants every use revalidated.
                    Some(f) if f <= 0 => SuccessHeaders::Keep,
                    Some(f) if f >= i64::from(*min) => SuccessHeaders::Keep,
                    _ => SuccessHeaders::Replace(origin.with_max_age(*min)),
                }
            }
        }
    }
}

/// `90`, `90s`, `30m`, `1h`, `7d` in seconds.
fn duration(text: &str) -> Option<u32> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u32 = digits.parse().ok()?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(value: &str) -> CacheControl {
        CacheControl::parse(value)
    }

    #[test]
    fn cache_control_directives() {
        let c = cc("Public, MAX-AGE=\"60\", s-maxage=120,  ,no-transform");
        assert!(c.public() && !c.private() && !c.no_store());
        assert_eq!(c.shared_max_age(), Some(120));
        assert_eq!(cc("max-age=60").shared_max_age(), Some(60));
        assert_eq!(cc("max-age=abc").shared_max_age(), Some(0));
        assert_eq!(cc("max-age=-1").shared_max_age(), Some(0));
        assert_eq!(cc("max-age=99999999999").shared_max_age(), Some(u32::MAX));
        assert_eq!(cc("").shared_max_age(), None);
        assert!(cc("private=\"set-cookie\"").private());
    }

    #[test]
    fn transient_errors_are_never_stored() {
        for status in [408, 425, 429] {
            let kind = ErrorKind::OriginClientError(status);
            assert!(kind.is_transient(), "{status}");
            let scope = error_scope(kind, &cc("public, max-age=600"), false);
            assert_eq!(scope, ErrorScope::NoStore, "{status}");
            assert_eq!(error_cache_control(scope, 60, &cc("")), "no-store");
        }
        let scope = error_scope(ErrorKind::OriginServerError, &cc(""), false);
        assert_eq!(scope, ErrorScope::NoStore);
    }

    #[test]
    fn private_or_credentialed_errors_never_become_public() {
        let forbidden = ErrorKind::OriginClientError(403);
        let private = cc("private");
        assert_eq!(error_scope(forbidden, &private, false), ErrorScope::Private);
        assert_eq!(
            error_cache_control(ErrorScope::Private, 60, &private),
            "private, max-age=60"
        );
        assert_eq!(
            error_scope(forbidden, &cc("no-store, private"), false),
            ErrorScope::NoStore
        );
        assert_eq!(
            error_scope(forbidden, &cc("public"), true),
            ErrorScope::Private
        );
        assert_eq!(
            error_scope(ErrorKind::InvalidOption, &cc(""), true),
            ErrorScope::Private
        );
        assert_eq!(
            error_scope(ErrorKind::OriginNotFound, &cc(""), false),
            ErrorScope::Public
        );
    }

    #[test]
    fn an_origins_shorter_max_age_wins_over_the_backoff() {
        let origin = cc("max-age=30");
        assert_eq!(
            error_cache_control(ErrorScope::Public, 60, &origin),
            "public, max-age=30"
        );
        assert_eq!(
            error_cache_control(ErrorScope::Public, 20, &origin),
            "public, max-age=20"
        );
        assert_eq!(
            error_cache_control(ErrorScope::Public, 60, &cc("")),
            "public, max-age=60"
        );
    }

    #[test]
    fn success_policy_parsing() {
        assert_eq!(SuccessPolicy::parse("keep"), Ok(SuccessPolicy::Keep));
        assert_eq!(
            SuccessPolicy::parse("min=1h"),
            Ok(SuccessPolicy::AtLeast(3600))
        );
        assert_eq!(
            SuccessPolicy::parse("min=90"),
            Ok(SuccessPolicy::AtLeast(90))
        );
        assert_eq!(
            SuccessPolicy::parse("min=2d"),
            Ok(SuccessPolicy::AtLeast(172_800))
        );
        assert_eq!(
            SuccessPolicy::parse("min=30m"),
            Ok(SuccessPolicy::AtLeast(1800))
        );
        for bad in [
            "min=",
            "min=1y",
            "min=h",
            "min=-5",
            "min=99999999d",
            "",
            "a\nb",
        ] {
            assert!(SuccessPolicy::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            SuccessPolicy::parse("public, max-age=86400"),
            Ok(SuccessPolicy::Set("public, max-age=86400".into()))
        );
    }

    #[test]
    fn successes_keep_the_origins_headers_by_default() {
        for origin in ["", "max-age=5", "private", "no-store"] {
            assert_eq!(
                SuccessPolicy::Keep.decide(&cc(origin), None, false),
                SuccessHeaders::Keep
            );
        }
    }

    #[test]
    fn at_least_extends_only_what_the_origin_allows_to_cache() {
        let hour = SuccessPolicy::AtLeast(3600);
        assert_eq!(
            hour.decide(&cc("public, max-age=60"), None, false),
            SuccessHeaders::Replace("public, max-age=3600".into())
        );
        assert_eq!(
            hour.decide(&cc(""), None, false),
            SuccessHeaders::Replace("max-age=3600".into())
        );
        assert_eq!(
            hour.decide(&cc("s-maxage=10, max-age=5, must-revalidate"), None, false),
            SuccessHeaders::Replace("must-revalidate, max-age=3600".into())
        );
        assert_eq!(
            hour.decide(&cc(""), Some(60), false),
            SuccessHeaders::Replace("max-age=3600".into()),
            "a short Expires is extended too"
        );
        for (origin, expires) in [
            ("max-age=7200", None),
            ("", Some(7200)),
            ("max-age=0", None),
            ("", Some(-5)),
            ("private, max-age=60", None),
            ("no-store", None),
            ("no-cache", None),
        ] {
            assert_eq!(
                hour.decide(&cc(origin), expires, false),
                SuccessHeaders::Keep,
                "{origin:?} {expires:?}"
            );
        }
    }

    #[test]
    fn credentials_block_any_loosening_unless_the_origin_said_public() {
        let set = SuccessPolicy::Set("public, max-age=86400".into());
        assert_eq!(
            set.decide(&cc("max-age=60"), None, true),
            SuccessHeaders::Keep
        );
        assert_eq!(
            SuccessPolicy::AtLeast(3600).decide(&cc(""), None, true),
            SuccessHeaders::Keep
        );
        assert_eq!(
            set.decide(&cc("public, max-age=60"), None, true),
            SuccessHeaders::Replace("public, max-age=86400".into())
        );
        assert_eq!(
            set.decide(&cc("private"), None, false),
            SuccessHeaders::Keep
        );
    }
}
