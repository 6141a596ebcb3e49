//! Which addresses a URL from an untrusted party may make us connect to: public unicast only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether the guarded fetcher may connect to `ip`. Refused: loopback (unless `allow_loopback`,
/// for development and tests only), private, shared (CGNAT), link-local (cloud metadata),
/// unique-local, multicast, unspecified, broadcast, documentation, benchmarking and reserved
/// ranges, and IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) whose
/// IPv4 address is refused. IPv6 outside global unicast `2000::/3` is refused too.
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4, allow_loopback),
        IpAddr::V6(v6) => v6_allowed(v6, allow_loopback),
    }
}

fn v4_allowed(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        return allow_loopback;
    }
    let refused = a == 0 // "this network", incl. 0.0.0.0
        || a == 10
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local, incl. cloud metadata 169.254.169.254
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn v6_allowed(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    if ip == Ipv6Addr::LOCALHOST {
        return allow_loopback;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_allowed(v4, allow_loopback);
    }
    // Through a translator or relay, never loopback on this host.
    if let Some(v4) = embedded_v4(ip) {
        return v4_allowed(v4, false);
    }
    let s = ip.segments();
    let global_unicast = s[0] & 0xe000 == 0x2000;
    let refused = !global_unicast
        || (s[0] == 0x2001 && s[1] < 0x0200) // 2001::/23 IETF protocol assignments, incl. Teredo
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0] & 0xfff0 == 0x3ff0; // 3fff::/20 documentation
    !refused
}

/// The IPv4 address a translated IPv6 form stands for: NAT64 `64:ff9b::a.b.c.d` and 6to4
/// `2002:ab:cd::`. The deprecated compatible form `::a.b.c.d` (and `::`) stands for
/// 0.0.0.0, so it is always refused.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0, 0, 0, 0, 0, 0, _, _] => Some(Ipv4Addr::UNSPECIFIED),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(tail(hi, lo)),
        // 64:ff9b:1::/48 is for local NAT64 use: any IPv4 address may hide behind it.
        [0x64, 0xff9b, 1, ..] => Some(Ipv4Addr::UNSPECIFIED),
        [0x2002, hi, lo, ..] => Some(tail(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn allowed(text: &str, allow_loopback: bool) -> bool {
        let ip: IpAddr = text
            .parse()
            .unwrap_or_else(|_| panic!("{text} is an address"));
        address_allowed(ip, allow_loopback)
    }

    const REFUSED_ALWAYS: &[&str] = &[
        "10.1.2.3",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.0.1",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",
        "::",
        "fe80::1",
        "febf::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "ff0e::1",
        "fec0::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:0.0.0.0",
        "::10.0.0.1",
        "::127.0.0.1",
        "::8.8.8.8",
        "64:ff9b::a00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
        "2002:a00:1::1",
        "2002:7f00:1::1",
        "64:ff9b::7f00:1",
        "2001::1",
        "2001:db8::1",
        "3fff::1",
        "100::1",
    ];

    const LOOPBACK: &[&str] = &["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"];

    const PUBLIC: &[&str] = &[
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.255.255",
        "172.32.0.1",
        "169.253.1.1",
        "223.255.255.255",
        "2606:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ];

    #[test]
    fn private_special_and_reserved_addresses_are_refused_even_with_loopback_allowed() {
        for text in REFUSED_ALWAYS {
            assert!(!allowed(text, false), "{text} must be refused");
            assert!(
                !allowed(text, true),
                "{text} must be refused with loopback allowed"
            );
        }
    }

    #[test]
    fn loopback_passes_only_when_allowed() {
        for text in LOOPBACK {
            assert!(!allowed(text, false), "{text} must be refused by default");
            assert!(allowed(text, true), "{text} must pass with allow_loopback");
        }
    }

    #[test]
    fn public_unicast_addresses_pass() {
        for text in PUBLIC {
            assert!(allowed(text, false), "{text} must be allowed");
            assert!(allowed(text, true), "{text} must be allowed");
        }
    }

    /// Addresses drawn from the refused IPv4 ranges (prefix, length).
    fn refused_v4() -> impl Strategy<Value = Ipv4Addr> {
        const RANGES: &[([u8; 4], u32)] = &[
            ([0, 0, 0, 0], 8),
            ([10, 0, 0, 0], 8),
            ([100, 64, 0, 0], 10),
            ([127, 0, 0, 0], 8),
            ([169, 254, 0, 0], 16),
            ([172, 16, 0, 0], 12),
            ([192, 0, 0, 0], 24),
            ([192, 0, 2, 0], 24),
            ([192, 168, 0, 0], 16),
            ([198, 18, 0, 0], 15),
            ([198, 51, 100, 0], 24),
            ([203, 0, 113, 0], 24),
            ([224, 0, 0, 0], 3),
        ];
        (0..RANGES.len(), any::<u32>()).prop_map(|(i, host)| {
            let (prefix, len) = RANGES[i];
            let mask = u32::MAX << (32 - len);
            Ipv4Addr::from((u32::from_be_bytes(prefix) & mask) | (host & !mask))
        })
    }

    #[test]
    fn the_refused_range_strategy_draws_refused_addresses() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..1000 {
            let Ok(tree) = refused_v4().new_tree(&mut runner) else {
                continue;
            };
            let v4 = tree.current();
            assert!(
                v4.is_loopback() || !address_allowed(IpAddr::V4(v4), true),
                "{v4}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_mapped_address_is_judged_as_its_ipv4_address(bits: u32, allow_loopback: bool) {
            let v4 = Ipv4Addr::from(bits);
            let verdict = address_allowed(IpAddr::V4(v4), allow_loopback);
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            prop_assert_eq!(address_allowed(mapped, allow_loopback), verdict);
        }

        #[test]
        fn no_ipv6_form_of_a_refused_ipv4_address_passes(
            v4 in refused_v4(),
            allow_loopback: bool,
        ) {
            prop_assume!(!address_allowed(IpAddr::V4(v4), allow_loopback));
            let [a, b, c, d] = v4.octets();
            let (hi, lo) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            let forms = [
                v4.to_ipv6_mapped(),
                v4.to_ipv6_compatible(),
                Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
                Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
            ];
            for form in forms {
                prop_assert!(!address_allowed(IpAddr::V6(form), allow_loopback), "{} passed", form);
            }
        }

        #[test]
        fn nothing_outside_global_unicast_passes(bits: u128) {
            let ip = Ipv6Addr::from(bits);
            prop_assume!(ip.segments()[0] & 0xe000 != 0x2000);
            prop_assume!(ip.to_ipv4_mapped().is_none());
            prop_assume!(ip.segments()[..2] != [0x64, 0xff9b]);
            prop_assert!(!address_allowed(IpAddr::V6(ip), false));
        }
    }
}
