//! A location's endpoint settings in one value (like [`crate::Policy`] for
//! the option allow-lists), and the order in which an absolute source is
//! admitted: host allowed → address known or looked up → every address
//! allowed → fetch pinned to the checked address.

use std::net::IpAddr;

use super::address::check_addresses;
use super::redirect::{RedirectRules, DEFAULT_MAX_REDIRECTS};
use super::{HostsAllowed, UrlSource};
use crate::{Error, ErrorKind};

/// `image_endpoint_hosts_allowed`, `image_endpoint_max_redirects`,
/// `image_endpoint_private_addresses`, `image_endpoint_pass_credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRules {
    pub hosts: HostsAllowed,
    pub max_redirects: u32,
    pub private_addresses: bool,
    pub pass_credentials: bool,
}

impl Default for EndpointRules {
    fn default() -> Self {
        EndpointRules {
            hosts: HostsAllowed::default(),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            private_addresses: false,
            pass_credentials: false,
        }
    }
}

/// What to do next with an absolute source that passed the host check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlAdmission {
    /// The host is an address that was checked: fetch from it.
    Connect(IpAddr),
    /// Look this name up (nginx's `resolver`), then call
    /// [`EndpointRules::check_resolved`].
    Resolve(String),
}

impl EndpointRules {
    /// The host check (401 for a host that is not listed) and, for an IP
    /// literal, the address check.
    pub fn admit(&self, source: &UrlSource) -> Result<UrlAdmission, Error> {
        self.hosts.check(source)?;
        match (source.ip(), source.domain()) {
            (Some(ip), _) => {
                check_addresses(source.host(), &[ip], self.private_addresses)?;
                Ok(UrlAdmission::Connect(ip))
            }
            (None, Some(domain)) => Ok(UrlAdmission::Resolve(domain.to_string())),
            (None, None) => Err(Error::new(
                ErrorKind::InvalidSource,
                "the source URL has no host",
            )),
        }
    }

    /// Checks what the name resolved to and picks the address to connect
    /// to (the first; all of them were checked).
    pub fn check_resolved(
        &self,
        source: &UrlSource,
        addresses: &[IpAddr],
    ) -> Result<IpAddr, Error> {
        check_addresses(source.host(), addresses, self.private_addresses)?;
        Ok(addresses[0])
    }

    pub fn redirects<'a>(&'a self, prefix: &'a str) -> RedirectRules<'a> {
        RedirectRules {
            max: self.max_redirects,
            hosts: &self.hosts,
            prefix,
        }
    }
}

/// nginx's resolver outcomes (`ctx->state`): DNS response codes 1–5 and
/// `NGX_ETIMEDOUT` for no answer.
pub mod resolver_state {
    pub const FORMERR: i64 = 1;
    pub const SERVFAIL: i64 = 2;
    pub const NXDOMAIN: i64 = 3;
    pub const NOTIMP: i64 = 4;
    pub const REFUSED: i64 = 5;
    /// `NGX_ETIMEDOUT` (Linux `ETIMEDOUT`).
    pub const TIMEDOUT: i64 = 110;
}

/// The error for a failed lookup of `host` (502/9407), worded after
/// nginx's resolver state.
pub fn lookup_error(host: &str, state: i64) -> Error {
    use resolver_state::*;
    let why = match state {
        NXDOMAIN => "does not exist",
        TIMEDOUT => "could not be resolved in time",
        SERVFAIL => "could not be resolved (server failure)",
        REFUSED => "could not be resolved (query refused)",
        FORMERR | NOTIMP => "could not be resolved (resolver error)",
        _ => "could not be resolved",
    };
    Error::new(
        ErrorKind::DnsFailure,
        format!("the source host \"{host}\" {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(hosts: &[&str], private: bool) -> EndpointRules {
        EndpointRules {
            hosts: HostsAllowed::parse(hosts.iter().copied()).unwrap(),
            private_addresses: private,
            ..EndpointRules::default()
        }
    }

    fn source(raw: &str) -> UrlSource {
        UrlSource::parse(raw).unwrap()
    }

    #[test]
    fn defaults_refuse_every_absolute_source() {
        let rules = EndpointRules::default();
        assert_eq!(rules.max_redirects, 5);
        assert!(!rules.private_addresses && !rules.pass_credentials);
        let err = rules.admit(&source("https://a.example/x.jpg")).unwrap_err();
        assert_eq!(err.status(), 401);
    }

    #[test]
    fn names_are_resolved_and_addresses_connected_to() {
        let rules = rules(&["images.example.com", "8.8.8.8", "127.0.0.1"], false);
        assert_eq!(
            rules
                .admit(&source("https://images.example.com/a.jpg"))
                .unwrap(),
            UrlAdmission::Resolve("images.example.com".into())
        );
        assert_eq!(
            rules.admit(&source("http://8.8.8.8/a.jpg")).unwrap(),
            UrlAdmission::Connect("8.8.8.8".parse().unwrap())
        );
        // Listed, but loopback: refused without the opt-in.
        let err = rules.admit(&source("http://127.0.0.1/a.jpg")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::SourceNotAllowed);
        let open = self::rules(&["127.0.0.1"], true);
        assert!(open.admit(&source("http://127.0.0.1/a.jpg")).is_ok());
    }

    #[test]
    fn a_name_that_resolves_to_loopback_is_refused() {
        let rules = rules(&["*.example.com"], false);
        let rebinding = source("https://evil.example.com/a.jpg");
        let err = rules
            .check_resolved(&rebinding, &["127.0.0.1".parse().unwrap()])
            .unwrap_err();
        assert_eq!((err.kind, err.status()), (ErrorKind::SourceNotAllowed, 401));
        let ok = rules.check_resolved(&rebinding, &["93.184.216.34".parse().unwrap()]);
        assert_eq!(ok.unwrap(), "93.184.216.34".parse::<IpAddr>().unwrap());
        assert_eq!(
            rules.check_resolved(&rebinding, &[]).unwrap_err().code(),
            Some(9407)
        );
    }

    #[test]
    fn lookup_failures_are_502_9407() {
        for state in [1, 2, 3, 4, 5, 110, 999] {
            let err = lookup_error("void.example", state);
            assert_eq!((err.status(), err.code()), (502, Some(9407)), "{state}");
            assert!(err.message.contains("void.example"));
        }
        assert!(lookup_error("x", resolver_state::NXDOMAIN)
            .message
            .contains("does not exist"));
        assert!(lookup_error("x", resolver_state::TIMEDOUT)
            .message
            .contains("in time"));
    }
}
