//! Which addresses an absolute SOURCE may be fetched from once its host is
//! resolved. Without `image_endpoint_private_addresses on`, only public
//! unicast addresses are: an allowed name that resolves to 127.0.0.1 (a
//! DNS trick) must not reach services on the server's own network (SSRF).
//! IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4)
//! are judged by the address they carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{Error, ErrorKind};

/// What kind of address a host resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// RFC 1918, carrier-grade NAT (100.64/10), IPv6 unique local and
    /// site-local, local-use NAT64.
    Private,
    Loopback,
    LinkLocal,
    /// `0.0.0.0/8`, `::`: Linux connects those to the local host.
    Unspecified,
    /// Multicast and the IPv4 broadcast address: never an origin.
    Multicast,
    /// Documentation, benchmarking, protocol-assignment, discard, Teredo
    /// and future-use ranges: nothing public lives there.
    Reserved,
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Private => "a private address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Multicast => "a multicast or broadcast address",
            AddressClass::Reserved => "a reserved address",
        }
    }

    /// Whether a fetch may connect to this class. `allow_private` is
    /// `image_endpoint_private_addresses on`: it opens the local network
    /// (private, loopback, link-local, reserved) but never addresses that
    /// are not one host.
    pub fn allowed(self, allow_private: bool) -> bool {
        match self {
            AddressClass::Public => true,
            AddressClass::Unspecified | AddressClass::Multicast => false,
            AddressClass::Private
            | AddressClass::Loopback
            | AddressClass::LinkLocal
            | AddressClass::Reserved => allow_private,
        }
    }
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_broadcast() => Multicast,
        (0, _, _) => Unspecified,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) | (100, 64..=127, _) => Private,
        (127, _, _) => Loopback,
        (169, 254, _) => LinkLocal,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => Reserved,
        (224..=239, _, _) => Multicast,
        (240..=255, _, _) => Reserved,
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if ip.is_unspecified() {
        return Unspecified;
    }
    if ip.is_loopback() {
        return Loopback;
    }
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    match s[0] {
        0xfe80..=0xfebf => LinkLocal,
        0xfec0..=0xfeff | 0xfc00..=0xfdff => Private,
        0xff00..=0xffff => Multicast,
        // Local-use NAT64 (64:ff9b:1::/48).
        0x0064 if s[1] == 0xff9b && s[2] == 0x0001 => Private,
        // Documentation (2001:db8::/32), Teredo (2001::/32), ORCHID and
        // benchmarking (2001:2::/48, 2001:10::/28, 2001:20::/28).
        0x2001 if s[1] == 0x0db8 || s[1] == 0 || s[1] == 2 || (0x10..=0x2f).contains(&s[1]) => {
            Reserved
        }
        // Discard-only (100::/64) and everything outside 2000::/3 that the
        // cases above did not name.
        0x0100 if s[1..4] == [0, 0, 0] => Reserved,
        0x2000..=0x3fff => Public,
        _ => Reserved,
    }
}

/// The IPv4 address an IPv6 address stands for, if it is one of the forms
/// that reach IPv4 hosts: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Checks every address a host resolved to: one forbidden address refuses
/// the fetch, so a name cannot mix a public address with 127.0.0.1 and
/// hope the connection picks the second.
pub fn check_addresses(host: &str, addresses: &[IpAddr], allow_private: bool) -> Result<(), Error> {
    if addresses.is_empty() {
        return Err(Error::new(
            ErrorKind::DnsFailure,
            format!("\"{host}\" has no address"),
        ));
    }
    for &ip in addresses {
        let class = classify(ip);
        if !class.allowed(allow_private) {
            return Err(Error::new(
                ErrorKind::SourceNotAllowed,
                format!(
                    "\"{host}\" resolves to {}, which the endpoint does not fetch from",
                    class.describe()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn class(text: &str) -> AddressClass {
        classify(text.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges() {
        let cases = [
            ("8.8.8.8", Public),
            ("93.184.216.34", Public),
            ("100.63.255.255", Public),
            ("172.32.0.1", Public),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("169.254.169.254", LinkLocal),
            ("192.0.2.1", Reserved),
            ("198.51.100.1", Reserved),
            ("203.0.113.9", Reserved),
            ("198.18.0.1", Reserved),
            ("192.0.0.8", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Multicast),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4() {
        let cases = [
            ("2606:4700::1111", Public),
            ("2a00:1450:4001::200e", Public),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
            ("2001:db8::1", Reserved),
            ("2001:0:4136:e378::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Private),
            // The IPv4 address inside decides.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::ffff:0.0.0.0", Unspecified),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::808:808", Public),
            ("2002:7f00:1::1", Loopback),
            ("2002:c0a8:101::1", Private),
            ("2002:808:808::1", Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn only_public_addresses_unless_private_ones_are_allowed() {
        let public = ["8.8.8.8".parse().unwrap()];
        assert!(check_addresses("a.example", &public, false).is_ok());

        let err =
            check_addresses("evil.example", &["127.0.0.1".parse().unwrap()], false).unwrap_err();
        assert_eq!(err.kind, ErrorKind::SourceNotAllowed);
        assert_eq!((err.status(), err.code()), (401, Some(9401)));
        assert!(err.message.contains("loopback"), "{}", err.message);
        assert!(
            !err.message.contains("127.0.0.1"),
            "the address stays private: {}",
            err.message
        );

        // One bad address among good ones refuses the fetch.
        let mixed = [
            "8.8.8.8".parse().unwrap(),
            "::ffff:192.168.0.1".parse().unwrap(),
        ];
        assert!(check_addresses("mixed.example", &mixed, false).is_err());
        assert!(check_addresses("mixed.example", &mixed, true).is_ok());

        for ip in ["127.0.0.1", "169.254.169.254", "fd00::1", "192.0.2.1"] {
            assert!(
                check_addresses("h", &[ip.parse().unwrap()], true).is_ok(),
                "{ip}"
            );
        }
        for ip in ["0.0.0.0", "::", "224.0.0.1", "255.255.255.255"] {
            assert!(
                check_addresses("h", &[ip.parse().unwrap()], true).is_err(),
                "{ip}"
            );
        }
    }

    #[test]
    fn no_address_at_all_is_a_lookup_failure() {
        let err = check_addresses("void.example", &[], false).unwrap_err();
        assert_eq!((err.status(), err.code()), (502, Some(9407)));
    }
}
